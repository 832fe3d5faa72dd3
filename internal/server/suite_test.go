package server_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testenv/controllertest"
)

// ns holds the suite's sets and pages.
const ns = "fallback"

var (
	restCfg   *rest.Config
	testEnv   *envtest.Environment
	k8sClient client.Client
	cancel    context.CancelFunc
	// replicas are two server replicas, each with its own manager, cache
	// and route table, against one API server; the first manager also
	// runs the controllers, as the manager pod does.
	replicas [2]*server.Server
)

// TestServerSuite runs the server's specs against a real API server: two
// replicas, StaticPageSet fallback, the fasthttp page port.
func TestServerSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Server Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	// What a spec waits for comes within this on a loaded machine too; a
	// wait that runs out is a failure, not a measure of speed.
	SetDefaultEventuallyTimeout(20 * time.Second)
	var err error
	testEnv, restCfg, k8sClient, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(context.Background(), testenv.Namespace(ns))).To(Succeed())

	var mctx context.Context
	mctx, cancel = context.WithCancel(context.Background())
	copts := controllertest.Options()
	mgr := newManager(kube.CacheOptions([]string{ns}))
	_, err = controllers.Setup(mgr, copts)
	Expect(err).NotTo(HaveOccurred())
	replicas[0] = setupServer(mctx, mgr, serverOptions())
	replicas[1] = startReplica(mctx, serverOptions())
	start(mctx, mgr)
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// serverOptions are the suite's server options: no listener (the specs
// call the handler), no revalidation requests.
func serverOptions() server.Options {
	o := server.DefaultOptions()
	o.ListenAddress = ""
	o.DisableOnRequestRevalidation = true
	o.Cache = server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: 1 << 20}
	return o
}

// newManager is a manager with its own cache, as each pod has.
func newManager(cache cache.Options) ctrl.Manager {
	mgr, err := testenv.NewManager(restCfg, cache)
	Expect(err).NotTo(HaveOccurred())
	return mgr
}

// setupServer assembles a server on mgr, as cmd/server does.
func setupServer(ctx context.Context, mgr ctrl.Manager, o server.Options) *server.Server {
	srv, err := server.Setup(ctx, mgr, o)
	Expect(err).NotTo(HaveOccurred())
	return srv
}

// start runs mgr until ctx ends and waits for its caches.
func start(ctx context.Context, mgr ctrl.Manager) {
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
}

// startReplica starts a server replica of its own, as cmd/server
// assembles one, until ctx ends.
func startReplica(ctx context.Context, o server.Options) *server.Server {
	mgr := newManager(kube.ServerCacheOptions([]string{ns}))
	srv := setupServer(ctx, mgr, o)
	start(ctx, mgr)
	return srv
}

// get sends a GET for path to a replica's handler.
func get(srv *server.Server, path string) *httptest.ResponseRecorder {
	return testenv.Serve(srv.Handler, "shop.example", path)
}

// newSet creates a set of pages under prefix rendered from origin, as
// mutate leaves it, and makes it serve: its Ready condition True, reason
// Serving, as its controller sets it; then waits until both replicas
// route its paths.
func newSet(name, prefix, origin string, mutate func(*pagesv1alpha1.StaticPageSet)) *pagesv1alpha1.StaticPageSet {
	GinkgoHelper()
	set := &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:  prefix + "/{id}",
			Origin: pagesv1alpha1.Origin{URL: origin + prefix + "/{id}"},
		},
	}
	if mutate != nil {
		mutate(set)
	}
	Expect(k8sClient.Create(context.Background(), set)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), set) })
	setReady(set, metav1.ConditionTrue, pagesv1alpha1.ReasonServing)
	Eventually(func(g Gomega) {
		for _, r := range replicas {
			_, _, ok := r.Sets.Match("shop.example", prefix+"/x")
			g.Expect(ok).To(BeTrue(), "a replica does not route the set's paths yet")
		}
	}).Should(Succeed())
	return set
}

// setReady sets the set's Ready condition, as its controller would.
func setReady(set *pagesv1alpha1.StaticPageSet, status metav1.ConditionStatus, reason string) {
	GinkgoHelper()
	Eventually(func() error {
		cur := &pagesv1alpha1.StaticPageSet{}
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(set), cur); err != nil {
			return err
		}
		meta.SetStatusCondition(&cur.Status.Conditions, metav1.Condition{
			Type: pagesv1alpha1.ReadyCondition, Status: status, Reason: reason, Message: "set by the suite",
			ObservedGeneration: cur.Generation,
		})
		cur.Status.ObservedGeneration = cur.Generation
		return k8sClient.Status().Update(context.Background(), cur)
	}).Should(Succeed())
	set.Generation = 0
}

// child reads the page set has for route, or nil.
func child(set *pagesv1alpha1.StaticPageSet, route string) *pagesv1alpha1.StaticPage {
	p := &pagesv1alpha1.StaticPage{}
	err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: pagesv1alpha1.ChildName(set.Name, route)}, p)
	if err != nil {
		return nil
	}
	return p
}

// children lists the pages of set.
func children(set *pagesv1alpha1.StaticPageSet) []pagesv1alpha1.StaticPage {
	list := &pagesv1alpha1.StaticPageList{}
	Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name})).To(Succeed())
	return list.Items
}
