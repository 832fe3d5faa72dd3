package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testorigin"
	"github.com/isr-operator/isr-operator/internal/webhook"
)

// ns holds the suite's pages and the credentials Secret.
const ns = "isr-webhook"

var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	cancel    context.CancelFunc
	secretKey = types.NamespacedName{Namespace: ns, Name: "revalidate-credentials"}
	// api is the revalidate API served over real HTTP.
	api *httptest.Server
	// apiHandler is its handler, for specs that need their own copy.
	apiHandler *webhook.Handler
	// pages is the serving handler that visitors reach.
	pages *server.Handler
)

func TestWebhook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Revalidate API Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Expect(os.Setenv("KUBEBUILDER_ASSETS", filepath.Join("..", "..", "bin", "k8s"))).To(Succeed())
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: kube.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretKey.Name},
		Data:       map[string][]byte{webhook.TokenKey: []byte("s3cret\n"), webhook.HMACKey: []byte("hmac-key")},
	})).To(Succeed())

	// One manager runs what the manager and the server pods run: the
	// controller, the route table and the API, as cmd/server wires it.
	opts := webhook.WatchSecret(kube.CacheOptions([]string{ns}), secretKey)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: kube.Scheme(), Cache: opts,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	guard, err := render.NewGuard([]string{"127.0.0.1"})
	Expect(err).NotTo(HaveOccurred())
	r := &controllers.StaticPageReconciler{
		Client:  mgr.GetClient(),
		Fetcher: &render.Fetcher{Client: render.NewClient(render.ClientOptions{Guard: guard, MaxRedirects: 2}), MaxBodyBytes: 1 << 20},
		Store:   &storage.ConfigMaps{Client: mgr.GetClient(), Scheme: mgr.GetScheme()},
	}
	Expect(r.SetupWithManager(mgr, controllers.Options{RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second})).To(Succeed())
	table := server.NewTable()
	Expect((&server.RouteSync{
		Client: mgr.GetClient(), Table: table,
		Store:  &storage.ConfigMaps{Client: mgr.GetClient(), Scheme: mgr.GetScheme()},
		Policy: server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute},
	}).SetupWithManager(mgr)).To(Succeed())
	pages = &server.Handler{Table: table, Clock: clock.RealClock{}, Log: logf.Log}
	apiHandler = &webhook.Handler{
		Reader: mgr.GetClient(), Writer: mgr.GetClient(), Table: table, Secret: secretKey,
		Verifier:     &webhook.Verifier{Window: time.Minute},
		MaxBodyBytes: 4096, PollInterval: 20 * time.Millisecond,
		Clock: clock.RealClock{}, Log: logf.Log.WithName("api"),
	}
	api = httptest.NewServer(apiHandler)

	var mctx context.Context
	mctx, cancel = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(mctx)).To(BeTrue())
})

var _ = AfterSuite(func() {
	if api != nil {
		api.Close()
	}
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// newOrigin starts a real HTTP origin whose answers a spec can change.
func newOrigin(body string) *testorigin.Origin { return testorigin.New(body) }

// call is one request to the API.
type call struct {
	method  string
	body    string
	headers map[string]string
	// signKey, when set, signs the call as it is sent, at now+skew, over
	// signBody (or body when empty).
	signKey  string
	skew     time.Duration
	signBody string
}

// answer is what came back.
type answer struct {
	code int
	hdr  http.Header
	resp webhook.Response
	err  string
	raw  string
}

func (c call) do() answer {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, api.URL+webhook.Path, bytes.NewBufferString(c.body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if c.signKey != "" {
		over := c.signBody
		if over == "" {
			over = c.body
		}
		for k, v := range signed(c.signKey, over, time.Now().Add(c.skew)).headers {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	Expect(err).NotTo(HaveOccurred())
	a := answer{code: res.StatusCode, hdr: res.Header, raw: string(raw)}
	Expect(res.Header.Get("Content-Type")).To(Equal("application/json"), string(raw))
	if res.StatusCode < 300 || res.StatusCode == http.StatusGatewayTimeout {
		Expect(json.Unmarshal(raw, &a.resp)).To(Succeed())
	} else {
		var e struct {
			Error string `json:"error"`
		}
		Expect(json.Unmarshal(raw, &e)).To(Succeed())
		a.err = e.Error
	}
	return a
}

// bearer is a call authenticated with the suite's token.
func bearer(body string) call {
	return call{body: body, headers: map[string]string{"Authorization": "Bearer s3cret"}}
}

// signed is a call signed with key at ts.
func signed(key, body string, ts time.Time) call {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(stamp + "." + body))
	return call{body: body, headers: map[string]string{
		webhook.TimestampHeader: stamp,
		webhook.SignatureHeader: "sha256=" + hex.EncodeToString(m.Sum(nil)),
	}}
}
