package revalidateapi_test

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
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testenv/controllertest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// ns holds the suite's pages and the credentials Secret.
const ns = "isr-webhook"

var (
	restCfg   *rest.Config
	testEnv   *envtest.Environment
	k8sClient client.Client
	cancel    context.CancelFunc
	secretKey = types.NamespacedName{Namespace: ns, Name: "revalidate-credentials"}
	// api is the revalidate API served over real HTTP.
	api *httptest.Server
	// apiHandler is its handler, for specs that need their own copy.
	apiHandler *revalidateapi.Handler
	// pages is the serving handler that visitors reach.
	pages *server.Handler
)

func TestRevalidateAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Revalidate API Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	testEnv, restCfg, k8sClient, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	Expect(k8sClient.Create(ctx, testenv.Namespace(ns))).To(Succeed())
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretKey.Name},
		Data:       map[string][]byte{revalidateapi.TokenKey: []byte("s3cret\n"), revalidateapi.HMACKey: []byte("hmac-key")},
	})).To(Succeed())

	st := assemble(ns, storage.BackendConfigMap, storage.S3Options{})
	api, apiHandler, pages, cancel = st.api, st.handler, st.pages, st.stop
})

// A stack is what the manager and the server pods run, in one manager:
// the controller, the route table and the API, each assembled by its Setup
// as cmd/manager and cmd/server assemble them, keeping pages in one storage
// backend and serving one namespace.
type stack struct {
	namespace string
	// api is the revalidate API over real HTTP, and handler its handler.
	api     *httptest.Server
	handler *revalidateapi.Handler
	// pages is the serving handler that visitors reach.
	pages *server.Handler
	// stop ends the manager.
	stop context.CancelFunc
}

// assemble starts a stack for namespace on the given storage; its API
// takes the suite's credentials. tune, if given, changes the manager's and
// the server's options.
func assemble(namespace, backend string, s3 storage.S3Options, tune ...func(*controllers.Options, *server.Options)) *stack {
	o := apiOptions()
	o.Namespaces = []string{namespace}
	cacheOpts, err := o.CacheOptions(kube.CacheOptions([]string{namespace}))
	Expect(err).NotTo(HaveOccurred())
	mgr, err := testenv.NewManager(restCfg, cacheOpts)
	Expect(err).NotTo(HaveOccurred())
	copts := controllertest.Options()
	copts.Storage, copts.S3 = backend, s3
	sopts := server.DefaultOptions()
	sopts.ListenAddress = ""
	sopts.DisableOnRequestRevalidation = true
	sopts.Cache = server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: 1 << 20}
	sopts.Storage, sopts.S3 = backend, s3
	for _, t := range tune {
		t(&copts, &sopts)
	}
	_, err = controllers.Setup(mgr, copts)
	Expect(err).NotTo(HaveOccurred())
	srv, err := server.Setup(context.Background(), mgr, sopts)
	Expect(err).NotTo(HaveOccurred())
	st := &stack{namespace: namespace, pages: srv.Handler}
	st.handler, err = revalidateapi.Setup(context.Background(), mgr, o, srv.Table, nil)
	Expect(err).NotTo(HaveOccurred())
	st.api = httptest.NewServer(st.handler)

	var mctx context.Context
	mctx, st.stop = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(mctx)).To(BeTrue())
	Eventually(func() error { return srv.Sync.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
	return st
}

// apiOptions are the suite's revalidate API options.
func apiOptions() revalidateapi.Options {
	o := revalidateapi.DefaultOptions()
	o.BindAddress = ""
	o.Secret = secretKey.String()
	o.RateLimit = 0
	o.MaxBodyBytes = 4096
	o.SignatureWindow = time.Minute
	o.Namespaces = []string{ns}
	o.PollInterval = 20 * time.Millisecond
	return o
}

// startReplica starts another server replica, its own manager, cache, route
// table and API, as cmd/server assembles them (only the controller is not
// there: the suite's renders for both), and serves its API until the spec
// ends.
func startReplica() *httptest.Server {
	cacheOpts, err := apiOptions().CacheOptions(kube.CacheOptions([]string{ns}))
	Expect(err).NotTo(HaveOccurred())
	mgr, err := testenv.NewManager(restCfg, cacheOpts)
	Expect(err).NotTo(HaveOccurred())
	sopts := server.DefaultOptions()
	sopts.ListenAddress = ""
	srv, err := server.Setup(context.Background(), mgr, sopts)
	Expect(err).NotTo(HaveOccurred())
	h, err := revalidateapi.Setup(context.Background(), mgr, apiOptions(), srv.Table, nil)
	Expect(err).NotTo(HaveOccurred())
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	hs := httptest.NewServer(h)
	DeferCleanup(func() { hs.Close(); stop() })
	return hs
}

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
	// url is the API server to call; empty means the suite's.
	url string
}

// answer is what came back.
type answer struct {
	code int
	hdr  http.Header
	resp revalidateapi.Response
	err  string
	raw  string
}

func (c call) do() answer {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	base := api.URL
	if c.url != "" {
		base = c.url
	}
	req, err := http.NewRequest(method, base+revalidateapi.Path, bytes.NewBufferString(c.body))
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
		revalidateapi.TimestampHeader: stamp,
		revalidateapi.SignatureHeader: "sha256=" + hex.EncodeToString(m.Sum(nil)),
	}}
}
