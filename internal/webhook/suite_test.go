package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testenv/controllertest"
	"github.com/isr-operator/isr-operator/internal/testorigin"
	"github.com/isr-operator/isr-operator/internal/webhook"
)

// Namespaces of the suite: receivers and pages live in ns; other holds
// pages no receiver of ns may reach.
const (
	ns    = "hooks"
	other = "hooks-other"
)

var (
	restCfg   *rest.Config
	testEnv   *envtest.Environment
	k8sClient client.Client
	// main is the suite's stack: manager and server in one.
	main *stack
)

func TestWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "WebhookReceiver Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	testEnv, restCfg, k8sClient, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	for _, n := range []string{ns, other} {
		Expect(k8sClient.Create(context.Background(), testenv.Namespace(n))).To(Succeed())
	}
	Expect(k8sClient.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "revalidate-credentials"},
		Data:       map[string][]byte{revalidateapi.TokenKey: []byte("api-token")},
	})).To(Succeed())
	main = assemble(true)
})

var _ = AfterSuite(func() {
	if main != nil {
		main.close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// A stack is a server replica as cmd/server assembles it (pages, the
// revalidate API and the receivers on its port), with the manager's
// controllers in the same process when withController.
type stack struct {
	// url is the revalidate API's port, over real HTTP.
	url   string
	hooks *webhook.Handler
	pages *server.Handler
	close func()
}

func assemble(withController bool) *stack {
	o := revalidateapi.DefaultOptions()
	o.BindAddress = ""
	o.Secret = ns + "/revalidate-credentials"
	o.RateLimit = 0
	o.MaxBodyBytes = 64 << 10
	o.Namespaces = []string{ns, other}
	cacheOpts, err := o.CacheOptions(kube.CacheOptions(o.Namespaces))
	Expect(err).NotTo(HaveOccurred())
	mgr, err := testenv.NewManager(restCfg, cacheOpts)
	Expect(err).NotTo(HaveOccurred())
	if withController {
		_, err = controllers.Setup(mgr, controllertest.Options())
		Expect(err).NotTo(HaveOccurred())
	}
	sopts := server.DefaultOptions()
	sopts.ListenAddress = ""
	sopts.DisableOnRequestRevalidation = true
	srv, err := server.Setup(context.Background(), mgr, sopts)
	Expect(err).NotTo(HaveOccurred())
	hooks, err := webhook.Setup(context.Background(), mgr)
	Expect(err).NotTo(HaveOccurred())
	api, err := revalidateapi.Setup(context.Background(), mgr, o, srv.Table, nil)
	Expect(err).NotTo(HaveOccurred())
	hooks.API = api
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	Eventually(func() error { return srv.Sync.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
	hs := httptest.NewServer(webhook.Route(api, hooks))
	return &stack{url: hs.URL, hooks: hooks, pages: srv.Handler, close: func() { hs.Close(); stop() }}
}

var seq atomic.Int32

// name is unique in the suite.
func name(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// page creates a page in namespace at route and waits until its first
// render is served; its origin answers "v1 of <route>".
func page(namespace, route string, lbls map[string]string) (*pagesv1alpha1.StaticPage, *testorigin.Origin) {
	o := testorigin.New("v1 of " + route)
	DeferCleanup(o.Close)
	p := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name("page"), Labels: lbls},
		Spec:       pagesv1alpha1.StaticPageSpec{Route: route, Origin: pagesv1alpha1.Origin{URL: o.URL}},
	}
	Expect(k8sClient.Create(context.Background(), p)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), p) })
	Eventually(func(g Gomega) {
		got := &pagesv1alpha1.StaticPage{}
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
		g.Expect(got.Status.Digest).To(Equal(digest.Of([]byte("v1 of " + route))))
	}).Should(Succeed())
	return p, o
}

// revalidation is a page's revalidate annotation, "" before any.
func revalidation(p *pagesv1alpha1.StaticPage) func(Gomega) string {
	return func(g Gomega) string {
		got := &pagesv1alpha1.StaticPage{}
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
		return got.Annotations[pagesv1alpha1.RevalidateAnnotation]
	}
}

// served is what a visitor of s gets for path.
func (s *stack) served(path string) string {
	rec := httptest.NewRecorder()
	s.pages.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://any.example"+path, nil))
	return rec.Body.String()
}

// receiver creates a Secret holding secret and a receiver of type typ
// with rules, in ns, and waits until it is Ready; it returns the receiver
// as the manager left it (with its path).
func receiver(typ pagesv1alpha1.WebhookType, secret string, rules ...pagesv1alpha1.WebhookRule) *pagesv1alpha1.WebhookReceiver {
	return receiverWith(typ, secret, nil, rules...)
}

// receiverWith is receiver with its spec changed by change before it is
// created.
func receiverWith(typ pagesv1alpha1.WebhookType, secret string, change func(*pagesv1alpha1.WebhookReceiver), rules ...pagesv1alpha1.WebhookRule) *pagesv1alpha1.WebhookReceiver {
	ctx := context.Background()
	n := name("whr")
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}, StringData: map[string]string{webhook.SecretKey: secret}}
	Expect(k8sClient.Create(ctx, s)).To(Succeed())
	w := &pagesv1alpha1.WebhookReceiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n},
		Spec:       pagesv1alpha1.WebhookReceiverSpec{Type: typ, SecretRef: pagesv1alpha1.SecretReference{Name: n}, Rules: rules},
	}
	if change != nil {
		change(w)
	}
	Expect(k8sClient.Create(ctx, w)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, w); _ = k8sClient.Delete(ctx, s) })
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(w), w)).To(Succeed())
		g.Expect(w.Status.Path).NotTo(BeEmpty())
		g.Expect(w.Status.ObservedGeneration).To(Equal(w.Generation))
	}).Should(Succeed())
	// The handler finds receivers by path in its cache, which may not
	// hold the path yet.
	Eventually(func(g Gomega) {
		cached := &pagesv1alpha1.WebhookReceiver{}
		g.Expect(main.hooks.Reader.Get(ctx, client.ObjectKeyFromObject(w), cached)).To(Succeed())
		g.Expect(cached.Status.Path).To(Equal(w.Status.Path))
		g.Expect(cached.Status.ObservedGeneration).To(Equal(w.Generation))
	}).Should(Succeed())
	return w
}

// delivery is one POST to a receiver.
type delivery struct {
	path    string
	body    string
	headers map[string]string
	method  string
	// url is the server to post to; empty means the suite's.
	url string
}

// isr signs body as type isr does, with key, at ts.
func isr(path, key, body string, ts time.Time) delivery {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(stamp + "." + body))
	return delivery{path: path, body: body, headers: map[string]string{
		"X-Isr-Timestamp": stamp,
		"X-Isr-Signature": "sha256=" + hex.EncodeToString(m.Sum(nil)),
	}}
}

// bearer authenticates body as type bearer does, with token.
func bearer(path, token, body string) delivery {
	return delivery{path: path, body: body, headers: map[string]string{"Authorization": "Bearer " + token}}
}

// reply is what came back.
type reply struct {
	code int
	body string
}

func (d delivery) post() reply {
	GinkgoHelper()
	url, method := main.url, http.MethodPost
	if d.url != "" {
		url = d.url
	}
	if d.method != "" {
		method = d.method
	}
	req, err := http.NewRequest(method, url+d.path, bytes.NewBufferString(d.body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(res.Header.Get("Content-Type")).To(Equal("application/json"))
	return reply{code: res.StatusCode, body: string(b)}
}
