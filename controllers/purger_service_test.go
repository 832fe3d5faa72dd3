package controllers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testenv/varnishtest"
)

// cdnServiceNamespace is watched only by the manager and server of the
// varnish.service spec.
const cdnServiceNamespace = "isr-cdn-service"

// podRoutes stand in for a cluster network: they connect the addresses of
// the EndpointSlices (which the API server refuses on loopback) to the
// real Varnish servers on loopback, and refuse, and record, any other.
type podRoutes struct {
	to      map[string]string
	mu      sync.Mutex
	refused []string
}

func (r *podRoutes) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if target, ok := r.to[addr]; ok {
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
	r.mu.Lock()
	r.refused = append(r.refused, addr)
	r.mu.Unlock()
	return nil, fmt.Errorf("no route to %s in this test", addr)
}

func (r *podRoutes) refusedAddrs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refused...)
}

var _ = Describe("Purging every ready endpoint of a Varnish Service", Ordered, func() {
	var (
		varnishes []*varnishtest.Varnish
		routes    *podRoutes
		cdn       *pagesv1alpha1.CDN
	)
	// Pod addresses of the Service's endpoints: two ready (one with its
	// ready condition unset), one not ready; and one of another Service.
	const readyA, readyB, notReady, otherService = "10.96.0.11", "10.96.0.12", "10.96.0.13", "10.96.0.14"

	BeforeAll(func() {
		ctx := context.Background()
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, testenv.Namespace(cdnServiceNamespace)))).To(Succeed())

		var pages atomic.Pointer[server.Handler]
		port := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := pages.Load(); h != nil {
				h.ServeHTTP(w, r)
				return
			}
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}))
		DeferCleanup(port.Close)
		backend := strings.TrimPrefix(port.URL, "http://")
		varnishes = []*varnishtest.Varnish{varnishtest.Start(GinkgoT(), backend), varnishtest.Start(GinkgoT(), backend)}
		routes = &podRoutes{to: map[string]string{
			readyA + ":6081": strings.TrimPrefix(varnishes[0].URL, "http://"),
			readyB + ":6081": strings.TrimPrefix(varnishes[1].URL, "http://"),
		}}

		mctx, stop := context.WithCancel(ctx)
		mgr, r := newReconcilerFor([]string{cdnServiceNamespace}, func(o *Options) {
			o.PurgeServers = []string{port.URL}
			o.PurgeWindow = 50 * time.Millisecond
		})
		r.Purger.Varnish = &purge.Varnish{HTTP: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: routes.dial}}}
		srv, err := server.Setup(mctx, mgr, server.Options{
			Cache:                 server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: testMaxBody},
			CDNTagHeaders:         []string{"xkey"},
			CDNCacheControl:       "max-age=3600",
			CDNCacheControlHeader: server.CDNCacheControl,
		})
		Expect(err).NotTo(HaveOccurred())
		pages.Store(srv.Handler)
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		DeferCleanup(func() { stop(); <-done })

		slice := func(name, service string, endpoints ...discoveryv1.Endpoint) {
			s := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Namespace: cdnServiceNamespace, Name: name,
					Labels: map[string]string{discoveryv1.LabelServiceName: service}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: new("http"), Port: new(int32(6081)), Protocol: new(corev1.ProtocolTCP)}},
				Endpoints:   endpoints,
			}
			Expect(k8sClient.Create(ctx, s)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), s) })
		}
		endpoint := func(addr string, ready *bool) discoveryv1.Endpoint {
			return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
		}
		slice("varnish-1", "varnish", endpoint(readyA, new(true)), endpoint(notReady, new(false)))
		slice("varnish-2", "varnish", endpoint(readyB, nil))
		slice("other-1", "other", endpoint(otherService, new(true)))

		cdn = &pagesv1alpha1.CDN{
			ObjectMeta: metav1.ObjectMeta{Namespace: cdnServiceNamespace, Name: "varnish"},
			Spec: pagesv1alpha1.CDNSpec{
				Provider: pagesv1alpha1.ProviderVarnish,
				Varnish:  pagesv1alpha1.VarnishCDN{Service: pagesv1alpha1.VarnishService{Name: "varnish", Port: 6081}},
			},
		}
		Expect(k8sClient.Create(ctx, cdn)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), cdn) })
	})

	// through asks v for path, and says whether it answered from its cache.
	through := func(g Gomega, v *varnishtest.Varnish, path string) (body string, hit bool) {
		resp, err := http.Get(v.URL + path)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
		return string(b), len(strings.Fields(resp.Header.Get("X-Varnish"))) == 2
	}

	It("shows the new content through each ready Varnish, and asks no other address", func() {
		o := newOrigin("s v1")
		p := newPage(uniqueName("svc"), "/svc/a", o.URL, 0)
		p.Namespace = cdnServiceNamespace
		create(p)
		waitRendered(p, "s v1")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		for _, v := range varnishes {
			Eventually(func(g Gomega) {
				body, hit := through(g, v, "/svc/a")
				g.Expect(body).To(Equal("s v1"))
				g.Expect(hit).To(BeTrue(), "cached by Varnish for its CDN-Cache-Control hour")
			}).WithTimeout(10 * time.Second).Should(Succeed())
		}

		o.Set(http.StatusOK, "s v2")
		annotate(p, "svc-1")
		for _, v := range varnishes {
			Eventually(func(g Gomega) {
				body, _ := through(g, v, "/svc/a")
				g.Expect(body).To(Equal("s v2"))
			}).WithTimeout(10 * time.Second).Should(Succeed())
		}
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
			c := &pagesv1alpha1.CDN{}
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(cdn), c)).To(Succeed())
			ready := meta.FindStatusCondition(c.Status.Conditions, pagesv1alpha1.ReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(pagesv1alpha1.ReasonPurged), ready.Message)
		}).WithTimeout(10 * time.Second).Should(Succeed())
		Expect(routes.refusedAddrs()).To(BeEmpty(), "neither the endpoint that is not ready nor another Service's")
	})

	It("reports a Service without a ready endpoint as a failed purge", func() {
		Eventually(func() error {
			c := &pagesv1alpha1.CDN{}
			if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(cdn), c); err != nil {
				return err
			}
			c.Spec.Varnish.Service.Name = "absent"
			return k8sClient.Update(context.Background(), c)
		}).Should(Succeed())
		o := newOrigin("n v1")
		p := newPage(uniqueName("svc"), "/svc/none", o.URL, 0)
		p.Namespace = cdnServiceNamespace
		create(p)
		waitRendered(p, "n v1")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurgeFailed))
			g.Expect(got.Status.LastPurge.Message).To(ContainSubstring("no ready endpoint"))
			c := &pagesv1alpha1.CDN{}
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(cdn), c)).To(Succeed())
			ready := meta.FindStatusCondition(c.Status.Conditions, pagesv1alpha1.ReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(pagesv1alpha1.ReasonPurgeFailed))
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})
})
