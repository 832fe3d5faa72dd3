package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/hack/internal/idleconns"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/route"
)

// abuseID is the one id whose spellings the abuse scenario requests.
const abuseID = "42"

// abusePattern is the constrained arm's spec.parameters pattern for id.
const abusePattern = "[1-9][0-9]{0,9}"

// abuseOrigin answers /render/{id} with one page per integer value, as an
// origin whose framework parses the id as an integer does: /render/0042 is
// /render/42. Anything that is not an integer is 404. It counts requests.
type abuseOrigin struct {
	*httpServer
	requests atomic.Int64
}

func startAbuseOrigin(size int) *abuseOrigin {
	o := &abuseOrigin{}
	pages := &originState{size: size}
	pages.v.Store(1)
	mux := http.NewServeMux()
	mux.HandleFunc("/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		n, err := strconv.ParseUint(r.PathValue("id"), 10, 31)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(pages.body(int(n))))
	})
	o.httpServer = newHTTPServer(mux)
	return o
}

// abuseServer is a server replica of the abuse scenario and its ports.
type abuseServer struct {
	*proc
	url, probe, metrics string
}

// abuseCaps are the page port's connection caps every server of the abuse
// scenario gets: the idle figure's connections all come from 127.0.0.1, so
// the per-client cap is off and the listener's cap above them.
func abuseCaps(o options) []string {
	return []string{fmt.Sprintf("--max-connections=%d", max(10000, 2*o.idleConns)), "--max-connections-per-client=0"}
}

// startAbuseServers starts n fresh server replicas in ConfigMap mode with
// o's --cache-size and abuseCaps, and waits until each is ready.
func startAbuseServers(o options, work string, cp *controlPlane, n int, tag string) ([]*abuseServer, error) {
	var servers []*abuseServer
	for i := range n {
		port, probe, metrics := freePort(), freePort(), freePort()
		s := &abuseServer{
			proc: &proc{name: fmt.Sprintf("server-%d", i), bin: filepath.Join(o.bin, "server"), log: filepath.Join(work, fmt.Sprintf("server-%s-%d.log", tag, i)),
				args: append([]string{"--kubeconfig=" + cp.kubeconfig, "--storage=configmap", "--cache-size=" + o.cacheSize,
					fmt.Sprintf("--listen-address=127.0.0.1:%d", port), fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metrics),
					fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe), "--shutdown-delay=0s"}, abuseCaps(o)...)},
			url:     fmt.Sprintf("http://127.0.0.1:%d", port),
			probe:   fmt.Sprintf("http://127.0.0.1:%d/readyz", probe),
			metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		}
		if err := s.start(); err != nil {
			stopAbuseServers(servers)
			return nil, err
		}
		servers = append(servers, s)
		if err := waitFor(o.timeout, func() bool { return get(s.probe) == http.StatusOK }); err != nil {
			stopAbuseServers(servers)
			return nil, fmt.Errorf("%s not ready: %w", s.name, err)
		}
	}
	return servers, nil
}

func stopAbuseServers(servers []*abuseServer) {
	for _, s := range servers {
		s.stop()
	}
}

// abuseArm is one arm's figures.
type abuseArm struct {
	name                      string
	sent, skipped             int64
	statuses                  map[int]int64
	created, createdByServers int64
	watchLost                 bool
	// results are the servers' requests by result and their fallback's
	// answers by result, during the load.
	results                map[string]float64
	statusPages, peakPages int32
	children               int
	full                   bool
	originRequests         int64
	rss, peak              []int64
	cacheBytes, pagesHeld  []float64
	took                   time.Duration
}

// runAbuse measures what random spellings of one id of a StaticPageSet
// cost two server replicas in ConfigMap mode, with and without a
// spec.parameters constraint, and what idle keep-alive connections cost a
// server.
func runAbuse(o options, work string, cp *controlPlane) error {
	if o.variants < 1 || o.variants+len(abuseID) > route.MaxParamLength {
		return fmt.Errorf("-variants must be from 1 to %d: a longer parameter value is no path of a set", route.MaxParamLength-len(abuseID))
	}
	ctx := context.Background()
	// The watch client logs through controller-runtime's logger, which
	// nothing here sets.
	log.SetLogger(logr.Discard())
	origin := startAbuseOrigin(o.pageSize)
	defer origin.Close()
	manager := setManager(o, work, cp, "--metrics-bind-address=0")
	if err := manager.start(); err != nil {
		return err
	}
	defer manager.stop()

	fmt.Printf("servers: --storage=configmap --cache-size=%s %s (the idle figure's %d connections all come from 127.0.0.1)\n",
		o.cacheSize, strings.Join(abuseCaps(o), " "), o.idleConns)
	fmt.Printf("set: route /products/{id}, maxPages %d, maxCreationRate default; origin answers 200 for any spelling of an integer id, %d-byte pages (%s at maxPages)\n",
		o.maxPages, o.pageSize, mib(int64(o.maxPages)*int64(o.pageSize)))
	fmt.Printf("load: %d requests/s for %s per arm, /products/ + 1 to %d zeros + %s, alternating over 2 replicas\n", o.rate, o.duration, o.variants, abuseID)

	idle, withConns, err := idleFigure(ctx, o, work, cp, origin)
	if err != nil {
		return err
	}
	var arms []*abuseArm
	for _, constrained := range []bool{true, false} {
		arm, err := abuseRun(ctx, o, work, cp, origin, constrained)
		if err != nil {
			return err
		}
		arms = append(arms, arm)
	}
	printAbuse(o, arms, idle, withConns)
	return nil
}

// idleFigure is a fresh server's RSS with one page, idle, then with
// o.idleConns idle keep-alive connections that each fetched the page.
func idleFigure(ctx context.Context, o options, work string, cp *controlPlane, origin *abuseOrigin) (idle, withConns int64, err error) {
	page := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "idle"},
		Spec:       pagesv1alpha1.StaticPageSpec{Route: "/idle", Origin: pagesv1alpha1.Origin{URL: origin.URL + "/render/1"}},
	}
	if err := cp.client.Create(ctx, page); err != nil {
		return 0, 0, err
	}
	servers, err := startAbuseServers(o, work, cp, 1, "idle")
	if err != nil {
		return 0, 0, err
	}
	defer stopAbuseServers(servers)
	s := servers[0]
	if err := waitFor(o.timeout, func() bool { return get(s.url+"/idle") == http.StatusOK }); err != nil {
		return 0, 0, fmt.Errorf("the idle page is not served: %w", err)
	}
	// Let the server settle after its start and first request.
	time.Sleep(3 * time.Second)
	idle = residency(s.cmd.Process.Pid).rss
	fmt.Printf("idle figure: %s with one page; opening %d idle keep-alive connections\n", mib(idle), o.idleConns)
	conns, err := idleconns.Open(strings.TrimPrefix(s.url, "http://"), "/idle", o.idleConns)
	if err != nil {
		return 0, 0, fmt.Errorf("idle connections: %w", err)
	}
	defer conns.Close()
	time.Sleep(3 * time.Second)
	withConns = residency(s.cmd.Process.Pid).rss
	fmt.Printf("idle figure: %s with %d connections\n", mib(withConns), o.idleConns)
	return idle, withConns, nil
}

// abuseRun is one arm: a set /products/{id}, with or without the
// constraint, on two fresh server replicas, loaded with spellings of one id
// for o.duration. The set and its pages are deleted after it.
func abuseRun(ctx context.Context, o options, work string, cp *controlPlane, origin *abuseOrigin, constrained bool) (*abuseArm, error) {
	arm := &abuseArm{name: "(b) no constraint", statuses: map[int]int64{}}
	name := "products-open"
	if constrained {
		arm.name = fmt.Sprintf("(a) id %s", abusePattern)
		name = "products-constrained"
	}
	fmt.Printf("\narm %s\n", arm.name)
	servers, err := startAbuseServers(o, work, cp, 2, name)
	if err != nil {
		return nil, err
	}
	defer stopAbuseServers(servers)
	set := &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:      "/products/{id}",
			Origin:     pagesv1alpha1.Origin{URL: origin.URL + "/render/{id}"},
			Revalidate: &metav1.Duration{Duration: time.Hour},
			MaxPages:   int32(o.maxPages),
		},
	}
	if constrained {
		set.Spec.Parameters = []pagesv1alpha1.ParameterConstraint{{Name: "id", Pattern: abusePattern}}
	}
	if err := cp.client.Create(ctx, set); err != nil {
		return nil, err
	}
	defer func() {
		if err := deleteSet(ctx, o, cp, set); err != nil {
			fmt.Println("  cleaning up:", err)
		}
	}()
	if err := waitFor(o.timeout, func() bool {
		cur := &pagesv1alpha1.StaticPageSet{}
		return cp.client.Get(ctx, client.ObjectKeyFromObject(set), cur) == nil &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, pagesv1alpha1.ReadyCondition)
	}); err != nil {
		return nil, fmt.Errorf("the set is not Ready: %w", err)
	}
	// Each replica routes the set once it answers the id's one spelling.
	for _, s := range servers {
		if err := waitFor(o.timeout, func() bool { return get(s.url+"/products/"+abuseID) == http.StatusOK }); err != nil {
			return nil, fmt.Errorf("%s does not serve /products/%s: %w", s.name, abuseID, err)
		}
	}

	createdBefore := createdByServers(servers)
	resultsBefore := serverResults(servers)
	originBefore := origin.requests.Load()
	watchCtx, stopWatch := context.WithCancel(ctx)
	created, err := countCreations(watchCtx, cp, set)
	if err != nil {
		stopWatch()
		return nil, err
	}
	var peakPages atomic.Int32
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-watchCtx.Done():
				return
			case <-t.C:
				cur := &pagesv1alpha1.StaticPageSet{}
				if cp.client.Get(ctx, client.ObjectKeyFromObject(set), cur) == nil && cur.Status.Pages != nil && *cur.Status.Pages > peakPages.Load() {
					peakPages.Store(*cur.Status.Pages)
				}
			}
		}
	}()
	t0 := time.Now()
	abuseLoad(o, servers, arm, func(elapsed time.Duration) {
		cur := &pagesv1alpha1.StaticPageSet{}
		pages := "?"
		if cp.client.Get(ctx, client.ObjectKeyFromObject(set), cur) == nil && cur.Status.Pages != nil {
			pages = strconv.Itoa(int(*cur.Status.Pages))
		}
		var rss []string
		for _, s := range servers {
			rss = append(rss, mib(residency(s.cmd.Process.Pid).rss))
		}
		fmt.Printf("  %s: sent %d, pages created %d, status.pages %s, origin requests %d, RSS %s\n", elapsed.Round(time.Second),
			arm.sent, created.count.Load(), pages, origin.requests.Load()-originBefore, strings.Join(rss, " / "))
	})
	arm.took = time.Since(t0)
	stopWatch()
	<-sampleDone
	<-created.done

	arm.created, arm.watchLost = created.count.Load(), created.lost.Load()
	arm.createdByServers = createdByServers(servers) - createdBefore
	arm.results = serverResults(servers)
	for k, v := range resultsBefore {
		arm.results[k] -= v
	}
	arm.originRequests = origin.requests.Load() - originBefore
	arm.peakPages = peakPages.Load()
	cur := &pagesv1alpha1.StaticPageSet{}
	if err := cp.client.Get(ctx, client.ObjectKeyFromObject(set), cur); err != nil {
		return nil, err
	}
	if cur.Status.Pages != nil {
		arm.statusPages = *cur.Status.Pages
	}
	arm.peakPages = max(arm.peakPages, arm.statusPages)
	arm.full = meta.IsStatusConditionTrue(cur.Status.Conditions, pagesv1alpha1.FullCondition)
	children := &pagesv1alpha1.StaticPageList{}
	if err := cp.client.List(ctx, children, client.InNamespace(set.Namespace), client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name}); err != nil {
		return nil, err
	}
	arm.children = len(children.Items)
	for _, s := range servers {
		m := residency(s.cmd.Process.Pid)
		arm.rss, arm.peak = append(arm.rss, m.rss), append(arm.peak, m.peak)
		arm.cacheBytes = append(arm.cacheBytes, metric(s.metrics, "isr_server_cache_bytes"))
		arm.pagesHeld = append(arm.pagesHeld, metric(s.metrics, "isr_server_pages"))
	}
	return arm, nil
}

// serverResults sums the servers' requests by result
// (isr_server_requests_total) and their fallback's answers by result
// (isr_server_fallback_total, as "fallback <result>").
func serverResults(servers []*abuseServer) map[string]float64 {
	sum := map[string]float64{}
	for _, s := range servers {
		for k, v := range samples(s.metrics, "isr_server_requests_total", "result") {
			sum[k] += v
		}
		for k, v := range samples(s.metrics, "isr_server_fallback_total", "result") {
			sum["fallback "+k] += v
		}
	}
	return sum
}

// samples reads the samples of a metric with one label from a Prometheus
// text endpoint, by the label's value.
func samples(url, name, label string) map[string]float64 {
	got := map[string]float64{}
	resp, err := httpClient.Get(url)
	if err != nil {
		return got
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	prefix := name + "{" + label + "=\""
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		value, sample, ok := strings.Cut(rest, "\"} ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(sample), 64)
		got[value] = f
	}
	return got
}

// createdByServers is the servers' count of StaticPages they created for
// requested paths.
func createdByServers(servers []*abuseServer) int64 {
	var n float64
	for _, s := range servers {
		n += metric(s.metrics, `isr_server_fallback_creates_total{outcome="created"}`)
	}
	return int64(n)
}

// countCreations counts the set's pages created from now until ctx ends,
// by watching them.
func countCreations(ctx context.Context, cp *controlPlane, set *pagesv1alpha1.StaticPageSet) (c *creations, err error) {
	wc, err := client.NewWithWatch(cp.env.Config, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		return nil, err
	}
	sel := labels.SelectorFromSet(labels.Set{pagesv1alpha1.SetLabel: set.Name})
	list := &pagesv1alpha1.StaticPageList{}
	if err := wc.List(ctx, list, client.InNamespace(set.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	rv := list.ResourceVersion
	watchFrom := func() (watch.Interface, error) {
		return wc.Watch(ctx, &pagesv1alpha1.StaticPageList{}, &client.ListOptions{Namespace: set.Namespace, LabelSelector: sel,
			Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
	}
	w, err := watchFrom()
	if err != nil {
		return nil, err
	}
	c = &creations{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			for ev := range w.ResultChan() {
				switch {
				case ev.Type == watch.Added:
					c.count.Add(1)
				case ev.Type == watch.Error && ctx.Err() == nil:
					c.lost.Store(true)
				}
				if p, ok := ev.Object.(*pagesv1alpha1.StaticPage); ok {
					rv = p.ResourceVersion
				}
			}
			w.Stop()
			if ctx.Err() != nil {
				return
			}
			if w, err = watchFrom(); err != nil {
				c.lost.Store(true)
				return
			}
		}
	}()
	return c, nil
}

// creations counts a set's pages created while a watch of them runs.
type creations struct {
	count atomic.Int64
	// lost: the watch ended early and could not be resumed, so that count
	// is a floor.
	lost atomic.Bool
	// done is closed when the watch has ended after its context.
	done chan struct{}
}

// abuseLoad sends o.rate requests a second for o.duration, each for a
// random spelling of abuseID, alternating over the servers, and counts the
// answers by status (0: no answer). A request that would be past
// maxInFlight open requests is skipped and counted. progress is called
// every 30 seconds.
func abuseLoad(o options, servers []*abuseServer, arm *abuseArm, progress func(elapsed time.Duration)) {
	const maxInFlight = 2000
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	defer c.CloseIdleConnections()
	var mu sync.Mutex
	var wg sync.WaitGroup
	inFlight := make(chan struct{}, maxInFlight)
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastReport := start
	for now := range tick.C {
		elapsed := now.Sub(start)
		if elapsed >= o.duration {
			break
		}
		for due := int64(elapsed.Seconds() * float64(o.rate)); arm.sent+arm.skipped < due; {
			i := arm.sent + arm.skipped
			select {
			case inFlight <- struct{}{}:
				arm.sent++
			default:
				arm.skipped++
				continue
			}
			url := servers[i%int64(len(servers))].url + "/products/" + strings.Repeat("0", 1+rand.IntN(o.variants)) + abuseID
			wg.Go(func() {
				defer func() { <-inFlight }()
				code := 0
				if resp, err := c.Get(url); err == nil {
					code = resp.StatusCode
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				mu.Lock()
				arm.statuses[code]++
				mu.Unlock()
			})
		}
		if now.Sub(lastReport) >= 30*time.Second {
			lastReport = now
			progress(elapsed)
		}
	}
	wg.Wait()
}

// deleteSet deletes the set and its pages, and waits until the pages are
// gone (the manager removes their ConfigMaps first).
func deleteSet(ctx context.Context, o options, cp *controlPlane, set *pagesv1alpha1.StaticPageSet) error {
	if err := cp.client.Delete(ctx, set); err != nil {
		return err
	}
	if err := cp.client.DeleteAllOf(ctx, &pagesv1alpha1.StaticPage{}, client.InNamespace(set.Namespace),
		client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name}); err != nil {
		return err
	}
	return waitFor(o.timeout, func() bool {
		list := &pagesv1alpha1.StaticPageList{}
		return cp.client.List(ctx, list, client.InNamespace(set.Namespace), client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name}) == nil &&
			len(list.Items) == 0
	})
}

// printAbuse prints the scenario's table: a column per arm, and the goal.
func printAbuse(o options, arms []*abuseArm, idle, withConns int64) {
	q, _ := resource.ParseQuantity(o.cacheSize)
	bound := q.Value() + 96<<20
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	type row struct{ what, goal string }
	var rows []row
	cells := map[string][]string{}
	add := func(what, goal string, cell func(a *abuseArm) string) {
		rows = append(rows, row{what, goal})
		for _, a := range arms {
			cells[what] = append(cells[what], cell(a))
		}
	}
	add("requests sent (skipped: over 2,000 open)", "", func(a *abuseArm) string {
		return fmt.Sprintf("%d in %s (%d)", a.sent, a.took.Round(time.Second), a.skipped)
	})
	add("answers by status", "", func(a *abuseArm) string {
		codes := make([]int, 0, len(a.statuses))
		for c := range a.statuses {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		var parts []string
		for _, c := range codes {
			label := strconv.Itoa(c)
			if c == 0 {
				label = "no answer"
			}
			parts = append(parts, fmt.Sprintf("%s: %d", label, a.statuses[c]))
		}
		return strings.Join(parts, ", ")
	})
	add("the servers' requests by result; fallback answers by result", "", func(a *abuseArm) string {
		keys := slices.Sorted(maps.Keys(a.results))
		var parts []string
		for _, k := range keys {
			if a.results[k] != 0 {
				parts = append(parts, fmt.Sprintf("%s: %.0f", k, a.results[k]))
			}
		}
		return strings.Join(parts, ", ")
	})
	add("pages created (watched) / by the servers' count", "(a) 0", func(a *abuseArm) string {
		s := fmt.Sprintf("%d / %d", a.created, a.createdByServers)
		if a.watchLost {
			s += " (watch lost: at least)"
		}
		if strings.HasPrefix(a.name, "(a)") {
			s += ", " + verdict(a.created == 0)
		}
		return s
	})
	add("set status.pages at the end / peak seen / pages listed, of maxPages", fmt.Sprintf("(b) at most %d", o.maxPages), func(a *abuseArm) string {
		full := ""
		if a.full {
			full = ", Full"
		}
		return fmt.Sprintf("%d / %d / %d of %d%s, %s", a.statusPages, a.peakPages, a.children, o.maxPages, full,
			verdict(int(a.peakPages) <= o.maxPages && a.children <= o.maxPages))
	})
	add("origin requests", "", func(a *abuseArm) string { return strconv.FormatInt(a.originRequests, 10) })
	for i := range 2 {
		add(fmt.Sprintf("server-%d RSS peak / end", i), fmt.Sprintf("(b) under --cache-size + 96 MiB = %s", mib(bound)), func(a *abuseArm) string {
			return fmt.Sprintf("%s / %s, %s", mib(a.peak[i]), mib(a.rss[i]), verdict(a.peak[i] < bound))
		})
	}
	add("bodies held (isr_server_cache_bytes) / pages held (the idle page too), per replica", "", func(a *abuseArm) string {
		var parts []string
		for i := range a.cacheBytes {
			parts = append(parts, fmt.Sprintf("%s / %.0f", mib(int64(a.cacheBytes[i])), a.pagesHeld[i]))
		}
		return strings.Join(parts, "; ")
	})

	fmt.Printf("\n| figure (%d req/s for %s, 2 replicas, ConfigMap mode, --cache-size=%s, maxPages %d, %d-byte pages) |", o.rate, o.duration, o.cacheSize, o.maxPages, o.pageSize)
	for _, a := range arms {
		fmt.Printf(" %s |", a.name)
	}
	fmt.Print(" goal |\n| --- |")
	for range arms {
		fmt.Print(" --- |")
	}
	fmt.Print(" --- |\n")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s |\n", r.what, strings.Join(cells[r.what], " | "), r.goal)
	}
	diff := withConns - idle
	fmt.Printf("\n| idle keep-alive connections (one server, %s) | value | goal |\n| --- | --- | --- |\n", strings.Join(abuseCaps(o), " "))
	fmt.Printf("| server RSS idle, one page | %s | |\n", mib(idle))
	fmt.Printf("| server RSS with %d idle keep-alive connections | %s | |\n", o.idleConns, mib(withConns))
	fmt.Printf("| difference | %s | under 64 MiB, %s |\n", mib(diff), verdict(diff < 64<<20))
}
