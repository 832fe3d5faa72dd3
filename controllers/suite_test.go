package controllers

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isr-operator/isr-operator/internal/testenv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// testNamespace is where the suite's manager and server work.
const testNamespace = "isr-test"

// testMaxBody is the controller's --max-body-size in the suite.
const testMaxBody = 4 << 20

// testMaxPerHost is the controller's --max-concurrent-renders-per-host in
// the suite: below its 4 workers, so the cap is what holds renders back.
const testMaxPerHost = 2

// testMaxPerNamespace is the controller's
// --max-concurrent-renders-per-namespace in the suite: above the per-host
// cap, so that the per-host spec's other host renders in the same
// namespace while the busy host is full.
const testMaxPerNamespace = 3

// otherHostIP is a loopback address the suite allows as an origin besides
// 127.0.0.1: another origin host, for the per-host cap counts hosts by
// address, whatever the port.
const otherHostIP = "127.0.0.3"

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	cancel    context.CancelFunc
	// handler is the serving sidecar's HTTP handler, fed by the suite manager.
	handler *server.Handler
	// revalidations records the re-render requests the server sent and
	// passes them on to the real annotation patch.
	revalidations = &testenv.Revalidator{}
)

func TestControllers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	testEnv, cfg, k8sClient, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	for _, ns := range []string{testNamespace, restartNamespace} {
		Expect(k8sClient.Create(context.Background(), testenv.Namespace(ns))).To(Succeed())
	}

	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	mgr := newManager(testNamespace)
	srv, err := server.Setup(ctx, mgr, server.Options{
		Cache: server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: testMaxBody},
	})
	Expect(err).NotTo(HaveOccurred())
	rs := srv.Sync
	revalidations.Next = srv.Revalidator
	handler = srv.Handler
	handler.Revalidator = revalidations
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Eventually(func() error { return rs.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// newManager builds a manager running the StaticPage controller in one
// namespace, as cmd/manager wires it.
func newManager(namespace string, tweaks ...func(*Options)) ctrl.Manager {
	return newManagerFor([]string{namespace}, tweaks...)
}

// newManagerFor builds a manager running the controllers in the given
// namespaces (--namespaces), as cmd/manager wires it.
func newManagerFor(namespaces []string, tweaks ...func(*Options)) ctrl.Manager {
	mgr, _ := newReconcilerFor(namespaces, tweaks...)
	return mgr
}

// newReconcilerFor is newManagerFor that also returns the StaticPage
// reconciler, for specs that reach into its parts before the manager
// starts.
func newReconcilerFor(namespaces []string, tweaks ...func(*Options)) (ctrl.Manager, *StaticPageReconciler) {
	mgr, err := testenv.NewManager(cfg, kube.CacheOptions(namespaces))
	Expect(err).NotTo(HaveOccurred())
	// The test origins listen on 127.0.0.1, which the origin guard refuses
	// unless allowed, as a user allows a same-pod origin: --allow-origin.
	opts := DefaultOptions()
	opts.AllowOrigins = []string{"127.0.0.1", otherHostIP}
	opts.MaxBodyBytes = testMaxBody
	opts.MaxConcurrentRendersPerHost = testMaxPerHost
	opts.MaxConcurrentRendersPerNamespace = testMaxPerNamespace
	opts.RetryBaseDelay, opts.RetryMaxDelay = 100*time.Millisecond, time.Second
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	r, err := Setup(mgr, opts)
	Expect(err).NotTo(HaveOccurred())
	return mgr, r
}

func withNamespace(o cache.Options, ns string) cache.Options {
	o.DefaultNamespaces = map[string]cache.Config{ns: {}}
	return o
}

// origin is the suite's real HTTP origin.
type origin = testorigin.Origin

func newOrigin(body string) *origin { return testorigin.New(body) }

// get asks the serving handler for a route.
func get(host, path string, hdr ...string) *httptest.ResponseRecorder {
	return testenv.Serve(handler, host, path, hdr...)
}

// uniqueName gives each spec its own page name.
var nameSeq atomic.Int32

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", strings.ToLower(prefix), nameSeq.Add(1))
}
