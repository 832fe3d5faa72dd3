package controllers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/storage/s3test"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// faultsNamespace is watched only by the manager and server whose store
// the fault specs break.
const faultsNamespace = "isr-s3-faults"

// outageEnv sets how long the store stays stopped in the outage spec, as
// a Go duration; storeOutage is the default.
const outageEnv = "ISR_TEST_STORE_OUTAGE"

// storeOutage is long enough for the retry delay (100ms doubling to 1s in
// the suite) to reach its cap and stay there for a few retries: from then
// on the manager behaves as it does through an outage of any length, so a
// minute proves nothing more. ISR_TEST_STORE_OUTAGE=1m sits through one.
const storeOutage = 5 * time.Second

// outage is the outage spec's length.
func outage() time.Duration {
	v := os.Getenv(outageEnv)
	if v == "" {
		return storeOutage
	}
	d, err := time.ParseDuration(v)
	Expect(err).NotTo(HaveOccurred(), "%s=%q", outageEnv, v)
	return d
}

// A storeFault is one way for the object store to fail while a page has a
// new render to publish.
type storeFault struct {
	// breakStore makes the store fail before the page is asked to publish
	// next, the digest of its new content.
	breakStore func(next string)
	// published runs once the new render is asked for, while the store
	// fails; nil for none.
	published func(next string)
	// heal brings the store back as it was.
	heal func()
	// message is part of Ready's message while the store fails.
	message string
	// hold is how long the store keeps failing once Ready says so.
	hold time.Duration
	// lost is true when the fault takes the stored content with it.
	lost bool
}

// Faults of the object store while pages are served from it: whatever the
// fault, the last good page stays served and its status unchanged, Ready is
// False with reason StorageUnavailable and says which fault, and once the
// store is back the new content is published and Ready is True again.
var _ = Describe("StaticPage controller when the object store fails", Ordered, func() {
	var (
		store  *s3test.Server
		served *server.Handler
		reader *storage.S3
		ctx    = context.Background()
	)

	BeforeAll(func() {
		store = testenv.StartStore()
		Expect(k8sClient.Create(ctx, testenv.Namespace(faultsNamespace))).To(Succeed())
		served = startS3Manager(faultsNamespace, s3Options(store), func(o *Options) {
			o.FinalizeTimeout = 5 * time.Second
		}).Handler
		var err error
		reader, err = storage.NewS3(ctx, s3Options(store))
		Expect(err).NotTo(HaveOccurred())
	})
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(30 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	serve := func(route string) string { return serveWith(served)("x", route).Body.String() }
	// digestKeys lists the bucket's keys of a digest.
	digestKeys := func(digest string) []string {
		var keys []string
		for o := range store.Client().ListObjects(ctx, store.Bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "isr/"}) {
			if o.Err == nil && strings.Contains(o.Key, strings.TrimPrefix(digest, "sha256:")) {
				keys = append(keys, o.Key)
			}
		}
		return keys
	}
	// readable is the body the store holds for p at digest.
	readable := func(g Gomega, p *pagesv1alpha1.StaticPage, digest string) string {
		obj, err := reader.Get(ctx, fetch(g, p), digest)
		g.Expect(err).NotTo(HaveOccurred())
		body, err := obj.Body(0)
		g.Expect(err).NotTo(HaveOccurred())
		return string(body)
	}
	// restart stops the store and starts it again once change has run.
	restart := func(change func()) {
		Expect(store.Stop()).To(Succeed())
		change()
		Expect(store.Restart()).To(Succeed())
	}

	DescribeTable("keeps the last good page, says why, and publishes the new one once the store is back",
		func(makeFault func() storeFault) {
			f := makeFault()
			route := "/faults/" + uniqueName("page")
			// Large enough to compress, so that a publish writes every
			// representation.
			version := func(v string) string { return strings.Repeat("<p>"+v+" of "+route+"</p>\n", 20) }
			v1, v2 := version("v1"), version("v2")
			o := newOrigin(v1)
			p := newPage(strings.TrimPrefix(route, "/faults/"), route, o.URL, 0)
			p.Namespace = faultsNamespace
			create(p)
			good := waitReady(p)
			Eventually(func() string { return serve(route) }).Should(Equal(v1))

			next := digest.Of([]byte(v2))
			errorsBefore := storageErrors(storage.OpPut)
			f.breakStore(next)
			heal := sync.OnceFunc(f.heal)
			DeferCleanup(heal) // the store comes back even when the spec fails
			o.Set(http.StatusOK, v2)
			annotate(p, "during-fault")
			if f.published != nil {
				f.published(next)
			}

			By("keeping the last good page while the store fails")
			unchanged := func(g Gomega) {
				got := fetch(g, p)
				g.Expect(ready(got).Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonStorageUnavailable))
				g.Expect(ready(got).Message).To(ContainSubstring(f.message))
				g.Expect(ready(got).Message).To(ContainSubstring("still serving"))
				g.Expect(got.Status.Digest).To(Equal(good.Status.Digest))
				g.Expect(got.Status.LastHandledRevalidate).NotTo(Equal("during-fault"), "a failed publish handles no request")
				g.Expect(serve(route)).To(Equal(v1), "the last good page stays served")
			}
			Eventually(unchanged).Should(Succeed())
			Expect(storageErrors(storage.OpPut)).To(BeNumerically(">", errorsBefore), "failed publishes are counted")
			Consistently(unchanged).WithTimeout(f.hold).WithPolling(100 * time.Millisecond).Should(Succeed())

			By("publishing the new page once the store is back")
			heal()
			Eventually(func(g Gomega) {
				got := fetch(g, p)
				g.Expect(ready(got).Status).To(Equal(metav1.ConditionTrue))
				g.Expect(got.Status.Digest).To(Equal(next))
				g.Expect(got.Status.LastHandledRevalidate).To(Equal("during-fault"))
			}).Should(Succeed())
			Eventually(func() string { return serve(route) }).Should(Equal(v2))
			Expect(readable(Default, p, next)).To(Equal(v2))
			if !f.lost {
				Expect(readable(Default, p, good.Status.Digest)).To(Equal(v1), "the last good content is still stored")
			}
			Eventually(func(g Gomega) { g.Expect(eventReasons(g, p)).To(ContainElement(pagesv1alpha1.EventRecovered)) }).Should(Succeed())
		},
		Entry("the store hangs", func() storeFault {
			return storeFault{
				breakStore: func(string) { Expect(store.Pause()).To(Succeed()) },
				heal:       func() { Expect(store.Resume()).To(Succeed()) },
				message:    "no answer",
				hold:       time.Second,
			}
		}),
		Entry("the store is stopped for an outage", func() storeFault {
			return storeFault{
				breakStore: func(string) { Expect(store.Stop()).To(Succeed()) },
				heal:       func() { Expect(store.Restart()).To(Succeed()) },
				message:    "unreachable",
				hold:       outage(),
			}
		}),
		Entry("the store stops in the middle of a publish, after the representations and before the manifest", func() storeFault {
			// A directory where the new content's manifest goes makes the
			// store refuse that one object: the publish gets as far as
			// the representations and no further, every time, until the
			// store stops there.
			var block string
			return storeFault{
				breakStore: func(next string) {
					block = filepath.Join(store.Dir, "data", store.Bucket, "isr", "pages", "sha256", strings.TrimPrefix(next, "sha256:"), "meta.json")
					Expect(os.MkdirAll(filepath.Join(block, "in-the-way"), 0o755)).To(Succeed())
				},
				published: func(next string) {
					Eventually(func() []string { return digestKeys(next) }).Should(ContainElements(HaveSuffix("/identity"), HaveSuffix("/gzip"), HaveSuffix("/br")))
					Expect(digestKeys(next)).NotTo(ContainElement(HaveSuffix("/meta.json")))
					Expect(store.Stop()).To(Succeed())
				},
				heal: func() {
					restart(func() { Expect(os.RemoveAll(block)).To(Succeed()) })
				},
				message: "unreachable",
				hold:    time.Second,
			}
		}),
		Entry("the store refuses the credentials", func() storeFault {
			secret := store.SecretKey
			return storeFault{
				// The store's keys are rotated: the manager's (and the
				// server's) no longer sign valid requests.
				breakStore: func(string) { restart(func() { store.SecretKey = secret + "-rotated" }) },
				heal:       func() { restart(func() { store.SecretKey = secret }) },
				message:    "denied",
				hold:       time.Second,
			}
		}),
		Entry("the bucket is deleted", func() storeFault {
			return storeFault{
				breakStore: func(string) { Expect(store.RemoveBucket(ctx)).To(Succeed()) },
				heal: func() {
					Expect(store.Client().MakeBucket(ctx, store.Bucket, minio.MakeBucketOptions{Region: store.Region})).To(Succeed())
				},
				message: "does not exist",
				hold:    time.Second,
				lost:    true,
			}
		}),
	)

	It("has a server that starts while the store is down answer 503 for the pages it knows, never 404, and serve them once it is back", func() {
		route := "/faults/" + uniqueName("cold-start")
		body := strings.Repeat("<p>loaded once the store is back</p>\n", 20)
		p := newPage(strings.TrimPrefix(route, "/faults/"), route, newOrigin(body).URL, 0)
		p.Namespace = faultsNamespace
		create(p)
		good := waitReady(p)
		Eventually(func() string { return serve(route) }).Should(Equal(body))

		Expect(store.Stop()).To(Succeed())
		restarted := sync.OnceFunc(func() { Expect(store.Restart()).To(Succeed()) })
		DeferCleanup(restarted)
		replica, _ := startServerIn(faultsNamespace, storage.BackendS3, s3Options(store), "")
		answer := func() *httptest.ResponseRecorder { return serveWith(replica.Handler)("x", route) }
		Consistently(func(g Gomega) {
			rec := answer()
			g.Expect(rec.Code).To(Equal(http.StatusServiceUnavailable), "a known page is unavailable, not missing: a CDN would cache a 404")
			g.Expect(rec.Header().Get("Retry-After")).NotTo(BeEmpty())
			g.Expect(rec.Header().Get("Cache-Control")).To(Equal("no-store"))
			g.Expect(serve(route)).To(Equal(body), "a server that holds the page keeps serving it")
		}).WithTimeout(time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		restarted()
		Eventually(func() string { return answer().Body.String() }).Should(Equal(body))
		Expect(fetch(Default, p).Status.Digest).To(Equal(good.Status.Digest))
	})

	It("publishes again every page a deleted bucket took, once the bucket is back and a server asks for them", func() {
		bodies := map[*pagesv1alpha1.StaticPage]string{}
		for range 3 {
			route := "/faults/" + uniqueName("bucket")
			body := strings.Repeat("<p>kept through the bucket's loss: "+route+"</p>\n", 20)
			p := newPage(strings.TrimPrefix(route, "/faults/"), route, newOrigin(body).URL, 0)
			p.Namespace = faultsNamespace
			create(p)
			bodies[p] = body
		}
		digests := map[*pagesv1alpha1.StaticPage]string{}
		for p, body := range bodies {
			digests[p] = waitReady(p).Status.Digest
			Eventually(func() string { return serve(p.Spec.Route) }).Should(Equal(body))
		}

		By("deleting the bucket with everything in it, and creating it again empty")
		Expect(store.RemoveBucket(ctx)).To(Succeed())
		Expect(store.Client().MakeBucket(ctx, store.Bucket, minio.MakeBucketOptions{Region: store.Region})).To(Succeed())
		for p, body := range bodies {
			Expect(digestKeys(digests[p])).To(BeEmpty())
			Expect(serve(p.Spec.Route)).To(Equal(body), "the running server serves what it holds")
		}

		By("starting a server replica, which finds the pages gone and asks for them")
		replica, _ := startServerIn(faultsNamespace, storage.BackendS3, s3Options(store), "")
		for p, body := range bodies {
			Eventually(func(g Gomega) {
				got := fetch(g, p)
				g.Expect(got.Annotations[pagesv1alpha1.RevalidateAnnotation]).To(HavePrefix("missing-"))
				g.Expect(got.Status.Digest).To(Equal(digests[p]), "the same content, published again")
				g.Expect(ready(got).Status).To(Equal(metav1.ConditionTrue))
				g.Expect(readable(g, p, digests[p])).To(Equal(body))
			}).Should(Succeed())
			Eventually(func() string { return serveWith(replica.Handler)("x", p.Spec.Route).Body.String() }).Should(Equal(body))
		}
	})
})

// storageErrors is isr_storage_errors_total of operation op, over its
// reasons, in this process.
func storageErrors(op string) float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != "isr_storage_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" && l.GetValue() == op {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
