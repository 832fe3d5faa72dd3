package revalidateapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

var seq atomic.Int32

// page creates a Ready page served at route (for host, if set) and returns
// it with its origin.
func page(route, host string, lbls map[string]string) (*pagesv1alpha1.StaticPage, *testorigin.Origin) {
	return pageIn(ns, route, host, lbls)
}

// pageIn is page in namespace.
func pageIn(namespace, route, host string, lbls map[string]string) (*pagesv1alpha1.StaticPage, *testorigin.Origin) {
	o := newOrigin("v1 of " + route)
	p := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("page-%d", seq.Add(1)), Labels: lbls},
		Spec:       pagesv1alpha1.StaticPageSpec{Route: route, Host: host, Origin: pagesv1alpha1.Origin{URL: o.URL}},
	}
	Expect(k8sClient.Create(context.Background(), p)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), p) })
	Eventually(func(g Gomega) {
		got := get(g, p)
		g.Expect(got.Status.Digest).To(Equal(digest.Of([]byte("v1 of " + route))))
	}).Should(Succeed())
	return p, o
}

func get(g Gomega, p *pagesv1alpha1.StaticPage) *pagesv1alpha1.StaticPage {
	out := &pagesv1alpha1.StaticPage{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(p), out)).To(Succeed())
	return out
}

func annotation(p *pagesv1alpha1.StaticPage) func(Gomega) string {
	return func(g Gomega) string { return get(g, p).Annotations[pagesv1alpha1.RevalidateAnnotation] }
}

// served is what a visitor gets for host and path.
func served(host, path string) string { return servedFrom(pages, host, path) }

// servedFrom is what a visitor of h gets for host and path.
func servedFrom(h http.Handler, host, path string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://"+host+path, nil))
	return rec.Body.String()
}

// servedBy names the page the server answers host and path with, if any.
func servedBy(host, path string) string {
	if e := pages.Table.Lookup(host, path); e != nil {
		return e.Page.Name
	}
	return ""
}

func names(a answer) []string {
	var out []string
	for _, p := range a.resp.Pages {
		out = append(out, p.Name)
	}
	return out
}

var _ = Describe("POST /revalidate", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(30 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(time.Second)
	})

	It("revalidates pages by path, and only those", func() {
		a, _ := page("/by-path/a", "", nil)
		b, _ := page("/by-path/b", "", nil)
		got := bearer(`{"paths": ["/by-path/a"]}`).do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Expect(names(got)).To(Equal([]string{a.Name}))
		Expect(got.resp.Token).NotTo(BeEmpty())
		Expect(got.resp.Unmatched).To(BeNil())
		Eventually(annotation(a)).Should(Equal(got.resp.Token))
		Eventually(func(g Gomega) string { return get(g, a).Status.LastHandledRevalidate }).Should(Equal(got.resp.Token))
		Consistently(annotation(b)).Should(BeEmpty())
	})

	It("with a host, revalidates the page a visitor to that host gets", func() {
		one, _ := page("/hosted", "one.example.com", nil)
		two, _ := page("/hosted", "two.example.com", nil)
		anyHost, _ := page("/hosted", "", nil)
		// With a host, the page served there now is named too: wait until
		// the server has loaded each page, so that it is the one routed to.
		for host, want := range map[string]string{"one.example.com": one.Name, "two.example.com": two.Name, "three.example.com": anyHost.Name} {
			Eventually(func() string { return servedBy(host, "/hosted") }).Should(Equal(want))
		}
		got := bearer(`{"paths": ["/hosted"], "host": "ONE.example.com:443"}`).do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Expect(names(got)).To(Equal([]string{one.Name}))
		Eventually(annotation(one)).Should(Equal(got.resp.Token))

		other := bearer(`{"paths": ["/hosted"], "host": "three.example.com"}`).do()
		Expect(other.code).To(Equal(http.StatusAccepted), other.raw)
		Expect(names(other)).To(Equal([]string{anyHost.Name}), "a host without its own page gets the page for any host")
		Eventually(annotation(anyHost)).Should(Equal(other.resp.Token))
		Consistently(annotation(two)).Should(BeEmpty())
		Consistently(annotation(one)).Should(Equal(got.resp.Token))

		all := bearer(`{"paths": ["/hosted"]}`).do()
		Expect(all.code).To(Equal(http.StatusAccepted), all.raw)
		Expect(names(all)).To(ConsistOf(one.Name, two.Name, anyHost.Name), "without a host, every page at the route")
	})

	It("decodes paths as a visitor's request is decoded", func() {
		p, _ := page("/café/100%", "", nil)
		got := bearer(`{"paths": ["/caf%C3%A9/100%25"]}`).do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Expect(names(got)).To(Equal([]string{p.Name}))
		Eventually(func() string { return served("x", "/caf%C3%A9/100%25") }).Should(Equal("v1 of /café/100%"), "the same path reaches the page")
		Eventually(annotation(p)).Should(Equal(got.resp.Token))
	})

	It("revalidates by label selector and by name", func() {
		a, _ := page("/sel/a", "", map[string]string{"group": "sel"})
		b, _ := page("/sel/b", "", map[string]string{"group": "sel"})
		c, _ := page("/sel/c", "", map[string]string{"group": "other"})
		got := bearer(`{"selector": "group=sel"}`).do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Expect(names(got)).To(ConsistOf(a.Name, b.Name))
		Consistently(annotation(c)).Should(BeEmpty())

		got = bearer(fmt.Sprintf(`{"names": [%q, "no-such-page"], "namespace": %q}`, c.Name, ns)).do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Expect(names(got)).To(Equal([]string{c.Name}))
		Expect(got.resp.Unmatched.Names).To(Equal([]string{"no-such-page"}))
		Eventually(annotation(c)).Should(Equal(got.resp.Token))
	})

	It("answers 404 and changes nothing when nothing matches", func() {
		a, _ := page("/nothing/a", "", nil)
		got := bearer(`{"paths": ["/nothing/else"], "selector": "group=none"}`).do()
		Expect(got.code).To(Equal(http.StatusNotFound))
		Expect(got.raw).To(ContainSubstring(`"paths":["/nothing/else"]`))
		Expect(got.raw).To(ContainSubstring(`"selector":"group=none"`))
		Consistently(annotation(a)).Should(BeEmpty())
	})

	It("matches nothing in a namespace this server does not serve", func() {
		a, _ := page("/elsewhere", "", nil)
		scoped := *apiHandler
		scoped.Namespaces = []string{ns}
		srv := httptest.NewServer(&scoped)
		DeferCleanup(srv.Close)
		req, err := http.NewRequest(http.MethodPost, srv.URL+revalidateapi.Path,
			strings.NewReader(`{"paths": ["/elsewhere"], "namespace": "not-served"}`))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Authorization", "Bearer s3cret")
		res, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusNotFound))
		Consistently(annotation(a)).Should(BeEmpty())
	})

	It("with wait, satisfies two calls in a row that were rendered once", func() {
		p, o := page("/twice", "", nil)
		setSuspend := func(v bool) {
			Eventually(func() error {
				cur := get(Default, p)
				cur.Spec.Suspend = &v
				return k8sClient.Update(context.Background(), cur)
			}).Should(Succeed())
		}
		// Suspended, the controller leaves both calls' annotations alone, so
		// it sees only the second one.
		setSuspend(true)
		first, second := make(chan answer, 1), make(chan answer, 1)
		go func() {
			defer GinkgoRecover()
			first <- bearer(`{"paths": ["/twice"], "wait": true, "timeout": "60s"}`).do()
		}()
		Eventually(annotation(p)).ShouldNot(BeEmpty())
		firstToken := annotation(p)(Default)
		go func() {
			defer GinkgoRecover()
			second <- bearer(`{"paths": ["/twice"], "wait": true, "timeout": "60s"}`).do()
		}()
		Eventually(annotation(p)).ShouldNot(Equal(firstToken))
		Consistently(first, 500*time.Millisecond).ShouldNot(Receive(), "nothing rendered yet")
		o.Set(http.StatusOK, "v2 of /twice")
		setSuspend(false)

		var a, b answer
		Eventually(first, 30*time.Second).Should(Receive(&a))
		Eventually(second, 30*time.Second).Should(Receive(&b))
		Expect(a.code).To(Equal(http.StatusOK), a.raw)
		Expect(b.code).To(Equal(http.StatusOK), b.raw)
		Expect(a.resp.Token).To(Equal(firstToken))
		Expect(get(Default, p).Status.LastHandledRevalidate).To(Equal(b.resp.Token), "one render handled both")
		Expect(served("x", "/twice")).To(Equal("v2 of /twice"))
	})

	It("accepts an HMAC-signed call once", func() {
		a, _ := page("/signed", "", nil)
		c := signed("hmac-key", `{"paths": ["/signed"]}`, time.Now())
		got := c.do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Eventually(annotation(a)).Should(Equal(got.resp.Token))
		replay := c.do()
		Expect(replay.code).To(Equal(http.StatusUnauthorized))
		Expect(replay.err).To(ContainSubstring("already used"))
		Consistently(annotation(a)).Should(Equal(got.resp.Token))
	})

	It("refuses a signed call on every other replica once one accepted it", func() {
		a, _ := page("/signed-twice", "", nil)
		c := signed("hmac-key", `{"paths": ["/signed-twice"]}`, time.Now())
		got := c.do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Eventually(annotation(a)).Should(Equal(got.resp.Token))

		By("replaying it to a second replica, assembled as cmd/server assembles one, with its own cache")
		other := startReplica()
		replay := c.to(other).do()
		Expect(replay.code).To(Equal(http.StatusUnauthorized), replay.raw)
		Expect(replay.err).To(ContainSubstring("already used"))
		Consistently(annotation(a)).Should(Equal(got.resp.Token))

		By("finding the record on the API server, where every replica and restart sees it")
		leases := &coordinationv1.LeaseList{}
		Expect(k8sClient.List(context.Background(), leases, client.InNamespace(ns),
			client.MatchingLabels{revalidateapi.SignatureLabel: revalidateapi.SignatureLabelValue})).To(Succeed())
		names := []string{}
		for _, l := range leases.Items {
			names = append(names, l.Name)
		}
		Expect(names).To(ContainElement(HavePrefix(revalidateapi.SignatureLeasePrefix)))
	})

	It("keys its rate limit on the client behind a trusted proxy, never on a forged X-Forwarded-For", func() {
		do := func(srv *httptest.Server, xff string) int {
			req, err := http.NewRequest(http.MethodPost, srv.URL+revalidateapi.Path, strings.NewReader(`{"paths": ["/nowhere"]}`))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Authorization", "Bearer s3cret")
			req.Header.Set("X-Forwarded-For", xff)
			res, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			_ = res.Body.Close()
			return res.StatusCode
		}
		By("from an untrusted address, a new X-Forwarded-For per call still counts against the connection's address")
		untrusted := *apiHandler
		untrusted.Limiter = &revalidateapi.Limiter{Rate: 0.01, Burst: 2}
		srv := httptest.NewServer(&untrusted)
		DeferCleanup(srv.Close)
		codes := []int{}
		for i := range 3 {
			codes = append(codes, do(srv, fmt.Sprintf("203.0.113.%d", i)))
		}
		Expect(codes).To(Equal([]int{http.StatusNotFound, http.StatusNotFound, http.StatusTooManyRequests}))

		By("behind a trusted proxy, each client has its own bucket, and what a client writes further left is not believed")
		proxied := *apiHandler
		proxied.Limiter = &revalidateapi.Limiter{Rate: 0.01, Burst: 2}
		proxied.Proxies, _ = revalidateapi.ParseProxies([]string{"127.0.0.0/8"})
		psrv := httptest.NewServer(&proxied)
		DeferCleanup(psrv.Close)
		Expect(do(psrv, "198.51.100.1")).To(Equal(http.StatusNotFound))
		Expect(do(psrv, "198.51.100.1")).To(Equal(http.StatusNotFound))
		Expect(do(psrv, "198.51.100.2")).To(Equal(http.StatusNotFound), "another client behind the proxy")
		Expect(do(psrv, "10.9.9.9, 198.51.100.1")).To(Equal(http.StatusTooManyRequests), "a forged left part does not move the client")
	})

	DescribeTable("refuses hostile or broken calls and changes nothing",
		func(c call, code int, message string) {
			a, _ := page(fmt.Sprintf("/hostile/%d", seq.Add(1)), "", nil)
			c.body = strings.ReplaceAll(c.body, "ROUTE", a.Spec.Route)
			c.signBody = strings.ReplaceAll(c.signBody, "ROUTE", a.Spec.Route)
			got := c.do()
			Expect(got.code).To(Equal(code), got.raw)
			Expect(got.err).To(ContainSubstring(message))
			if code == http.StatusUnauthorized {
				Expect(got.hdr.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
			}
			Consistently(annotation(a)).Should(BeEmpty())
		},
		Entry("no credentials", call{body: `{"paths": ["ROUTE"]}`}, http.StatusUnauthorized, "no credentials"),
		Entry("a wrong token", call{body: `{"paths": ["ROUTE"]}`, headers: map[string]string{"Authorization": "Bearer wrong"}}, http.StatusUnauthorized, "invalid bearer token"),
		// The right secret under another scheme, or with none, is refused.
		Entry("the token as basic auth", call{body: `{"paths": ["ROUTE"]}`, headers: map[string]string{"Authorization": "Basic s3cret"}}, http.StatusUnauthorized, "invalid bearer token"),
		Entry("the token under the Token scheme", call{body: `{"paths": ["ROUTE"]}`, headers: map[string]string{"Authorization": "Token s3cret"}}, http.StatusUnauthorized, "invalid bearer token"),
		Entry("the token with no scheme", call{body: `{"paths": ["ROUTE"]}`, headers: map[string]string{"Authorization": "s3cret"}}, http.StatusUnauthorized, "invalid bearer token"),
		Entry("a bad signature", signedWith("other-key", `{"paths": ["ROUTE"]}`, 0), http.StatusUnauthorized, "invalid signature"),
		Entry("a signature of another body", signedWith("hmac-key", `{"paths": ["/elsewhere"]}`, 0).withBody(`{"paths": ["ROUTE"]}`), http.StatusUnauthorized, "invalid signature"),
		Entry("a stale timestamp", signedWith("hmac-key", `{"paths": ["ROUTE"]}`, -10*time.Minute), http.StatusUnauthorized, "timestamp outside"),
		Entry("a timestamp from the future", signedWith("hmac-key", `{"paths": ["ROUTE"]}`, 10*time.Minute), http.StatusUnauthorized, "timestamp outside"),
		Entry("an oversized body", call{body: `{"paths": ["ROUTE"], "host": "` + strings.Repeat("a", 5000) + `"}`, headers: map[string]string{"Authorization": "Bearer s3cret"}}, http.StatusRequestEntityTooLarge, "over 4096 bytes"),
		Entry("malformed JSON", bearer(`{"paths": ["ROUTE"`), http.StatusBadRequest, "not a valid revalidate request"),
		Entry("an unknown field", bearer(`{"paths": ["ROUTE"], "everything": true}`), http.StatusBadRequest, "unknown field"),
		Entry("a path with ..", bearer(`{"paths": ["/a/../ROUTE"]}`), http.StatusBadRequest, "'..' segments"),
		Entry("a selector matching everything", bearer(`{"selector": ""}`), http.StatusBadRequest, "at least one of paths"),
		Entry("a tag that is not one", bearer(`{"tags": ["a b"]}`), http.StatusBadRequest, "is not a tag"),
		Entry("a timeout too long", bearer(`{"paths": ["ROUTE"], "wait": true, "timeout": "1h"}`), http.StatusBadRequest, "at most 1m0s"),
		Entry("GET", call{method: http.MethodGet, headers: map[string]string{"Authorization": "Bearer s3cret"}}, http.StatusMethodNotAllowed, "use POST"),
		Entry("a form body", call{body: `paths=ROUTE`, headers: map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/x-www-form-urlencoded"}}, http.StatusUnsupportedMediaType, "application/json"),
	)

	It("takes a rotated Secret into account without a restart, and is off without credentials", func() {
		a, _ := page("/rotated", "", nil)
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(context.Background(), secretKey, secret)).To(Succeed())
		original := secret.DeepCopy()
		DeferCleanup(func() {
			cur := &corev1.Secret{}
			Expect(k8sClient.Get(context.Background(), secretKey, cur)).To(Succeed())
			cur.Data = original.Data
			Expect(k8sClient.Update(context.Background(), cur)).To(Succeed())
			Eventually(func() int { return bearer(`{"paths": ["/nowhere"]}`).do().code }).Should(Equal(http.StatusNotFound))
		})

		secret.Data[revalidateapi.TokenKey] = []byte("rotated")
		Expect(k8sClient.Update(context.Background(), secret)).To(Succeed())
		// Polls name no page, so that a call still accepted changes nothing.
		Eventually(func() int { return bearer(`{"paths": ["/nowhere"]}`).do().code }).Should(Equal(http.StatusUnauthorized))
		c := bearer(`{"paths": ["/rotated"]}`)
		c.headers["Authorization"] = "Bearer rotated"
		got := c.do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Eventually(annotation(a)).Should(Equal(got.resp.Token))

		By("refusing every call once the Secret holds no credentials")
		secret.Data = map[string][]byte{}
		Expect(k8sClient.Update(context.Background(), secret)).To(Succeed())
		probe := c.withBody(`{"paths": ["/nowhere"]}`)
		probe.signBody = ""
		Eventually(func() int { return probe.do().code }).Should(Equal(http.StatusForbidden))
		Expect(c.do().err).To(ContainSubstring("the revalidate API is off"))
		Consistently(annotation(a)).Should(Equal(got.resp.Token))
	})

	It("refuses bad credentials before it reads a byte of the body", func() {
		a, _ := page("/unread", "", nil)
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		stale := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
		for _, tt := range []struct {
			name    string
			headers map[string]string
			code    int
			read    bool
		}{
			{"a wrong token", map[string]string{"Authorization": "Bearer wrong"}, http.StatusUnauthorized, false},
			{"the token under another scheme", map[string]string{"Authorization": "Basic s3cret"}, http.StatusUnauthorized, false},
			{"no credentials", nil, http.StatusUnauthorized, false},
			{"a signed call with a stale timestamp", map[string]string{revalidateapi.SignatureHeader: "sha256=00", revalidateapi.TimestampHeader: stale}, http.StatusUnauthorized, false},
			{"a signature in another form", map[string]string{revalidateapi.SignatureHeader: "md5=00", revalidateapi.TimestampHeader: stamp}, http.StatusUnauthorized, false},
			// The controls: a signature covers the body, so it is read, and
			// a right token's body is read once the token is checked.
			{"a signed call in the window", map[string]string{revalidateapi.SignatureHeader: "sha256=00", revalidateapi.TimestampHeader: stamp}, http.StatusUnauthorized, true},
			{"the right token", map[string]string{"Authorization": "Bearer s3cret"}, http.StatusAccepted, true},
		} {
			body := &recordingBody{r: strings.NewReader(`{"paths": ["/unread"]}`)}
			req := httptest.NewRequest(http.MethodPost, revalidateapi.Path, body)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			apiHandler.ServeHTTP(rec, req)
			Expect(rec.Code).To(Equal(tt.code), "%s: %s", tt.name, rec.Body.String())
			Expect(body.reads.Load() > 0).To(Equal(tt.read), "%s: body read %d times", tt.name, body.reads.Load())
		}
		Eventually(annotation(a)).ShouldNot(BeEmpty())
	})

	It("answers 503 to calls over the cap of unauthenticated calls in flight, and serves again once they leave", func() {
		capped := *apiHandler
		gate := &revalidateapi.Gate{Max: 1}
		capped.Unauthenticated = gate
		srv := httptest.NewServer(&capped)
		DeferCleanup(srv.Close)

		By("a signed call whose body never arrives holds the one place")
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = conn.Close() })
		_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 64\r\n%s: sha256=00\r\n%s: %d\r\n\r\n",
			revalidateapi.Path, revalidateapi.SignatureHeader, revalidateapi.TimestampHeader, time.Now().Unix())
		Expect(err).NotTo(HaveOccurred())
		Eventually(gate.InFlight).Should(BeEquivalentTo(1))

		do := func(auth string) *http.Response {
			req, err := http.NewRequest(http.MethodPost, srv.URL+revalidateapi.Path, strings.NewReader(`{"paths": ["/nowhere"]}`))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Authorization", auth)
			res, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			_ = res.Body.Close()
			return res
		}
		for _, auth := range []string{"Bearer wrong", "Bearer s3cret"} {
			res := do(auth)
			Expect(res.StatusCode).To(Equal(http.StatusServiceUnavailable), auth)
			Expect(res.Header.Get("Retry-After")).NotTo(BeEmpty())
		}

		By("the place is free again once that caller leaves")
		Expect(conn.Close()).To(Succeed())
		Eventually(gate.InFlight).Should(BeEquivalentTo(0))
		Expect(do("Bearer s3cret").StatusCode).To(Equal(http.StatusNotFound))
		Expect(do("Bearer wrong").StatusCode).To(Equal(http.StatusUnauthorized))
		Expect(gate.InFlight()).To(BeEquivalentTo(0), "an authenticated or refused call kept its place")
	})

	It("answers 429 with Retry-After to a client over its rate", func() {
		limited := *apiHandler
		limited.Limiter = &revalidateapi.Limiter{Rate: 0.01, Burst: 2}
		srv := httptest.NewServer(&limited)
		DeferCleanup(srv.Close)
		codes := []int{}
		for range 3 {
			req, err := http.NewRequest(http.MethodPost, srv.URL+revalidateapi.Path, strings.NewReader(`{"paths": ["/nowhere"]}`))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Authorization", "Bearer s3cret")
			res, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			_ = res.Body.Close()
			codes = append(codes, res.StatusCode)
			if res.StatusCode == http.StatusTooManyRequests {
				Expect(res.Header.Get("Retry-After")).NotTo(BeEmpty())
			}
		}
		Expect(codes).To(Equal([]int{http.StatusNotFound, http.StatusNotFound, http.StatusTooManyRequests}))
	})
})

// recordingBody is a request body that counts the reads made of it.
type recordingBody struct {
	r     io.Reader
	reads atomic.Int32
}

func (b *recordingBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	return b.r.Read(p)
}

// to sends the call to another API server.
func (c call) to(srv *httptest.Server) call {
	c.url = srv.URL
	return c
}

// signedWith is a call signed with key at now+skew when it is sent.
func signedWith(key, body string, skew time.Duration) call {
	return call{body: body, signKey: key, skew: skew}
}

// withBody sends body while the signature covers the original body.
func (c call) withBody(body string) call {
	c.signBody, c.body = c.body, body
	return c
}
