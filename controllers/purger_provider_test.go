package controllers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/tags"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// cdnProviderNamespace is watched only by the manager of the SaaS
// provider specs.
const cdnProviderNamespace = "isr-cdn-provider"

// cloudflareZone is a zone id of the shape Cloudflare gives.
const cloudflareZone = "023e105f4ecef8ad9ca31a8372d0c353"

// cloudflareStandIn answers purges as Cloudflare's API documents them
// (POST /client/v4/zones/{zone}/purge_cache, Bearer token, at most 100
// tags a request; internal/purge's contract test cites the pages), the
// first one with 429 and Retry-After: 1, as its rate limit does.
type cloudflareStandIn struct {
	mu       sync.Mutex
	tags     []string
	answered []time.Time
	codes    []int
}

func (c *cloudflareStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tags []string `json:"tags"`
	}
	code := http.StatusOK
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/client/v4/zones/"+cloudflareZone+"/purge_cache":
		code = http.StatusNotFound
	case r.Header.Get("Authorization") != "Bearer cf-token":
		code = http.StatusForbidden
	case json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Tags) == 0 || len(body.Tags) > 100:
		code = http.StatusBadRequest
	}
	c.mu.Lock()
	if code == http.StatusOK && len(c.answered) == 0 {
		code = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "1")
	}
	if code == http.StatusOK {
		c.tags = append(c.tags, body.Tags...)
	}
	c.answered = append(c.answered, time.Now())
	c.codes = append(c.codes, code)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": code == http.StatusOK, "errors": []any{}, "messages": []any{}, "result": map[string]string{"id": "purge-1"}})
}

func (c *cloudflareStandIn) purged() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tags...)
}

var _ = Describe("Purging a SaaS CDN", Ordered, func() {
	var api *cloudflareStandIn

	BeforeAll(func() {
		ctx := context.Background()
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, testenv.Namespace(cdnProviderNamespace)))).To(Succeed())
		api = &cloudflareStandIn{}
		srv := httptest.NewServer(api)
		DeferCleanup(srv.Close)

		mctx, stop := context.WithCancel(ctx)
		mgr := newManager(cdnProviderNamespace, func(o *Options) { o.PurgeWindow = 50 * time.Millisecond })
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		DeferCleanup(func() { stop(); <-done })

		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: cdnProviderNamespace, Name: "cloudflare"},
			Data:       map[string][]byte{pagesv1alpha1.SecretKeyCloudflareToken: []byte("cf-token\n")},
		}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		cdn := &pagesv1alpha1.CDN{
			ObjectMeta: metav1.ObjectMeta{Namespace: cdnProviderNamespace, Name: "cloudflare"},
			Spec: pagesv1alpha1.CDNSpec{
				Provider:   pagesv1alpha1.ProviderCloudflare,
				Cloudflare: pagesv1alpha1.CloudflareCDN{ZoneID: cloudflareZone, Endpoint: srv.URL + "/client/v4"},
				SecretRef:  pagesv1alpha1.SecretReference{Name: secret.Name},
			},
		}
		Expect(k8sClient.Create(ctx, cdn)).To(Succeed())
	})

	It("purges changed pages by tag, after the 429's Retry-After", func() {
		var pages []*pagesv1alpha1.StaticPage
		for i := range 3 {
			o := newOrigin("p v1")
			p := newPage(uniqueName("saas"), "/saas/"+string(rune('a'+i)), o.URL, 0)
			p.Namespace = cdnProviderNamespace
			create(p)
			pages = append(pages, p)
		}
		for _, p := range pages {
			Eventually(func(g Gomega) {
				got := fetch(g, p)
				g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
				g.Expect(got.Status.LastPurge.CDN).To(Equal("cloudflare"))
				g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
			}).WithTimeout(30 * time.Second).Should(Succeed())
			Expect(api.purged()).To(ContainElement(tags.PageTag(p.Namespace, p.Name)))
		}
		api.mu.Lock()
		defer api.mu.Unlock()
		Expect(api.codes[0]).To(Equal(http.StatusTooManyRequests))
		Expect(api.codes).To(ContainElement(http.StatusOK))
		Expect(api.answered[1].Sub(api.answered[0])).To(BeNumerically(">=", time.Second), "the retry waits for Retry-After")
		c := &pagesv1alpha1.CDN{}
		Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: cdnProviderNamespace, Name: "cloudflare"}, c)).To(Succeed())
		Expect(meta.IsStatusConditionTrue(c.Status.Conditions, pagesv1alpha1.ReadyCondition)).To(BeTrue())
	})

	It("refuses at apply a provider without its settings or credentials", func() {
		// Dry runs: nothing is created, so nothing is ever purged.
		ctx := context.Background()
		bad := func(spec pagesv1alpha1.CDNSpec) error {
			return k8sClient.Create(ctx, &pagesv1alpha1.CDN{
				ObjectMeta: metav1.ObjectMeta{Namespace: cdnProviderNamespace, GenerateName: "bad-"},
				Spec:       spec,
			}, client.DryRunAll)
		}
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderCloudflare, Cloudflare: pagesv1alpha1.CloudflareCDN{ZoneID: cloudflareZone}})).
			To(MatchError(ContainSubstring("need spec.secretRef")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderBunny, Bunny: pagesv1alpha1.BunnyCDN{PullZoneID: 12345}})).
			To(MatchError(ContainSubstring("need spec.secretRef")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderFastly, SecretRef: pagesv1alpha1.SecretReference{Name: "s"}})).
			To(MatchError(ContainSubstring("provider fastly needs spec.fastly")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderHTTP, HTTP: pagesv1alpha1.HTTPCDN{URL: "http://purge.example/"},
			Varnish: pagesv1alpha1.VarnishCDN{URLs: []string{"http://varnish:6081"}}})).
			To(MatchError(ContainSubstring("give the settings of spec.provider only")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderCloudflare, SecretRef: pagesv1alpha1.SecretReference{Name: "s"},
			Cloudflare: pagesv1alpha1.CloudflareCDN{ZoneID: "not-a-zone"}})).
			To(MatchError(ContainSubstring("zoneID")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderAkamai, Akamai: pagesv1alpha1.AkamaiCDN{Host: "akab-x.purge.akamaiapis.net"}})).
			To(MatchError(ContainSubstring("need spec.secretRef")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderAkamai, SecretRef: pagesv1alpha1.SecretReference{Name: "s"},
			Akamai: pagesv1alpha1.AkamaiCDN{Host: "akab-x.purge.akamaiapis.net", Network: "qa"}})).
			To(MatchError(ContainSubstring("network")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderCloudFront, CloudFront: pagesv1alpha1.CloudFrontCDN{DistributionID: "E2QWRUHAPOMQZL"}})).
			To(MatchError(ContainSubstring("set purgeBy: urls")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderCloudFront, PurgeBy: pagesv1alpha1.PurgeByURLs,
			CloudFront: pagesv1alpha1.CloudFrontCDN{DistributionID: "E2QWRUHAPOMQZL"}})).To(Succeed())
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderHTTP, HTTP: pagesv1alpha1.HTTPCDN{URL: "ftp://purge.example/"}})).
			To(MatchError(ContainSubstring("http.url must be")))
		Expect(bad(pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderFastly, SecretRef: pagesv1alpha1.SecretReference{Name: "s"},
			Fastly: pagesv1alpha1.FastlyCDN{ServiceID: "SU1Z0isxPaozGVKXdv0eY", SoftPurge: new(false)}})).To(Succeed())
	})
})
