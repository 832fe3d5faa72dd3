package controllers

import (
	"crypto/rand"
	"fmt"
	"sync"

	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/testenv"

	"github.com/minio/minio-go/v7"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/storage/s3test"
)

// s3Namespace is watched only by the object-store manager and server.
const s3Namespace = "isr-s3"

// The core flows with pages in a real S3 server (versitygw): the manager
// publishes by digest into the bucket, the server reads them from there,
// and nothing is kept in ConfigMaps.
var _ = Describe("StaticPage controller with an object store", Ordered, func() {
	var (
		store  *s3test.Server
		bucket *minio.Client
		served *server.Handler
		ctx    = context.Background()
	)

	BeforeAll(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		store = testenv.StartStore()
		bucket = store.Client()
		Expect(k8sClient.Create(ctx, testenv.Namespace(s3Namespace))).To(Succeed())

		served = startS3Manager(s3Namespace, s3Options(store), func(o *Options) {
			o.FinalizeTimeout = 5 * time.Second
		}).Handler
	})

	getS3 := func(path string, hdr ...string) *httptest.ResponseRecorder {
		return serveWith(served)("x", path, hdr...)
	}
	// objects lists the bucket's keys for a digest.
	objects := func(digest string) []string {
		var keys []string
		for o := range bucket.ListObjects(ctx, store.Bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "isr/"}) {
			if o.Err == nil && strings.Contains(o.Key, strings.TrimPrefix(digest, "sha256:")) {
				keys = append(keys, o.Key)
			}
		}
		return keys
	}
	newS3Page := func(prefix, route, url string) *pagesv1alpha1.StaticPage {
		p := newPage(uniqueName(prefix), route, url, 0)
		p.Namespace = s3Namespace
		return p
	}

	It("publishes into the bucket by digest, keeps no ConfigMap, and serves every coding", func() {
		body := strings.Repeat("<p>stored in the bucket</p>\n", 200)
		o := newOrigin(body)
		p := newS3Page("s3-page", "/s3/page", o.URL)
		create(p)
		got := waitReady(p)
		Expect(got.Finalizers).To(ContainElement(pagesv1alpha1.StorageFinalizer))
		Expect(objects(got.Status.Digest)).To(ContainElements(
			HaveSuffix("/identity"), HaveSuffix("/gzip"), HaveSuffix("/br"), HaveSuffix("/meta.json")))
		err := k8sClient.Get(ctx, objectKey(p, storage.ConfigMapName(p)), &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no ConfigMap in object-store mode")

		Eventually(func() string { return getS3("/s3/page").Body.String() }).Should(Equal(body))
		for ae, enc := range map[string]string{"gzip": "gzip", "br": "br", "identity": ""} {
			rec := getS3("/s3/page", "Accept-Encoding", ae)
			Expect(rec.Code).To(Equal(http.StatusOK))
			Expect(rec.Header().Get("Content-Encoding")).To(Equal(enc))
			Expect(rec.Header().Get("Etag")).To(ContainSubstring(strings.TrimPrefix(got.Status.Digest, "sha256:")[:16]))
		}
	})

	It("publishes again at once when the objects are deleted from the bucket behind its back", func() {
		o := newOrigin("<p>gone and back</p>")
		p := newS3Page("s3-deleted", "/s3/deleted", o.URL)
		create(p)
		got := waitReady(p)
		Eventually(func() int { return getS3("/s3/deleted").Code }).Should(Equal(http.StatusOK))
		for _, k := range objects(got.Status.Digest) {
			Expect(bucket.RemoveObject(ctx, store.Bucket, k, minio.RemoveObjectOptions{})).To(Succeed())
		}
		// Any look at the page (here: another annotation changing, which
		// asks for no render) finds its content gone and publishes it again.
		patch := []byte(`{"metadata":{"annotations":{"example.com/touched":"yes"}}}`)
		Expect(k8sClient.Patch(ctx, p, client.RawPatch(types.MergePatchType, patch))).To(Succeed())
		Eventually(func() []string { return objects(got.Status.Digest) }).Should(ContainElement(HaveSuffix("/meta.json")))
		Expect(fetch(Default, p).Status.LastHandledRevalidate).To(BeEmpty(), "published again without a revalidate request")
		Consistently(func() int { return getS3("/s3/deleted").Code }, time.Second).Should(Equal(http.StatusOK))
	})

	It("has a server that cannot load a page ask for it to be published again", func() {
		o := newOrigin("<p>lost</p>")
		p := newS3Page("s3-lost", "/s3/lost", o.URL)
		create(p)
		got := waitReady(p)
		for _, k := range objects(got.Status.Digest) {
			Expect(bucket.RemoveObject(ctx, store.Bucket, k, minio.RemoveObjectOptions{})).To(Succeed())
		}

		By("starting a new server replica, which must load every page")
		replica := startReplica(store, "")
		Eventually(func() string {
			return fetch(Default, p).Annotations[pagesv1alpha1.RevalidateAnnotation]
		}).Should(HavePrefix("missing-"), "the replica asked for a new publish")
		Eventually(func() []string { return objects(got.Status.Digest) }).Should(ContainElement(HaveSuffix("/meta.json")))
		Eventually(func() string {
			rec := httptest.NewRecorder()
			replica.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x/s3/lost", nil))
			return rec.Body.String()
		}).Should(Equal("<p>lost</p>"))
	})

	It("holds no more bodies than --cache-size, and loads a page once however many requests wait", func() {
		const pageSize, pages = 20 << 10, 6
		bodies := map[string]string{}
		for i := range pages {
			noise := make([]byte, pageSize/2)
			_, _ = rand.Read(noise)
			body := fmt.Sprintf("%x", noise) // incompressible text: every coding is about pageSize
			route := fmt.Sprintf("/s3/cache/%d", i)
			bodies[route] = body
			create(newS3Page("s3-cache", route, newOrigin(body).URL))
		}
		Eventually(func(g Gomega) {
			list := &pagesv1alpha1.StaticPageList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(s3Namespace))).To(Succeed())
			n := 0
			for i := range list.Items {
				if strings.HasPrefix(list.Items[i].Spec.Route, "/s3/cache/") && list.Items[i].Status.Digest != "" {
					n++
				}
			}
			g.Expect(n).To(Equal(pages))
		}).Should(Succeed())

		replica := startReplica(store, "50Ki")
		serve := func(route string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			replica.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x"+route, nil))
			return rec
		}
		for route, body := range bodies {
			Eventually(func() string { return serve(route).Body.String() }).Should(Equal(body), route)
			Expect(replica.Sync.HeldBytes()).To(BeNumerically("<=", 50<<10))
		}

		By("sending many requests at once for a page that is not in memory")
		cold := ""
		for route := range bodies {
			if !replica.Table.Held("x", route) {
				cold = route
			}
		}
		Expect(cold).NotTo(BeEmpty(), "six pages of 20 KiB do not fit in 50 KiB")
		before := replica.Sync.Loads()
		var wg sync.WaitGroup
		codes := make([]int, 20)
		for i := range codes {
			wg.Go(func() {
				codes[i] = serve(cold).Code
			})
		}
		wg.Wait()
		Expect(codes).To(HaveEach(http.StatusOK))
		Expect(replica.Sync.Loads()-before).To(BeEquivalentTo(1), "one load for 20 requests")
	})

	It("withdraws a page the origin says is gone, and removes a deleted page's objects", func() {
		o := newOrigin("<p>short-lived</p>")
		p := newS3Page("s3-gone", "/s3/gone", o.URL)
		create(p)
		got := waitReady(p)
		Eventually(func() int { return getS3("/s3/gone").Code }).Should(Equal(http.StatusOK))

		o.Set(http.StatusNotFound, "")
		annotate(p, "gone")
		Eventually(func() int { return getS3("/s3/gone").Code }).Should(Equal(http.StatusNotFound))

		o.Set(http.StatusOK, "<p>back</p>")
		annotate(p, "back")
		back := waitReady(p)
		Eventually(func() int { return getS3("/s3/gone").Code }).Should(Equal(http.StatusOK))
		Expect(back.Status.Digest).NotTo(Equal(got.Status.Digest))

		Expect(k8sClient.Delete(ctx, back)).To(Succeed())
		Eventually(func() bool {
			err := k8sClient.Get(ctx, objectKey(back, back.Name), &pagesv1alpha1.StaticPage{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue(), "the finalizer lets the page go")
		Expect(objects(back.Status.Digest)).To(BeEmpty(), "its objects went with it")
		Eventually(func() int { return getS3("/s3/gone").Code }).Should(Equal(http.StatusNotFound))
	})

	It("keeps the objects of a deleted page while another page serves the same content", func() {
		o := newOrigin("<p>one body, two pages</p>")
		first := newS3Page("s3-shared-a", "/s3/shared/a", o.URL)
		second := newS3Page("s3-shared-b", "/s3/shared/b", o.URL)
		create(first)
		create(second)
		digest := waitReady(first).Status.Digest
		Expect(waitReady(second).Status.Digest).To(Equal(digest))

		By("deleting one of them")
		Expect(k8sClient.Delete(ctx, first)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(first), &pagesv1alpha1.StaticPage{}))
		}).Should(BeTrue())
		Expect(objects(digest)).To(ContainElement(HaveSuffix("/meta.json")), "the other page still points to them")
		Eventually(func() string { return getS3("/s3/shared/b").Body.String() }).Should(Equal("<p>one body, two pages</p>"))

		By("deleting the last one")
		Expect(k8sClient.Delete(ctx, second)).To(Succeed())
		Eventually(func() []string { return objects(digest) }).Should(BeEmpty(), "nobody points to them any more")
	})
})

// waitReady waits until p is Ready and returns it.
func waitReady(p *pagesv1alpha1.StaticPage) *pagesv1alpha1.StaticPage {
	var out *pagesv1alpha1.StaticPage
	EventuallyWithOffset(1, func(g Gomega) {
		out = fetch(g, p)
		g.Expect(ready(out)).NotTo(BeNil())
		g.Expect(ready(out).Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return out
}

func objectKey(p *pagesv1alpha1.StaticPage, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: p.Namespace, Name: name}
}

// s3Options point at the suite's store, under the prefix "isr".
func s3Options(store *s3test.Server) storage.S3Options {
	o := storage.DefaultS3Options()
	o.Endpoint, o.Bucket, o.Prefix = store.Endpoint, store.Bucket, "isr"
	o.PathStyle, o.AllowHTTP, o.Timeout = true, true, 2*time.Second
	return o
}

// startReplica starts another server on the object store, as cmd/server
// assembles one, with its own manager and cache, until the spec ends.
func startReplica(store *s3test.Server, cacheSize string) *server.Server {
	srv, _ := startServerIn(s3Namespace, storage.BackendS3, s3Options(store), cacheSize)
	return srv
}

// startServerIn starts a server for namespace on the given storage, with
// its own manager and cache, and returns once it is ready; stop ends it
// (or the spec's end does).
func startServerIn(namespace, storageName string, s3opts storage.S3Options, cacheSize string) (srv *server.Server, stop func()) {
	mgr, err := testenv.NewManager(cfg, withNamespace(kube.ServerCacheOptions(nil), namespace))
	Expect(err).NotTo(HaveOccurred())
	sopts := server.DefaultOptions()
	sopts.ListenAddress = ""
	sopts.Storage, sopts.S3, sopts.CacheSize = storageName, s3opts, cacheSize
	rctx, cancel := context.WithCancel(context.Background())
	DeferCleanup(cancel)
	srv, err = server.Setup(rctx, mgr, sopts)
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(rctx)).To(Succeed())
	}()
	Eventually(func() error { return srv.Sync.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
	return srv, cancel
}
