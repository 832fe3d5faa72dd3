package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/testenv/varnishtest"
)

// runCDN measures the purge of a real Varnish in front of two server
// replicas (ConfigMap storage), which keeps pages for an hour
// (--cdn-cache-control=max-age=3600) and is purged by a CDN object
// (provider varnish) once both replicas serve the new content.
//
// Figure 1: o.changes changes of one page, one after another, each an
// annotation of the page after its origin's content changed, timed until
// the new content comes through Varnish; after each, once the page's
// status says the purge is done, Varnish must still give the new content
// (an old page cached again would show here), and at the end o.untouched
// other pages must still be the objects Varnish cached before.
//
// Figure 2: o.salePages pages tagged sale, revalidated by one revalidate
// API call naming the tag, once with purgeBy urls and once with purgeBy
// tags: the purges and purge requests sent, the PURGE requests Varnish
// answered, and the time until every page's new content comes through
// Varnish.
func runCDN(o options, work string, cp *controlPlane) error {
	ctx := context.Background()
	rep := &report{width: 66}
	add := rep.add
	originSrv, origin := startOrigin(o.pageSize)
	defer originSrv.Close()

	const token = "bench-token"
	if err := cp.client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "revalidate"},
		StringData: map[string]string{"token": token}}); err != nil {
		return err
	}

	// Two server replicas, the first with the revalidate API, both sending
	// the pages' tags in xkey and Varnish's hour in CDN-Cache-Control.
	var serverURLs []string
	apiPort := freePort()
	for i := range 2 {
		port, probe := freePort(), freePort()
		args := []string{"--kubeconfig=" + cp.kubeconfig, fmt.Sprintf("--listen-address=127.0.0.1:%d", port),
			"--metrics-bind-address=0", fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe), "--shutdown-delay=0s",
			"--cdn-tag-headers=xkey", "--cdn-cache-control=max-age=" + strconv.Itoa(int(o.cdnTTL.Seconds()))}
		if i == 0 {
			args = append(args, fmt.Sprintf("--revalidate-bind-address=127.0.0.1:%d", apiPort), "--revalidate-secret=default/revalidate")
		}
		s := &proc{name: fmt.Sprintf("server-%d", i), bin: filepath.Join(o.bin, "server"), log: filepath.Join(work, fmt.Sprintf("server-%d.log", i)), args: args}
		if err := s.start(); err != nil {
			return err
		}
		defer s.stop()
		if err := waitFor(o.timeout, func() bool { return get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe)) == http.StatusOK }); err != nil {
			return fmt.Errorf("%s not ready: %w", s.name, err)
		}
		serverURLs = append(serverURLs, fmt.Sprintf("http://127.0.0.1:%d", port))
	}
	// The replicas' Service: each request to the next replica.
	service := newHTTPServer(roundRobin(serverURLs))
	defer service.Close()

	varnish, err := startVarnish(work, strings.TrimPrefix(service.URL, "http://"))
	if err != nil {
		return err
	}
	defer varnish.stop()

	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	managerMetrics := "http://" + metricsAddr + "/metrics"
	manager := setManager(o, work, cp, "--metrics-bind-address="+metricsAddr, "--cdn-purge-servers="+strings.Join(serverURLs, ","))
	if err := manager.start(); err != nil {
		return err
	}
	defer manager.stop()

	cdn := &pagesv1alpha1.CDN{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "varnish"},
		Spec: pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderVarnish, PurgeBy: pagesv1alpha1.PurgeByTags,
			Varnish: pagesv1alpha1.VarnishCDN{URLs: []string{varnish.URL}}},
	}
	if err := cp.client.Create(ctx, cdn); err != nil {
		return err
	}
	fmt.Printf("Varnish %s (CDN TTL %s) in front of 2 server replicas; origin %s, %d-byte pages\n", varnish.URL, o.cdnTTL, originSrv.URL, o.pageSize)

	// Figure 1.
	page := func(name, route string, tags []string) *pagesv1alpha1.StaticPage {
		return &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: pagesv1alpha1.StaticPageSpec{Route: route, Origin: pagesv1alpha1.Origin{URL: originSrv.URL + route},
				Revalidate: &metav1.Duration{Duration: time.Hour}, Tags: tags},
		}
	}
	hot := page("p-0", "/p/0", nil)
	untouched := make([]*pagesv1alpha1.StaticPage, o.untouched)
	for i := range untouched {
		untouched[i] = page(fmt.Sprintf("p-%d", i+1), fmt.Sprintf("/p/%d", i+1), nil)
	}
	if err := createPurged(ctx, cp.client, o.timeout, append([]*pagesv1alpha1.StaticPage{hot}, untouched...)); err != nil {
		return err
	}
	// Each untouched page cached by Varnish, and by which transaction.
	cachedBy := map[string]string{}
	for _, p := range untouched {
		_, _ = varnish.get(p.Spec.Route)
		a, err := varnish.get(p.Spec.Route)
		if err != nil {
			return err
		}
		if a.cachedBy == "" {
			return fmt.Errorf("varnish does not keep %s: is CDN-Cache-Control sent?", p.Spec.Route)
		}
		cachedBy[p.Spec.Route] = a.cachedBy
	}
	if _, err := varnish.get(hot.Spec.Route); err != nil {
		return err
	}
	statsBefore, err := varnish.stats()
	if err != nil {
		return err
	}

	fmt.Printf("%d changes of %s, one after another, each annotated and timed until its new content comes through Varnish\n", o.changes, hot.Spec.Route)
	lat := make([]time.Duration, 0, o.changes)
	var reCached int
	for i := range o.changes {
		want := fmt.Sprintf("v%06d ", origin.v.Add(1))
		start := time.Now()
		if err := annotate(ctx, cp.client, hot, fmt.Sprintf("bench-%d", i)); err != nil {
			return err
		}
		if err := pollFor(o.timeout, 5*time.Millisecond, func() bool {
			a, err := varnish.get(hot.Spec.Route)
			return err == nil && strings.HasPrefix(a.body, want)
		}); err != nil {
			return fmt.Errorf("change %d: the new content does not come through Varnish: %w", i, err)
		}
		lat = append(lat, time.Since(start))
		// Once the purge is recorded, nothing is in flight: an old page
		// Varnish fetched again from a lagging replica would be served
		// now.
		if err := waitFor(o.timeout, func() bool { return purgedCurrent(ctx, cp.client, hot) }); err != nil {
			return fmt.Errorf("change %d: the purge is not recorded: %w", i, err)
		}
		if a, err := varnish.get(hot.Spec.Route); err != nil || !strings.HasPrefix(a.body, want) {
			reCached++
		}
	}
	slices.Sort(lat)
	add(fmt.Sprintf("annotate to new content through Varnish (%d changes): p50", o.changes), "%s", pct(lat, 50))
	add(fmt.Sprintf("annotate to new content through Varnish (%d changes): p99", o.changes), "%s", pct(lat, 99))
	add("changes whose old page Varnish served again after the purge", "%d", reCached)
	stillCached := 0
	for _, p := range untouched {
		if a, err := varnish.get(p.Spec.Route); err == nil && a.cachedBy == cachedBy[p.Spec.Route] {
			stillCached++
		}
	}
	statsAfter, err := varnish.stats()
	if err != nil {
		return err
	}
	add(fmt.Sprintf("untouched pages still the object Varnish cached before (of %d)", o.untouched), "%d", stillCached)
	add("Varnish backend fetches during the changes (one per change expected)", "%d", statsAfter["MAIN.backend_req"]-statsBefore["MAIN.backend_req"])

	// Figure 2.
	fmt.Printf("creating %d pages tagged sale\n", o.salePages)
	sale := make([]*pagesv1alpha1.StaticPage, o.salePages)
	for i := range sale {
		sale[i] = page(fmt.Sprintf("sale-%d", i), fmt.Sprintf("/p/%d", 1000+i), []string{"sale"})
	}
	if err := createPurged(ctx, cp.client, o.timeout, sale); err != nil {
		return err
	}
	routes := make([]string, len(sale))
	for i, p := range sale {
		routes[i] = p.Spec.Route
	}
	api := fmt.Sprintf("http://127.0.0.1:%d/revalidate", apiPort)
	for _, mode := range []pagesv1alpha1.PurgeBy{pagesv1alpha1.PurgeByURLs, pagesv1alpha1.PurgeByTags} {
		base := cdn.DeepCopy()
		cdn.Spec.PurgeBy = mode
		if err := cp.client.Patch(ctx, cdn, client.MergeFrom(base)); err != nil {
			return err
		}
		// Every page cached by Varnish before the call.
		if err := parallel(len(routes), 16, func(i int) error {
			_, err := varnish.get(routes[i])
			return err
		}); err != nil {
			return err
		}
		// The manager's cache of CDN objects sees purgeBy before the
		// first purge of the call: that comes after a render and the
		// purge window.
		ms := purgeMetrics(managerMetrics)
		vs, err := varnish.stats()
		if err != nil {
			return err
		}
		renders := origin.renders.Load()
		want := fmt.Sprintf("v%06d ", origin.v.Add(1))
		fmt.Printf("purgeBy %s: one revalidate API call naming tag sale\n", mode)
		start := time.Now()
		if code, body := revalidate(api, token, `{"namespace": "default", "tags": ["sale"]}`); code != http.StatusAccepted {
			return fmt.Errorf("the revalidate API answered %d: %s", code, body)
		}
		answered := time.Since(start)
		if err := freshAll(varnish, routes, want, o.timeout); err != nil {
			return fmt.Errorf("purgeBy %s: %w", mode, err)
		}
		took := time.Since(start)
		if err := waitFor(o.timeout, func() bool { return metricSum(managerMetrics, "isr_cdn_purge_pending_pages") == 0 }); err != nil {
			return fmt.Errorf("purgeBy %s: purges still pending: %w", mode, err)
		}
		me := purgeMetrics(managerMetrics)
		ve, err := varnish.stats()
		if err != nil {
			return err
		}
		batches, pages := me.batches-ms.batches, me.pages-ms.pages
		add(fmt.Sprintf("purgeBy %s: %d pages by one call: answered / all fresh through Varnish", mode, len(routes)), "%s / %s",
			answered.Round(10*time.Millisecond), took.Round(10*time.Millisecond))
		add(fmt.Sprintf("purgeBy %s: origin renders / pages purged / purges (batches)", mode), "%d / %.0f / %.0f",
			origin.renders.Load()-renders, pages, batches)
		add(fmt.Sprintf("purgeBy %s: purge requests sent (failed) / PURGE answered by Varnish", mode), "%.0f (%.0f) / %d",
			me.requests-ms.requests, me.failed-ms.failed, ve["MAIN.s_synth"]-vs["MAIN.s_synth"])
		if mode == pagesv1alpha1.PurgeByTags {
			// Each purge of s pages takes ceil(s/60) requests, so all of
			// them at most one per purge plus one per 60 pages.
			add("purgeBy tags: most requests those purges may take (one per purge and 60 tags)", "%.0f",
				batches+math.Floor(pages/purge.MaxTagsPerRequest))
		}
	}

	rep.table(fmt.Sprintf("figure (Varnish, CDN TTL %s, 2 server replicas, %d-byte pages)", o.cdnTTL, o.pageSize))
	return nil
}

// createPurged creates pages and waits until each is Ready and purged
// from the CDN for its content: the purge of a page's first content,
// landing after Varnish cached the page, would evict it again.
func createPurged(ctx context.Context, c client.Client, timeout time.Duration, pages []*pagesv1alpha1.StaticPage) error {
	if err := parallel(len(pages), 16, func(i int) error { return c.Create(ctx, pages[i]) }); err != nil {
		return err
	}
	return waitFor(timeout, func() bool {
		list := &pagesv1alpha1.StaticPageList{}
		if c.List(ctx, list, client.InNamespace("default")) != nil {
			return false
		}
		purged := map[string]bool{}
		for i := range list.Items {
			p := &list.Items[i]
			purged[p.Name] = p.Status.Digest != "" && p.Status.LastPurge.Result == pagesv1alpha1.ReasonPurged && p.Status.LastPurge.Digest == p.Status.Digest
		}
		for _, p := range pages {
			if !purged[p.Name] {
				return false
			}
		}
		return true
	})
}

// purgedCurrent is true when p's status says its current content is
// purged from the CDN.
func purgedCurrent(ctx context.Context, c client.Client, p *pagesv1alpha1.StaticPage) bool {
	cur := &pagesv1alpha1.StaticPage{}
	if c.Get(ctx, client.ObjectKeyFromObject(p), cur) != nil {
		return false
	}
	return cur.Status.LastPurge.Result == pagesv1alpha1.ReasonPurged && cur.Status.LastPurge.Digest == cur.Status.Digest &&
		cur.Status.LastHandledRevalidate == cur.Annotations[pagesv1alpha1.RevalidateAnnotation]
}

// annotate sets p's revalidate annotation to token, as kubectl annotate
// does.
func annotate(ctx context.Context, c client.Client, p *pagesv1alpha1.StaticPage, token string) error {
	patch := fmt.Sprintf(`{"metadata": {"annotations": {%q: %q}}}`, pagesv1alpha1.RevalidateAnnotation, token)
	if err := c.Patch(ctx, p, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		return fmt.Errorf("annotating %s: %w", p.Name, err)
	}
	return nil
}

// apiClient calls the revalidate API, which answers once it annotated
// every page the call names: longer than httpClient waits for many pages.
var apiClient = &http.Client{Timeout: 2 * time.Minute}

// revalidate posts body to the revalidate API with token.
func revalidate(api, token, body string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, api, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// freshAll waits until every route's content through v starts with want,
// asking again only for the routes not fresh yet.
func freshAll(v *varnishProc, routes []string, want string, timeout time.Duration) error {
	left := slices.Clone(routes)
	return pollFor(timeout, 20*time.Millisecond, func() bool {
		fresh := make([]bool, len(left))
		_ = parallel(len(left), 8, func(i int) error {
			a, err := v.get(left[i])
			fresh[i] = err == nil && strings.HasPrefix(a.body, want)
			return nil
		})
		var stale []string
		for i, r := range left {
			if !fresh[i] {
				stale = append(stale, r)
			}
		}
		left = stale
		return len(left) == 0
	})
}

// roundRobin proxies each request to the next of backends, as a Service
// in front of server replicas does.
func roundRobin(backends []string) http.Handler {
	var next atomic.Uint64
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		b := backends[(next.Add(1)-1)%uint64(len(backends))]
		r.Out.URL.Scheme, r.Out.URL.Host = "http", strings.TrimPrefix(b, "http://")
	}}
}

// varnishProc is varnishd running hack/varnish/default.vcl.
type varnishProc struct {
	*proc
	// URL is its base URL; dir its working directory (-n), which
	// varnishstat reads.
	URL, dir string
}

// startVarnish runs varnishd (Debian's, with the xkey module: make
// varnish) in front of backend (host:port) on a free loopback port, with
// the VCL as the tests run it.
func startVarnish(work, backend string) (*varnishProc, error) {
	bin := os.Getenv(varnishtest.BinaryEnv)
	if bin == "" {
		bin = "/usr/sbin/varnishd"
	}
	vcl, err := varnishtest.VCL(backend)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "varnish")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	vclPath := filepath.Join(dir, "default.vcl")
	if err := os.WriteFile(vclPath, []byte(vcl), 0o644); err != nil {
		return nil, err
	}
	port := freePort()
	v := &varnishProc{URL: fmt.Sprintf("http://127.0.0.1:%d", port), dir: filepath.Join(dir, "work"),
		proc: &proc{name: "varnishd", bin: bin, log: filepath.Join(work, "varnishd.log"),
			// -j none runs it as this user; -F keeps it in the
			// foreground, so that stop ends it.
			args: []string{"-j", "none", "-F", "-n", filepath.Join(dir, "work"), "-a", fmt.Sprintf("127.0.0.1:%d", port),
				"-f", vclPath, "-s", "malloc,256m", "-T", "none"}}}
	if err := v.start(); err != nil {
		return nil, fmt.Errorf("%w (make varnish installs varnishd and the xkey module)", err)
	}
	if err := waitFor(time.Minute, func() bool { return get(v.URL+"/.varnish-up") != 0 }); err != nil {
		v.stop()
		b, _ := os.ReadFile(v.log)
		return nil, fmt.Errorf("varnishd does not answer: %w: %s", err, b)
	}
	return v, nil
}

// varnishAnswer is what a visitor through Varnish got: the body, and on a
// hit the transaction that cached the object ("" on a miss).
type varnishAnswer struct{ body, cachedBy string }

// get asks Varnish for path, as a visitor.
func (v *varnishProc) get(path string) (varnishAnswer, error) {
	resp, err := httpClient.Get(v.URL + path)
	if err != nil {
		return varnishAnswer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return varnishAnswer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return varnishAnswer{}, fmt.Errorf("%s answered %s", path, resp.Status)
	}
	a := varnishAnswer{body: string(b)}
	// A hit carries two ids in X-Varnish: this request's and the one that
	// cached the object.
	if ids := strings.Fields(resp.Header.Get("X-Varnish")); len(ids) == 2 {
		a.cachedBy = ids[1]
	}
	return a, nil
}

// stats are varnishstat's counters, by name (MAIN.backend_req, ...).
func (v *varnishProc) stats() (map[string]int64, error) {
	bin := filepath.Join(filepath.Dir(v.bin), "..", "bin", "varnishstat")
	if _, err := os.Stat(bin); err != nil {
		bin = "varnishstat"
	}
	out, err := exec.Command(bin, "-n", v.dir, "-1").Output()
	if err != nil {
		return nil, fmt.Errorf("varnishstat: %w", err)
	}
	stats := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			stats[f[0]] = n
		}
	}
	return stats, nil
}

// purgeFigures are the manager's purge metrics for provider varnish.
type purgeFigures struct{ batches, pages, requests, failed float64 }

func purgeMetrics(url string) purgeFigures {
	return purgeFigures{
		batches:  metricSum(url, `isr_cdn_purge_batch_pages_count{provider="varnish"}`),
		pages:    metricSum(url, `isr_cdn_purge_batch_pages_sum{provider="varnish"}`),
		requests: metricSum(url, `isr_cdn_purge_requests_total{`),
		failed:   metricSum(url, `isr_cdn_purge_requests_total{outcome="error"`) + metricSum(url, `isr_cdn_purge_requests_total{outcome="rate_limited"`),
	}
}

// metricSum adds up the samples of a Prometheus text endpoint whose line
// starts with prefix: a metric's name, or its name and the first labels.
func metricSum(url, prefix string) float64 {
	resp, err := httpClient.Get(url)
	if err != nil {
		return math.NaN()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 {
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}
