package revalidateapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// replayNamespace holds the page, the credentials and the signature Leases.
const replayNamespace = "isr-system"

// TestLeaseReplaysClaim: a signature is claimed once; a second claim of it,
// in any hex spelling, is a replay, and another signature is not.
func TestLeaseReplaysClaim(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).Build()
	replays := &LeaseReplays{Client: c, Namespace: replayNamespace, Clock: clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))}
	ts := time.Unix(1_800_000_000, 0)
	sig := &Signature{MAC: Sign([]byte("hmac-key"), "1800000000", []byte("{}")), Timestamp: ts, Expires: ts.Add(5 * time.Minute)}
	ctx := context.Background()

	if err := replays.Claim(ctx, string(sig.MAC), sig.Expires); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	lease := &coordinationv1.Lease{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: replayNamespace, Name: LeaseName(string(sig.MAC))}, lease); err != nil {
		t.Fatalf("the claim left no Lease: %v", err)
	}
	if lease.Labels[SignatureLabel] != SignatureLabelValue {
		t.Errorf("Lease labels = %v, want %s=%s for the sweep", lease.Labels, SignatureLabel, SignatureLabelValue)
	}
	again := &Signature{MAC: append([]byte(nil), sig.MAC...), Timestamp: ts, Expires: sig.Expires}
	if err := replays.Claim(ctx, string(again.MAC), again.Expires); !errors.Is(err, ErrReplay) {
		t.Fatalf("second claim of the same signature = %v, want %v", err, ErrReplay)
	}
	other := &Signature{MAC: Sign([]byte("hmac-key"), "1800000001", []byte("{}")), Timestamp: ts.Add(time.Second), Expires: sig.Expires.Add(time.Second)}
	if err := replays.Claim(ctx, string(other.MAC), other.Expires); err != nil {
		t.Fatalf("claim of another signature: %v", err)
	}
}

// stillServing names no page: the replay test's requests carry no host.
type stillServing struct{}

func (stillServing) PageName(string, string) (types.NamespacedName, bool) {
	return types.NamespacedName{}, false
}
func (stillServing) ServedDigest(types.NamespacedName) (string, bool) { return "", false }

// TestSignedCallIsAcceptedOnce delivers one signed call twice to the API
// with the Lease-backed replay store a served API uses: the first
// revalidates the page, the second (and a re-spelling of its signature)
// is refused and changes nothing.
func TestSignedCallIsAcceptedOnce(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clk := clocktesting.NewFakeClock(now)
	page := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: replayNamespace, Name: "home"},
		Spec:       pagesv1alpha1.StaticPageSpec{Route: "/home", Origin: pagesv1alpha1.Origin{URL: "http://origin.invalid/"}},
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: replayNamespace, Name: "revalidate-credentials"},
		Data:       map[string][]byte{HMACKey: []byte("hmac-key")},
	}
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(page, secret).Build()
	h := &Handler{
		Reader:       c,
		Writer:       c,
		Serving:      stillServing{},
		Secret:       client.ObjectKeyFromObject(secret),
		Verifier:     &Verifier{Window: 5 * time.Minute},
		Replays:      &LeaseReplays{Client: c, Namespace: replayNamespace, Clock: clk},
		MaxBodyBytes: 4096,
		PollInterval: time.Millisecond,
		Clock:        clk,
		Log:          logr.Discard(),
	}
	body := `{"paths": ["/home"]}`
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hex.EncodeToString(Sign([]byte("hmac-key"), ts, []byte(body)))
	deliver := func(signature string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, "sha256="+signature)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	annotation := func() string {
		got := &pagesv1alpha1.StaticPage{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(page), got); err != nil {
			t.Fatal(err)
		}
		return got.Annotations[pagesv1alpha1.RevalidateAnnotation]
	}

	first := deliver(mac)
	if first.Code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", first.Code, first.Body)
	}
	var resp Response
	if err := json.Unmarshal(first.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if got := annotation(); got == "" || got != resp.Token {
		t.Fatalf("annotation after the first delivery = %q, want the call's token %q", got, resp.Token)
	}

	for _, spelling := range []string{mac, strings.ToUpper(mac)} {
		again := deliver(spelling)
		if again.Code != http.StatusUnauthorized || !strings.Contains(again.Body.String(), ErrReplay.Error()) {
			t.Errorf("second delivery (%s): %d %s, want 401 %q", spelling[:8], again.Code, again.Body, ErrReplay)
		}
		if got := annotation(); got != resp.Token {
			t.Errorf("a replay changed the annotation to %q", got)
		}
	}
}

// TestLeaseReplaysSweepIsBounded: the sweep lists through Reader, not the
// client that writes, and within its timeout, so a list that cannot
// complete ends with the sweep instead of holding it forever; expired
// Leases go, current ones stay.
func TestLeaseReplaysSweepIsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	lease := func(name string, renew time.Time) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: replayNamespace, Name: name, Labels: map[string]string{SignatureLabel: SignatureLabelValue}},
			Spec:       coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: renew}},
		}
	}
	writer := fake.NewClientBuilder().WithScheme(kube.Scheme()).
		WithObjects(lease(SignatureLeasePrefix+"old", now.Add(-time.Second)), lease(SignatureLeasePrefix+"new", now.Add(time.Minute))).
		WithInterceptorFuncs(interceptor.Funcs{List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("the sweep listed through the client that writes, not through Reader")
		}}).Build()
	var deadline time.Time
	var hasDeadline bool
	reader := fake.NewClientBuilder().WithScheme(kube.Scheme()).
		WithObjects(lease(SignatureLeasePrefix+"old", now.Add(-time.Second)), lease(SignatureLeasePrefix+"new", now.Add(time.Minute))).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			deadline, hasDeadline = ctx.Deadline()
			return c.List(ctx, list, opts...)
		}}).Build()
	replays := &LeaseReplays{Client: writer, Reader: reader, Namespace: replayNamespace, Clock: clocktesting.NewFakeClock(now), Timeout: 7 * time.Second}

	before := time.Now()
	if err := replays.sweepWithin(context.Background(), time.Hour); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if !hasDeadline {
		t.Fatal("the sweep listed with no deadline: a list that never completes would hold it forever")
	}
	if limit := time.Now().Add(7 * time.Second); deadline.Before(before) || deadline.After(limit) {
		t.Errorf("the sweep's deadline %v is not within its Timeout of 7s from %v", deadline, before)
	}
	ctx := context.Background()
	if err := writer.Get(ctx, types.NamespacedName{Namespace: replayNamespace, Name: SignatureLeasePrefix + "old"}, &coordinationv1.Lease{}); !apierrors.IsNotFound(err) {
		t.Errorf("the expired Lease is still there (%v)", err)
	}
	if err := writer.Get(ctx, types.NamespacedName{Namespace: replayNamespace, Name: SignatureLeasePrefix + "new"}, &coordinationv1.Lease{}); err != nil {
		t.Errorf("the current Lease was deleted: %v", err)
	}
}
