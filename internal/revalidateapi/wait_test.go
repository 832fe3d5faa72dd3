package revalidateapi_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// s3Namespace holds the pages of the stack on the object store.
const s3Namespace = "isr-webhook-s3"

// stacks are the storage backends a call with wait is proven on: each
// starts its stack before its first spec.
var stacks = []struct {
	name  string
	start func() *stack
}{
	{storage.BackendConfigMap, func() *stack {
		return &stack{namespace: ns, api: api, handler: apiHandler, pages: pages}
	}},
	{storage.BackendS3, func() *stack {
		store := testenv.StartStore()
		Expect(k8sClient.Create(context.Background(), testenv.Namespace(s3Namespace))).To(Succeed())
		o := storage.DefaultS3Options()
		o.Endpoint, o.Bucket, o.Prefix = store.Endpoint, store.Bucket, "webhook"
		o.PathStyle, o.AllowHTTP, o.Timeout = true, true, 2*time.Second
		st := assemble(s3Namespace, storage.BackendS3, o)
		DeferCleanup(func() { st.api.Close(); st.stop() })
		return st
	}},
}

// A call with wait answers once this server serves the new content, or
// says why not, whatever the storage behind the server.
var _ = Describe("POST /revalidate with wait", func() {
	for _, backend := range stacks {
		Describe("with pages in "+backend.name, Ordered, func() {
			var st *stack
			BeforeAll(func() { st = backend.start() })
			BeforeEach(func() {
				SetDefaultEventuallyTimeout(30 * time.Second)
				SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
			})

			It("returns once the new content is served here", func() {
				p, o := pageIn(st.namespace, "/live", "", nil)
				Eventually(func() string { return servedFrom(st.pages, "x", "/live") }).Should(Equal("v1 of /live"))
				o.Set(http.StatusOK, "v2 of /live")
				got := bearer(`{"paths": ["/live"], "wait": true}`).to(st.api).do()
				Expect(got.code).To(Equal(http.StatusOK), got.raw)
				Expect(names(got)).To(Equal([]string{p.Name}))
				Expect(*got.resp.Pages[0].Live).To(BeTrue())
				// No Eventually: the call returned only once this was true.
				Expect(servedFrom(st.pages, "any.example", "/live")).To(Equal("v2 of /live"))
				Expect(get(Default, p).Status.LastHandledRevalidate).To(Equal(got.resp.Token))
			})

			It("says which page is not live when the timeout passes", func() {
				_, o := pageIn(st.namespace, "/broken", "", nil)
				Eventually(func() string { return servedFrom(st.pages, "x", "/broken") }).Should(Equal("v1 of /broken"))
				o.Set(http.StatusInternalServerError, "oops")
				got := bearer(`{"paths": ["/broken"], "wait": true, "timeout": "1s"}`).to(st.api).do()
				Expect(got.code).To(Equal(http.StatusGatewayTimeout), got.raw)
				Expect(*got.resp.Pages[0].Live).To(BeFalse())
				Expect(got.resp.Pages[0].Reason).To(BeElementOf(pagesv1alpha1.ReasonOriginError, pagesv1alpha1.LiveRendering))
				Expect(servedFrom(st.pages, "x", "/broken")).To(Equal("v1 of /broken"), "the last good page stays")
			})
		})
	}
})
