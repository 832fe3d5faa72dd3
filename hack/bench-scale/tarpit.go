package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// tarpitOriginIP is where the normal origin listens: another host than the
// tarpits' 127.0.0.1, as another tenant's backend is.
const tarpitOriginIP = "127.0.0.2"

// runTarpit measures how long a normal page of namespace b takes to render
// (from its creation to Ready) with no other load, then with 8 pages of
// namespace a on tarpits (origins that accept and never answer, one port
// each), first with the manager's default caps, then with the
// per-namespace and per-host caps lifted, as before they existed.
func runTarpit(o options, work string, cp *controlPlane) error {
	ctx := context.Background()
	rep := &report{width: 70}
	for _, ns := range []string{"tenant-a", "tenant-b"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Annotations: map[string]string{route.HostsAnnotation: route.AnyHost}}}
		if err := cp.client.Create(ctx, n); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(tarpitOriginIP, "0"))
	if err != nil {
		return fmt.Errorf("listening on %s: %w", tarpitOriginIP, err)
	}
	normal := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<h1>tenant b</h1>")
	})}
	go func() { _ = normal.Serve(ln) }()
	defer func() { _ = normal.Close() }()
	normalURL := "http://" + ln.Addr().String()

	manager := func(extra ...string) *proc {
		return &proc{name: "manager", bin: filepath.Join(o.bin, "manager"), log: filepath.Join(work, "manager.log"),
			args: append([]string{"--kubeconfig=" + cp.kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0",
				"--allow-origin=127.0.0.1,127.0.0.2", "--leader-elect=false"}, extra...)}
	}
	seq := 0
	// measure creates n pages of namespace b one after another, each once
	// the one before is Ready, and returns how long each took.
	measure := func(n int) ([]time.Duration, error) {
		var lat []time.Duration
		for range n {
			seq++
			p := &pagesv1alpha1.StaticPage{
				ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-b", Name: fmt.Sprintf("page-%d", seq)},
				Spec:       pagesv1alpha1.StaticPageSpec{Route: fmt.Sprintf("/b/%d", seq), Origin: pagesv1alpha1.Origin{URL: normalURL + "/"}},
			}
			t0 := time.Now()
			if err := cp.client.Create(ctx, p); err != nil {
				return nil, err
			}
			// Looked at every 10ms, not at waitFor's pace: the figure is
			// the render's latency.
			for {
				cur := &pagesv1alpha1.StaticPage{}
				if cp.client.Get(ctx, client.ObjectKeyFromObject(p), cur) == nil &&
					meta.IsStatusConditionTrue(cur.Status.Conditions, pagesv1alpha1.ReadyCondition) {
					break
				}
				if time.Since(t0) > o.timeout {
					return nil, fmt.Errorf("page %s not Ready within %s", p.Name, o.timeout)
				}
				time.Sleep(10 * time.Millisecond)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		return lat, nil
	}
	row := func(what string, lat []time.Duration) {
		rep.add(what, "%s / %s / %s", pct(lat, 50).Round(time.Millisecond), pct(lat, 90).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	}

	m := manager()
	if err := m.start(); err != nil {
		return err
	}
	fmt.Printf("a page of namespace b, from creation to Ready: p50 / p90 / max of %d pages\n", o.firsts)
	lat, err := measure(o.firsts)
	if err != nil {
		m.stop()
		return err
	}
	row("no other load (default caps)", lat)

	var tarpits []*testorigin.Tarpit
	defer func() {
		for _, t := range tarpits {
			t.Close()
		}
	}()
	open := func() int {
		n := 0
		for _, t := range tarpits {
			n += t.Open()
		}
		return n
	}
	for range 8 {
		t, err := testorigin.NewTarpit()
		if err != nil {
			m.stop()
			return err
		}
		tarpits = append(tarpits, t)
	}
	// tarpitPages creates a page of namespace a on each tarpit, each on its
	// own port, with the default origin timeout (10s): a render ends there
	// and the page retries with backoff.
	tarpitPages := func(prefix string) error {
		for i, t := range tarpits {
			p := &pagesv1alpha1.StaticPage{
				ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: fmt.Sprintf("%s-%d", prefix, i)},
				Spec:       pagesv1alpha1.StaticPageSpec{Route: fmt.Sprintf("/%s/%d", prefix, i), Origin: pagesv1alpha1.Origin{URL: t.URL + "/"}},
			}
			if err := cp.client.Create(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := tarpitPages("tarpit"); err != nil {
		m.stop()
		return err
	}
	if err := waitFor(o.timeout, func() bool { return open() >= 2 }); err != nil {
		m.stop()
		return fmt.Errorf("no render reached a tarpit: %w", err)
	}
	lat, err = measure(o.firsts)
	m.stop()
	if err != nil {
		return err
	}
	row("8 tarpit pages in namespace a (default caps)", lat)

	// The tarpits' connections end with the manager. Its successor, with
	// the caps lifted, gets 8 new tarpit pages (the old ones wait out their
	// retry backoff), which fill every worker.
	m = manager("--max-concurrent-renders-per-namespace=4", "--max-concurrent-renders-per-host=0")
	if err := m.start(); err != nil {
		return err
	}
	defer m.stop()
	if err := cp.client.DeleteAllOf(ctx, &pagesv1alpha1.StaticPage{}, client.InNamespace("tenant-a")); err != nil {
		return err
	}
	if err := tarpitPages("again"); err != nil {
		return err
	}
	if err := waitFor(o.timeout, func() bool { return open() >= 4 }); err != nil {
		return fmt.Errorf("the tarpits did not take every worker: %w", err)
	}
	lat, err = measure(min(o.firsts, 3))
	if err != nil {
		return err
	}
	row("8 tarpit pages in namespace a (per-namespace and per-host caps off)", lat)
	rep.table("a page of namespace b, creation to Ready: p50 / p90 / max")
	return nil
}
