package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// runWebhooks measures WebhookReceivers on a local control plane with the
// manager and one server (ConfigMap storage, a local origin): the time from
// a signed delivery (delay 0) to the page's new content served, over
// o.deliveries deliveries one after another; then how many refused
// deliveries (well-formed, wrongly signed) one server replica answers per
// second for o.attack, and the page port's latency before and during it.
func runWebhooks(o options, work string, cp *controlPlane) error {
	ctx := context.Background()
	rep := &report{width: 62}
	add := rep.add
	originSrv, origin := startOrigin(o.pageSize)
	defer originSrv.Close()

	// The revalidate API's Secret turns the API, and the receivers, on.
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "revalidate"}, StringData: map[string]string{"token": "bench-token"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "cms"}, StringData: map[string]string{"secret": "bench-secret"}},
	} {
		if err := cp.client.Create(ctx, obj); err != nil {
			return err
		}
	}
	manager := &proc{name: "manager", bin: filepath.Join(o.bin, "manager"), log: filepath.Join(work, "manager.log"),
		args: []string{"--kubeconfig=" + cp.kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--allow-origin=127.0.0.1"}}
	if err := manager.start(); err != nil {
		return err
	}
	defer manager.stop()
	port, apiPort, probe := freePort(), freePort(), freePort()
	server := &proc{name: "server", bin: filepath.Join(o.bin, "server"), log: filepath.Join(work, "server.log"),
		args: []string{"--kubeconfig=" + cp.kubeconfig, fmt.Sprintf("--listen-address=127.0.0.1:%d", port),
			fmt.Sprintf("--revalidate-bind-address=127.0.0.1:%d", apiPort), "--revalidate-secret=default/revalidate",
			"--metrics-bind-address=0", fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe), "--shutdown-delay=0s"}}
	if err := server.start(); err != nil {
		return err
	}
	defer server.stop()
	if err := waitFor(o.timeout, func() bool { return get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe)) == http.StatusOK }); err != nil {
		return fmt.Errorf("server not ready: %w", err)
	}
	pageURL := fmt.Sprintf("http://127.0.0.1:%d/p/1", port)
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	p := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hooked"},
		Spec:       pagesv1alpha1.StaticPageSpec{Route: "/p/1", Origin: pagesv1alpha1.Origin{URL: originSrv.URL + "/p/1"}},
	}
	whr := &pagesv1alpha1.WebhookReceiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "cms"},
		Spec: pagesv1alpha1.WebhookReceiverSpec{
			Type: pagesv1alpha1.WebhookISR, SecretRef: pagesv1alpha1.SecretReference{Name: "cms"},
			Rules: []pagesv1alpha1.WebhookRule{{Match: "body.kind == 'page'", Paths: "['/p/' + body.id]"}},
		},
	}
	for _, obj := range []client.Object{p, whr} {
		if err := cp.client.Create(ctx, obj); err != nil {
			return err
		}
	}
	if err := waitFor(o.timeout, func() bool {
		return cp.client.Get(ctx, client.ObjectKeyFromObject(whr), whr) == nil &&
			meta.IsStatusConditionTrue(whr.Status.Conditions, pagesv1alpha1.ReadyCondition)
	}); err != nil {
		return fmt.Errorf("the receiver is not Ready: %w", err)
	}
	hook := api + whr.Status.Path
	body := `{"kind": "page", "id": "1", "n": -1}`
	if err := waitFor(o.timeout, func() bool { _, b := fetch(pageURL); return b != "" }); err != nil {
		return fmt.Errorf("the page is not served: %w", err)
	}
	// The server sees the receiver Ready once a delivery is accepted.
	if err := waitFor(o.timeout, func() bool { return deliver(hook, "bench-secret", body) == http.StatusAccepted }); err != nil {
		return fmt.Errorf("no delivery accepted: %w", err)
	}

	fmt.Printf("%d deliveries, one after another\n", o.deliveries)
	var lat []time.Duration
	for i := range o.deliveries {
		version := origin.v.Add(1)
		want := fmt.Sprintf("v%06d ", version)
		// Each delivery is its own: the same body signed in the same second
		// would be a replay.
		body := fmt.Sprintf(`{"kind": "page", "id": "1", "n": %d}`, i)
		start := time.Now()
		if code := deliver(hook, "bench-secret", body); code != http.StatusAccepted {
			return fmt.Errorf("delivery answered %d", code)
		}
		// Asked every 5 ms: waitFor's half second would be most of the
		// figure.
		if err := pollFor(o.timeout, 5*time.Millisecond, func() bool { _, b := fetch(pageURL); return strings.HasPrefix(b, want) }); err != nil {
			return fmt.Errorf("the new content is not served: %w", err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	add("delivery to new content live, p50", "%s", pct(lat, 50))
	add("delivery to new content live, p99", "%s", pct(lat, 99))

	fmt.Printf("page port alone for %s, then with %d clients posting refused deliveries\n", o.attack, o.attackers)
	quiet := pageLatencies(pageURL, o.attack)
	var refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range o.attackers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if deliver(hook, "wrong-secret", body) == http.StatusUnauthorized {
					refused.Add(1)
				}
			}
		})
	}
	start := time.Now()
	loaded := pageLatencies(pageURL, o.attack)
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	add("refused deliveries per second, one replica", "%.0f", float64(refused.Load())/elapsed.Seconds())
	slices.Sort(quiet)
	slices.Sort(loaded)
	add("page p99 without deliveries", "%s", pct(quiet, 99))
	add("page p99 while refusing deliveries", "%s", pct(loaded, 99))
	rep.table("figure")
	return nil
}

// deliver posts body to hook signed as type isr with secret, and returns
// the status.
func deliver(hook, secret, body string) int {
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stamp + "." + body))
	req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Isr-Timestamp", stamp)
	req.Header.Set("X-Isr-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// fetch GETs url and returns the status and body.
func fetch(url string) (int, string) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, ""
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pageLatencies GETs url from two clients for d and returns every
// answered request's latency.
func pageLatencies(url string, d time.Duration) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(end) {
				start := time.Now()
				if code := get(url); code != http.StatusOK {
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}
