// Command bench-scale measures isr-operator with many pages on a local
// control plane and a real S3 server (versitygw): how long until every page
// is served, what etcd and the server's memory grow by, how fast a page not
// in memory is served, what restarts cost, and how long a label-selected
// re-render of many pages takes to go live. It prints one table; run it with
// `make bench-scale` (PAGES, STORAGE, CACHE_SIZE).
//
// With -scenario=sets it measures a StaticPageSet instead (`make
// bench-sets`): first requests of never-built paths, many requests for one
// such path over two server replicas, and random paths the origin does not
// have.
//
// With -scenario=tarpit (`make bench-tarpit`) it times a page of one
// namespace from creation to Ready, alone and while 8 pages of another
// namespace hang on origins that never answer.
//
// With -scenario=webhooks it measures a WebhookReceiver (`make
// bench-webhooks`): signed deliveries to new content live, and refused
// deliveries per second of one server with the page port's p99 meanwhile.
//
// With -scenario=cdn (`make bench-cdn`) it puts a real Varnish, purged by
// a CDN object, in front of two server replicas: annotate to new content
// through Varnish, and the purges of 1,000 pages revalidated by one
// revalidate API call naming their tag, by URL and by tag.
//
// With -scenario=abuse (`make bench-abuse`) it sends random spellings of
// one id of a StaticPageSet (/products/0042, /products/00042, ...) to two
// server replicas in ConfigMap mode, with and without a spec.parameters
// constraint, and prints pages created, the set's size against maxPages,
// origin requests and the servers' RSS against --cache-size; then a
// server's RSS with many idle keep-alive connections.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/storage/s3test"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// options are the flags.
type options struct {
	pages, annotate, coldRequests int
	// asSet makes the pages scenario's pages the pages of one
	// StaticPageSet, as visitors' requests would have created them.
	asSet                   bool
	pageSize                int
	storage, cacheSize, bin string
	timeout                 time.Duration
	// scenario is "pages" (many StaticPages), "sets" (a StaticPageSet),
	// "tarpit" (renders of one namespace next to another's hung origins),
	// "webhooks" (WebhookReceiver deliveries), "cdn" (a purged Varnish) or
	// "abuse" (spellings of one id of a set, and idle keep-alive connections).
	scenario string
	// originDelay is how long the origin takes per page, in the sets
	// scenario.
	originDelay time.Duration
	// firsts, together and absent size the sets scenario's three figures.
	firsts, together, absent int
	// profiles is where heap profiles of the manager and the server are
	// written once every page is served; empty writes none.
	profiles string
	// deliveries, attack and attackers size the webhooks scenario.
	deliveries, attackers int
	attack                time.Duration
	// changes, untouched, salePages and cdnTTL size the cdn scenario.
	changes, untouched, salePages int
	cdnTTL                        time.Duration
	// duration, rate, variants, maxPages and idleConns size the abuse
	// scenario.
	duration                            time.Duration
	rate, variants, maxPages, idleConns int
}

func main() {
	var o options
	flag.IntVar(&o.pages, "pages", 10000, "StaticPages to apply.")
	flag.BoolVar(&o.asSet, "as-set", false, "pages: make the pages those of one StaticPageSet (/p/{id}), as visitors' requests create them, instead of StaticPages of their own.")
	flag.IntVar(&o.pageSize, "page-size", 20<<10, "Bytes of each page.")
	flag.IntVar(&o.annotate, "annotate", 1000, "Pages re-rendered at once by one label-selected annotation.")
	flag.IntVar(&o.coldRequests, "cold-requests", 500, "Requests for random pages, to time pages not in memory.")
	flag.StringVar(&o.storage, "storage", "s3", "configmap or s3.")
	flag.StringVar(&o.cacheSize, "cache-size", "64Mi", "The server's --cache-size, with either storage.")
	flag.StringVar(&o.bin, "bin", "bin", "Where the manager and server binaries are (make build).")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "Longest wait for any step.")
	flag.StringVar(&o.scenario, "scenario", "pages", "pages (many StaticPages), sets (a StaticPageSet's first requests), tarpit (one namespace's renders while another's origins never answer), webhooks (WebhookReceiver deliveries), cdn (purges of a Varnish in front of two server replicas) or abuse (random spellings of one id of a set, with and without a parameter constraint, and idle keep-alive connections).")
	flag.DurationVar(&o.originDelay, "origin-delay", 50*time.Millisecond, "sets: how long the origin takes to answer.")
	flag.IntVar(&o.firsts, "firsts", 200, "sets: never-built paths requested one after another, to time first requests; tarpit: pages of namespace b rendered one after another in each arm.")
	flag.IntVar(&o.together, "together", 50, "sets: concurrent first requests for one path, over two server replicas.")
	flag.IntVar(&o.absent, "absent", 1000, "sets: random paths the origin does not have, requested twice.")
	flag.IntVar(&o.deliveries, "deliveries", 100, "webhooks: signed deliveries one after another, each timed until its new content is served.")
	flag.DurationVar(&o.attack, "attack", 5*time.Second, "webhooks: how long refused deliveries are posted, and the page port timed without them.")
	flag.IntVar(&o.attackers, "attackers", 8, "webhooks: concurrent clients posting refused deliveries.")
	flag.IntVar(&o.changes, "changes", 50, "cdn: changes of one page, one after another, each timed from its annotation until its new content comes through Varnish.")
	flag.IntVar(&o.untouched, "untouched", 20, "cdn: pages Varnish caches before the changes, checked to be the same cached objects after them.")
	flag.IntVar(&o.salePages, "sale-pages", 1000, "cdn: pages tagged sale, revalidated by one revalidate API call, once per purgeBy (urls, tags).")
	flag.DurationVar(&o.cdnTTL, "cdn-ttl", time.Hour, "cdn: how long Varnish keeps pages (the server's --cdn-cache-control max-age).")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "abuse: how long each arm sends requests.")
	flag.IntVar(&o.rate, "rate", 200, "abuse: requests per second in each arm, alternating over 2 server replicas.")
	flag.IntVar(&o.variants, "variants", 250, "abuse: the most leading zeros of a requested spelling of the id (1 to this many; the spellings must outnumber -max-pages, and a value is at most 256 characters).")
	flag.IntVar(&o.maxPages, "max-pages", 100, "abuse: the set's maxPages.")
	flag.IntVar(&o.idleConns, "idle-conns", 5000, "abuse: idle keep-alive connections opened to one server for the idle figure.")
	flag.StringVar(&o.profiles, "profiles", "", "pages: a directory to write the manager's and the server's heap profiles to once every page is served (go tool pprof reads them).")
	flag.Parse()
	runner := run
	switch o.scenario {
	case "sets":
		runner = runSets
	case "tarpit":
		runner = runTarpit
	case "webhooks":
		runner = runWebhooks
	case "cdn":
		runner = runCDN
	case "abuse":
		runner = runAbuse
	}
	if err := inControlPlane(o, runner); err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
}

// result is one row of the table.
type result struct{ what, value string }

// report collects the figures, printing each as it comes, and prints them
// again as a Markdown table at the end.
type report struct {
	width   int
	results []result
}

func (r *report) add(what, format string, args ...any) {
	res := result{what, fmt.Sprintf(format, args...)}
	r.results = append(r.results, res)
	fmt.Printf("  %-*s %s\n", r.width, res.what, res.value)
}

func (r *report) table(title string) {
	fmt.Printf("\n| %s | value |\n| --- | --- |\n", title)
	for _, res := range r.results {
		fmt.Printf("| %s | %s |\n", res.what, res.value)
	}
}

func run(o options, work string, cp *controlPlane) error {
	ctx := context.Background()
	rep := &report{width: 58}
	add := rep.add

	c, kubeconfig, etcdDir := cp.client, cp.kubeconfig, cp.etcdDir
	etcdBefore := dbSize(etcdDir)

	origin, version := startOrigin(o.pageSize)
	defer origin.Close()

	var storeEnv, storeArgs []string
	if o.storage == "s3" {
		// What the chart installs with storage.type=s3: the storage
		// finalizer added at create time.
		if err := applyManifests(ctx, c, filepath.Join("config", "admission", "s3", "storage-finalizer.yaml")); err != nil {
			return err
		}
		if err := waitFor(time.Minute, func() bool {
			probe := &pagesv1alpha1.StaticPage{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "probe"},
				Spec:       pagesv1alpha1.StaticPageSpec{Route: "/probe", Origin: pagesv1alpha1.Origin{URL: "http://127.0.0.1/"}},
			}
			return c.Create(ctx, probe, client.DryRunAll) == nil && slices.Contains(probe.Finalizers, pagesv1alpha1.StorageFinalizer)
		}); err != nil {
			return fmt.Errorf("the storage finalizer policy does not act: %w", err)
		}
		fmt.Println("starting versitygw")
		store, err := s3test.Start(s3test.Options{})
		if err != nil {
			return err
		}
		defer func() { _ = store.Close() }()
		storeEnv = store.Env()
		storeArgs = []string{"--storage=s3", "--s3-endpoint=" + store.Endpoint, "--s3-bucket=" + store.Bucket,
			"--s3-prefix=bench", "--s3-path-style", "--s3-allow-http"}
	}

	pagesPort, probePort, metricsPort := freePort(), freePort(), freePort()
	pagesURL := fmt.Sprintf("http://127.0.0.1:%d", pagesPort)
	managerPprof, serverPprof := "0", "0"
	if o.profiles != "" {
		managerPprof, serverPprof = fmt.Sprintf("127.0.0.1:%d", freePort()), fmt.Sprintf("127.0.0.1:%d", freePort())
	}
	manager := &proc{name: "manager", bin: filepath.Join(o.bin, "manager"), env: storeEnv, log: filepath.Join(work, "manager.log"),
		args: append([]string{"--kubeconfig=" + kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0",
			"--pprof-bind-address=" + managerPprof,
			"--allow-origin=127.0.0.1", "--max-concurrent-renders=8", "--max-concurrent-renders-per-host=8", "--max-concurrent-renders-per-namespace=8"}, storeArgs...)}
	serverArgs := append([]string{"--kubeconfig=" + kubeconfig, fmt.Sprintf("--listen-address=127.0.0.1:%d", pagesPort),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort), fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		"--pprof-bind-address=" + serverPprof, "--shutdown-delay=0s", "--cache-size=" + o.cacheSize}, storeArgs...)
	server := &proc{name: "server", bin: filepath.Join(o.bin, "server"), env: storeEnv, log: filepath.Join(work, "server.log"), args: serverArgs}
	for _, p := range []*proc{manager, server} {
		if err := p.start(); err != nil {
			return err
		}
		defer p.stop()
	}
	if err := waitFor(o.timeout, func() bool { return get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)) == http.StatusOK }); err != nil {
		return fmt.Errorf("server not ready: %w", err)
	}

	var set *pagesv1alpha1.StaticPageSet
	if o.asSet {
		set = &pagesv1alpha1.StaticPageSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"},
			Spec: pagesv1alpha1.StaticPageSetSpec{Route: "/p/{id}", Origin: pagesv1alpha1.Origin{URL: origin.URL + "/p/{id}"},
				Revalidate: &metav1.Duration{Duration: time.Hour}, MaxPages: int32(max(o.pages, 1)),
				// Room for every page in all three codings: no eviction
				// shapes the figures.
				MaxBytes: resource.NewQuantity(max(int64(o.pages)*int64(o.pageSize)*3, 1<<20), resource.BinarySI)},
		}
		if err := c.Create(ctx, set); err != nil {
			return err
		}
	}
	fmt.Printf("applying %d StaticPages (%d bytes each, storage %s, of a StaticPageSet: %v)\n", o.pages, o.pageSize, o.storage, o.asSet)
	start := time.Now()
	if err := parallel(o.pages, 16, func(i int) error {
		route := fmt.Sprintf("/p/%d", i)
		p := &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("p-%d", i), Labels: map[string]string{}},
			Spec: pagesv1alpha1.StaticPageSpec{Route: route, Origin: pagesv1alpha1.Origin{URL: origin.URL + route},
				Revalidate: &metav1.Duration{Duration: time.Hour}},
		}
		if set != nil {
			p = pagesv1alpha1.RequestedChild(set, route)
		}
		p.Labels["bench"] = label(i < o.annotate)
		return c.Create(ctx, p)
	}); err != nil {
		return err
	}
	applied := time.Since(start)
	if err := waitFor(o.timeout, func() bool { return servedAll(pagesURL, o.pages) }); err != nil {
		return fmt.Errorf("not every page served: %w", err)
	}
	add("pages applied, then all served 200", "%d in %s (applied in %s)", o.pages, time.Since(start).Round(time.Second), applied.Round(time.Second))
	add("etcd database growth", "%s", mib(dbSize(etcdDir)-etcdBefore))
	sm := residency(server.cmd.Process.Pid)
	add("server RSS / peak", "%s / %s (--cache-size %s)", mib(sm.rss), mib(sm.peak), o.cacheSize)
	add("server RSS: anonymous / mapped from files", "%s / %s", mib(sm.anon), mib(sm.file))
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	gm := func(name string) int64 { return int64(metric(metricsURL, "go_memstats_"+name+"_bytes")) }
	add("server Go heap: in use / free, not returned / next goal", "%s / %s / %s",
		mib(gm("heap_inuse")), mib(gm("heap_idle")-gm("heap_released")), mib(gm("next_gc")))
	limit := "none"
	if l := metric(metricsURL, "go_gc_gomemlimit_bytes"); l > 0 && l < 1<<62 {
		limit = mib(int64(l))
	}
	add("server collections so far / Go memory limit", "%.0f / %s", metric(metricsURL, "go_gc_duration_seconds_count"), limit)
	mrss, mpeak := memory(manager.cmd.Process.Pid)
	add("manager RSS / peak", "%s / %s", mib(mrss), mib(mpeak))
	if o.profiles != "" {
		for name, addr := range map[string]string{"manager": managerPprof, "server": serverPprof} {
			if err := saveHeapProfile(addr, filepath.Join(o.profiles, name+"-heap.pb.gz")); err != nil {
				return err
			}
		}
		fmt.Printf("heap profiles in %s\n", o.profiles)
	}

	loadsBefore := metric(metricsURL, "isr_server_cache_loads_total")
	lat := make([]time.Duration, 0, o.coldRequests)
	for range o.coldRequests {
		t0 := time.Now()
		if code := get(fmt.Sprintf("%s/p/%d", pagesURL, rand.IntN(o.pages))); code != http.StatusOK {
			return fmt.Errorf("a random page answered %d", code)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	add(fmt.Sprintf("%d random pages: p50 / p99 (loaded from the store)", o.coldRequests), "%s / %s (%.0f)",
		pct(lat, 50), pct(lat, 99), metric(metricsURL, "isr_server_cache_loads_total")-loadsBefore)

	renders := version.renders.Load()
	manager.stop()
	if err := manager.start(); err != nil {
		return err
	}
	time.Sleep(20 * time.Second) // the window a restarted manager would re-render in
	add("origin renders in the 20s after a manager restart", "%d", version.renders.Load()-renders)

	server.stop()
	t0 := time.Now()
	if err := server.start(); err != nil {
		return err
	}
	if err := waitFor(o.timeout, func() bool { return get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)) == http.StatusOK }); err != nil {
		return err
	}
	add("server restart until ready and serving", "%s", time.Since(t0).Round(10*time.Millisecond))

	n := min(o.annotate, o.pages)
	version.v.Add(1)
	want := fmt.Sprintf("v%06d ", version.v.Load())
	t0 = time.Now()
	token := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	kubectl := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), "--kubeconfig", kubeconfig,
		"annotate", "staticpages", "-l", "bench=annotate", pagesv1alpha1.RevalidateAnnotation+"="+token, "--overwrite")
	if out, err := kubectl.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl annotate: %w: %s", err, out)
	}
	if err := waitFor(o.timeout, func() bool { return liveAll(pagesURL, n, want) }); err != nil {
		return fmt.Errorf("new content not live on every annotated page: %w", err)
	}
	add(fmt.Sprintf("annotate %d pages, until all new content live", n), "%s", time.Since(t0).Round(100*time.Millisecond))

	rep.table(fmt.Sprintf("figure (%d pages of %d bytes, storage %s)", o.pages, o.pageSize, o.storage))
	return nil
}

// controlPlane is a local kube-apiserver and etcd with the CRDs, and an
// admin's kubeconfig and client for it.
// inControlPlane runs scenario with a fresh work directory and a local
// control plane in it, both removed after it.
func inControlPlane(o options, scenario func(o options, work string, cp *controlPlane) error) error {
	work, err := os.MkdirTemp("", "bench-"+o.scenario+"-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	cp, err := startControlPlane(work)
	if err != nil {
		return err
	}
	defer cp.stop()
	return scenario(o, work, cp)
}

type controlPlane struct {
	env        *envtest.Environment
	client     client.Client
	kubeconfig string
	etcdDir    string
}

// startControlPlane starts a control plane, writing its kubeconfig in work.
func startControlPlane(work string) (*controlPlane, error) {
	fmt.Println("starting the control plane")
	env := &envtest.Environment{CRDDirectoryPaths: []string{"config/crd/bases"}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane (KUBEBUILDER_ASSETS=%s): %w", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	cp := &controlPlane{env: env, etcdDir: env.ControlPlane.Etcd.DataDir, kubeconfig: filepath.Join(work, "kubeconfig")}
	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err == nil {
		var kc []byte
		if kc, err = admin.KubeConfig(); err == nil {
			err = os.WriteFile(cp.kubeconfig, kc, 0o600)
		}
	}
	if err == nil {
		cp.client, err = client.New(cfg, client.Options{Scheme: kube.Scheme()})
	}
	if err == nil {
		// The pages' namespace is granted every host, as a cluster admin
		// grants it (the binaries run with --host-grants=required).
		ns := &corev1.Namespace{}
		if err = cp.client.Get(context.Background(), client.ObjectKey{Name: "default"}, ns); err == nil {
			ns.Annotations = map[string]string{route.HostsAnnotation: route.AnyHost}
			err = cp.client.Update(context.Background(), ns)
		}
	}
	if err != nil {
		cp.stop()
		return nil, err
	}
	return cp, nil
}

func (cp *controlPlane) stop() { _ = cp.env.Stop() }

// origin serves every page at a version, counting renders.
type originState struct {
	v       atomic.Int64
	renders atomic.Int64
	size    int
}

func (s *originState) body(i int) string {
	head := fmt.Sprintf("v%06d page %d ", s.v.Load(), i)
	r := rand.New(rand.NewPCG(uint64(i), 1))
	var b strings.Builder
	b.WriteString(head)
	for b.Len() < s.size {
		b.WriteString(strconv.FormatUint(r.Uint64(), 36))
	}
	return b.String()[:s.size]
}

func startOrigin(size int) (*httpServer, *originState) {
	st := &originState{size: size}
	st.v.Store(1)
	mux := http.NewServeMux()
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		st.renders.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, st.body(i))
	})
	return newHTTPServer(mux), st
}

type httpServer struct {
	URL string
	srv *http.Server
}

func newHTTPServer(h http.Handler) *httpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := &httpServer{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

func (s *httpServer) Close() { _ = s.srv.Close() }

// proc is a binary run with its log in a file.
type proc struct {
	name, bin, log string
	env, args      []string
	cmd            *exec.Cmd
}

func (p *proc) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s (run make build): %w", p.name, err)
	}
	return nil
}

func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func get(url string) int {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// applyManifests creates the objects of a YAML file of config/.
func applyManifests(ctx context.Context, c client.Client, path string) error {
	objs, err := testenv.Manifests(path)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

// saveHeapProfile writes the heap profile served at addr to path.
func saveHeapProfile(addr, path string) error {
	resp, err := httpClient.Get("http://" + addr + "/debug/pprof/heap")
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile from %s: %s", addr, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// servedAll is true when every page answers 200.
func servedAll(base string, n int) bool {
	var bad atomic.Int64
	_ = parallel(n, 32, func(i int) error {
		if bad.Load() == 0 && get(fmt.Sprintf("%s/p/%d", base, i)) != http.StatusOK {
			bad.Add(1)
		}
		return nil
	})
	return bad.Load() == 0
}

// liveAll is true when the first n pages serve content starting with want.
func liveAll(base string, n int, want string) bool {
	var bad atomic.Int64
	_ = parallel(n, 32, func(i int) error {
		if bad.Load() > 0 {
			return nil
		}
		resp, err := httpClient.Get(fmt.Sprintf("%s/p/%d", base, i))
		if err != nil {
			bad.Add(1)
			return nil
		}
		head := make([]byte, len(want))
		_, _ = io.ReadFull(resp.Body, head)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if string(head) != want {
			bad.Add(1)
		}
		return nil
	})
	return bad.Load() == 0
}

// parallel runs f for 0..n-1 on workers goroutines; a worker stops at its
// first error, and every error is returned.
func parallel(n, workers int, f func(i int) error) error {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for e := range errs {
		all = append(all, e)
	}
	return errors.Join(all...)
}

func waitFor(timeout time.Duration, ok func() bool) error {
	return pollFor(timeout, 500*time.Millisecond, ok)
}

// pollFor is waitFor asking every interval: a latency measured with it is
// at most one interval late.
func pollFor(timeout, interval time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		time.Sleep(interval)
	}
	return nil
}

// dbSize is the size of etcd's database file under dir.
func dbSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Base(path) == "db" {
			n += info.Size()
		}
		return nil
	})
	return n
}

// memory reads a process's resident set and its peak, in bytes.
func memory(pid int) (rss, peak int64) {
	m := residency(pid)
	return m.rss, m.peak
}

// resident is a process's resident set, its peak, and the set's two parts:
// anonymous memory (the heap, stacks) and pages mapped from files (the
// binary's code and read-only data, which the kernel can drop and read
// again).
type resident struct{ rss, peak, anon, file int64 }

// residency reads resident for a process, in bytes.
func residency(pid int) (m resident) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				m.rss = v << 10
			case "VmHWM:":
				m.peak = v << 10
			case "RssAnon:":
				m.anon = v << 10
			case "RssFile:":
				m.file = v << 10
			}
		}
	}
	return m
}

func label(annotated bool) string {
	if annotated {
		return "annotate"
	}
	return "rest"
}

// metric reads one unlabelled sample from a Prometheus text endpoint.
func metric(url, name string) float64 {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(10 * time.Microsecond)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
