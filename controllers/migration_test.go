package controllers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// migrateNamespace holds the pages moved from ConfigMaps to S3.
const migrateNamespace = "isr-migrate"

// Moving a running install from ConfigMaps to an object store, as the
// steps in docs/operations.md say: the manager restarted with
// --storage=s3 publishes every page into the bucket; server replicas on
// the bucket start and are ready only once they hold every page; the ones
// on ConfigMaps stop after them. Visitors see no answer but 200 all along.
var _ = Describe("moving from ConfigMaps to an object store", Ordered, func() {
	It("moves 200 pages under steady requests with no answer but 200", func() {
		SetDefaultEventuallyTimeout(60 * time.Second)
		SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
		ctx := context.Background()
		store := testenv.StartStore()
		Expect(k8sClient.Create(ctx, testenv.Namespace(migrateNamespace))).To(Succeed())

		By("serving 200 pages from ConfigMaps")
		const pages = 200
		o := newOrigin("<p>the same page, wherever it is kept</p>")
		cmMgr := newManager(migrateNamespace)
		cmCtx, stopCMManager := context.WithCancel(context.Background())
		DeferCleanup(stopCMManager)
		go func() {
			defer GinkgoRecover()
			Expect(cmMgr.Start(cmCtx)).To(Succeed())
		}()
		cmServer, stopCMServer := startServerIn(migrateNamespace, storage.BackendConfigMap, storage.S3Options{}, "")
		routes := make([]string, pages)
		for i := range pages {
			routes[i] = fmt.Sprintf("/moved/%d", i)
			p := newPage(fmt.Sprintf("moved-%d", i), routes[i], o.URL, 0)
			p.Namespace = migrateNamespace
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			for _, r := range routes {
				g.Expect(cmServer.Table.Held("x", r)).To(BeTrue(), r)
			}
		}).Should(Succeed())

		By("sending requests for every page, all through the move")
		var serving atomic.Pointer[server.Handler]
		serving.Store(cmServer.Handler)
		var requests, failures atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; ; i += 4 {
					select {
					case <-stop:
						return
					default:
					}
					rec := httptest.NewRecorder()
					serving.Load().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x"+routes[i%pages], nil))
					requests.Add(1)
					if rec.Code != http.StatusOK {
						failures.Add(1)
					}
					time.Sleep(time.Millisecond) // steady, not all the CPU
				}
			})
		}

		By("restarting the manager with --storage=s3: it publishes every page into the bucket")
		s3opts := s3Options(store)
		s3opts.Prefix = "migrate"
		// The ConfigMap manager stops; its servers go on serving.
		stopCMManager()
		s3Mgr := newManager(migrateNamespace, func(o *Options) { o.Storage, o.S3 = storage.BackendS3, s3opts })
		s3Ctx, stopS3 := context.WithCancel(context.Background())
		DeferCleanup(stopS3)
		go func() {
			defer GinkgoRecover()
			Expect(s3Mgr.Start(s3Ctx)).To(Succeed())
		}()
		bucket, err := storage.NewS3(ctx, s3opts)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			list := &pagesv1alpha1.StaticPageList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(migrateNamespace))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(pages))
			for i := range list.Items {
				has, err := bucket.Has(ctx, &list.Items[i], list.Items[i].Status.Digest)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(has).To(BeTrue(), list.Items[i].Name)
			}
		}).Should(Succeed())

		By("starting a server on the bucket; once ready, it takes the traffic and the ConfigMap server stops")
		replica, _ := startServerIn(migrateNamespace, storage.BackendS3, s3opts, "")
		for _, r := range routes {
			Expect(replica.Table.Held("x", r)).To(BeTrue(), "ready only once every page is held: %s", r)
		}
		serving.Store(replica.Handler)
		stopCMServer()
		time.Sleep(500 * time.Millisecond) // requests keep flowing to the new server for a while
		close(stop)
		wg.Wait()
		report := fmt.Sprintf("moved %d pages from ConfigMaps to S3: %d requests, %d not 200", pages, requests.Load(), failures.Load())
		AddReportEntry(report)
		_, _ = fmt.Fprintln(GinkgoWriter, report)
		Expect(requests.Load()).To(BeNumerically(">", pages))
		Expect(failures.Load()).To(BeZero())
	})
})
