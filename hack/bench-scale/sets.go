package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// setOrigin renders /render/{id} after a delay: a page for an id starting
// with a digit, 404 for any other. It counts fetches per path.
type setOrigin struct {
	*httpServer
	mu      sync.Mutex
	fetches map[string]int
}

// setManager is the manager of the scenarios with StaticPageSets: origins
// on loopback, and render caps of 16 so that the caps do not shape their
// figures; extra adds flags (--metrics-bind-address among them).
func setManager(o options, work string, cp *controlPlane, extra ...string) *proc {
	return &proc{name: "manager", bin: filepath.Join(o.bin, "manager"), log: filepath.Join(work, "manager.log"),
		args: append([]string{"--kubeconfig=" + cp.kubeconfig, "--health-probe-bind-address=0", "--allow-origin=127.0.0.1",
			"--max-concurrent-renders=16", "--max-concurrent-renders-per-host=16", "--max-concurrent-renders-per-namespace=16"}, extra...)}
}

func startSetOrigin(size int, delay time.Duration) *setOrigin {
	o := &setOrigin{fetches: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		o.mu.Lock()
		o.fetches[id]++
		o.mu.Unlock()
		time.Sleep(delay)
		if id == "" || id[0] < '0' || id[0] > '9' {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, strings.Repeat("product "+id+" ", size/(9+len(id))+1)[:size])
	})
	o.httpServer = newHTTPServer(mux)
	return o
}

// count is how many fetches the origin had for ids keep accepts.
func (o *setOrigin) count(keep func(id string) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for id, c := range o.fetches {
		if keep(id) {
			n += c
		}
	}
	return n
}

// runSets measures a StaticPageSet on a local control plane with the
// manager and two server replicas (ConfigMap storage): first requests of
// never-built paths, concurrent first requests for one path over both
// replicas, and random paths the origin does not have, twice.
func runSets(o options, work string, cp *controlPlane) error {
	ctx := context.Background()
	rep := &report{width: 62}
	add := rep.add
	etcdBefore := dbSize(cp.etcdDir)
	origin := startSetOrigin(o.pageSize, o.originDelay)
	defer origin.Close()

	manager := setManager(o, work, cp, "--metrics-bind-address=0")
	if err := manager.start(); err != nil {
		return err
	}
	defer manager.stop()
	var servers []*proc
	var urls []string
	for i := range 2 {
		port, probe := freePort(), freePort()
		s := &proc{name: fmt.Sprintf("server-%d", i), bin: filepath.Join(o.bin, "server"), log: filepath.Join(work, fmt.Sprintf("server-%d.log", i)),
			args: []string{"--kubeconfig=" + cp.kubeconfig, fmt.Sprintf("--listen-address=127.0.0.1:%d", port),
				"--metrics-bind-address=0", fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe), "--shutdown-delay=0s"}}
		if err := s.start(); err != nil {
			return err
		}
		defer s.stop()
		if err := waitFor(o.timeout, func() bool { return get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe)) == http.StatusOK }); err != nil {
			return fmt.Errorf("%s not ready: %w", s.name, err)
		}
		servers = append(servers, s)
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", port))
	}

	set := &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "products"},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:      "/p/{id}",
			Origin:     pagesv1alpha1.Origin{URL: origin.URL + "/render/{id}"},
			Revalidate: &metav1.Duration{Duration: time.Hour},
			// Above the default 10 per second and replica, so that the
			// figures time rendering, not the limit.
			MaxCreationRate: 1000,
			MaxPages:        pagesv1alpha1.MaxSetPages,
		},
	}
	if err := cp.client.Create(ctx, set); err != nil {
		return err
	}
	if err := waitFor(o.timeout, func() bool {
		cur := &pagesv1alpha1.StaticPageSet{}
		return cp.client.Get(ctx, client.ObjectKeyFromObject(set), cur) == nil &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, pagesv1alpha1.ReadyCondition)
	}); err != nil {
		return fmt.Errorf("the set is not Ready: %w", err)
	}
	// A server routes a set once it has seen it Ready: each asks the
	// origin for a path of its own once it does.
	for i, u := range urls {
		id := fmt.Sprintf("warm-up-%d", i)
		if err := waitFor(o.timeout, func() bool {
			return get(u+"/p/"+id) == http.StatusNotFound && origin.count(func(got string) bool { return got == id }) > 0
		}); err != nil {
			return fmt.Errorf("%s does not route the set: %w", servers[i].name, err)
		}
	}
	fmt.Printf("StaticPageSet /p/{id}, origin %s per page, %d-byte pages, 2 server replicas\n", o.originDelay, o.pageSize)

	lat := make([]time.Duration, 0, o.firsts)
	for i := range o.firsts {
		t0 := time.Now()
		if code := get(fmt.Sprintf("%s/p/%d", urls[i%2], 1000+i)); code != http.StatusOK {
			return fmt.Errorf("first request of /p/%d answered %d", 1000+i, code)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	add(fmt.Sprintf("first request of a never-built path (%d paths): p50 / p99", o.firsts), "%s / %s", pct(lat, 50), pct(lat, 99))

	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range o.together {
		wg.Go(func() {
			if get(urls[i%2]+"/p/77") == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	add(fmt.Sprintf("%d concurrent first requests for one path, 2 replicas: answers 200 / origin fetches", o.together), "%d / %d",
		ok.Load(), origin.count(func(id string) bool { return id == "77" }))

	ids := make([]string, o.absent)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%016x", rand.Uint64())
	}
	absentFetches := func() int { return origin.count(func(id string) bool { return strings.HasPrefix(id, "n") }) }
	for round := 1; round <= 2; round++ {
		before := absentFetches()
		var notFound atomic.Int64
		t0 := time.Now()
		if err := parallel(len(ids), 16, func(i int) error {
			if get(urls[i%2]+"/p/"+ids[i]) == http.StatusNotFound {
				notFound.Add(1)
			}
			return nil
		}); err != nil {
			return err
		}
		add(fmt.Sprintf("%d random absent ids, round %d: answers 404 / origin fetches / took", len(ids), round), "%d / %d / %s",
			notFound.Load(), absentFetches()-before, time.Since(t0).Round(10*time.Millisecond))
	}
	for _, s := range servers {
		rss, peak := memory(s.cmd.Process.Pid)
		add(s.name+" RSS / peak", "%s / %s", mib(rss), mib(peak))
	}
	mrss, mpeak := memory(manager.cmd.Process.Pid)
	add("manager RSS / peak", "%s / %s", mib(mrss), mib(mpeak))
	add("etcd database growth (the set's pages, absent ids included)", "%s", mib(dbSize(cp.etcdDir)-etcdBefore))
	pages := &pagesv1alpha1.StaticPageList{}
	if err := cp.client.List(ctx, pages, client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name}); err != nil {
		return err
	}
	add("the set's pages at the end (absent ids are kept for the set's interval)", "%d", len(pages.Items))

	rep.table(fmt.Sprintf("figure (StaticPageSet, origin %s, %d-byte pages)", o.originDelay, o.pageSize))
	return nil
}
