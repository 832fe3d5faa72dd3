//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// serverProc is one server process run with the chart's flags, as a pod of
// the server Deployment would be.
type serverProc struct {
	name  string
	bin   string
	env   []string
	args  []string
	cmd   *exec.Cmd
	exit  chan struct{}
	url   string // pages
	probe string // /readyz
	api   string // POST /revalidate
}

// startServer runs a server with the chart's args and identity, plus extra
// flags, on free loopback ports, and waits until it is ready.
func startServer(name, kubeconfig string, chartArgs []string, extra ...string) *serverProc {
	return startServerEnv(name, []string{"KUBECONFIG=" + kubeconfig}, chartArgs, extra...)
}

// startServerEnv is startServer with the environment given whole
// (kubeconfig and credentials).
func startServerEnv(name string, env, chartArgs []string, extra ...string) *serverProc {
	p, probe, api := freePort(), freePort(), freePort()
	s := &serverProc{
		name: name, bin: filepath.Join(workDir, "server"), env: env,
		url:   fmt.Sprintf("http://127.0.0.1:%d", p),
		probe: fmt.Sprintf("http://127.0.0.1:%d/readyz", probe),
		api:   fmt.Sprintf("http://127.0.0.1:%d/revalidate", api),
	}
	// Later flags win: only addresses change, to fit beside each other here.
	s.args = append(append([]string{}, chartArgs...),
		fmt.Sprintf("--listen-address=127.0.0.1:%d", p),
		fmt.Sprintf("--revalidate-bind-address=127.0.0.1:%d", api),
		"--metrics-bind-address=0",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe))
	s.args = append(s.args, extra...)
	s.start()
	return s
}

func (s *serverProc) start() {
	s.cmd = startEnv(s.name, s.env, s.bin, s.args...)
	s.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) { _ = cmd.Wait(); close(exit) }(s.cmd, s.exit)
	EventuallyWithOffset(1, s.ready).WithTimeout(60 * time.Second).Should(BeTrue())
}

// ready is true when /readyz answers 200.
func (s *serverProc) ready() bool {
	code, _, _ := page(s.probe)
	return code == http.StatusOK
}

// terminate sends SIGTERM, as the kubelet does at a rollout or a drain.
func (s *serverProc) terminate() { Expect(s.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed()) }

// exited is true once the process has ended.
func (s *serverProc) exited() bool {
	select {
	case <-s.exit:
		return true
	default:
		return false
	}
}

// restart stops the server with SIGTERM, waits for it to exit, and starts a
// new process with the same flags and ports, as a rollout replaces a pod.
func (s *serverProc) restart(within time.Duration) {
	s.terminate()
	Eventually(s.exited).WithTimeout(within).Should(BeTrue())
	s.start()
}

// balancer is what endpoints and kube-proxy do for a Service, in small: it
// spreads requests over the backends whose /readyz answers 200, and drops a
// backend as soon as its /readyz fails.
type balancer struct {
	backends []*serverProc
	proxies  []*httputil.ReverseProxy
	ready    []atomic.Bool
	next     atomic.Uint64
	srv      *http.Server
	url      string
	failed   atomic.Int64
}

func newBalancer(backends ...*serverProc) *balancer {
	b := &balancer{backends: backends, ready: make([]atomic.Bool, len(backends))}
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	for _, s := range backends {
		u, err := url.Parse(s.url)
		Expect(err).NotTo(HaveOccurred())
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = transport
		rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			b.failed.Add(1)
			_, _ = fmt.Fprintf(GinkgoWriter, "balancer: %v\n", err)
			w.WriteHeader(http.StatusBadGateway)
		}
		b.proxies = append(b.proxies, rp)
	}
	probe := &http.Client{Timeout: time.Second}
	probeAll := func() {
		for i, s := range b.backends {
			// As a kubelet probe with a failure threshold above one: a
			// probe that only timed out on a busy machine changes
			// nothing; an answer other than 200, or a refused
			// connection, takes the backend out at once.
			resp, err := probe.Get(s.probe)
			switch {
			case err == nil:
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				b.ready[i].Store(resp.StatusCode == http.StatusOK)
			case errors.Is(err, syscall.ECONNREFUSED):
				b.ready[i].Store(false)
			}
		}
	}
	// Probed once before it takes requests, as endpoints list only pods
	// already found ready: a request sent at once finds its backends.
	probeAll()
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			probeAll()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	b.url = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	DeferCleanup(func() { stop(); _ = b.srv.Close() })
	return b
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := uint64(len(b.backends))
	start := b.next.Add(1)
	for j := range n {
		i := (start + j) % n
		if b.ready[i].Load() {
			b.proxies[i].ServeHTTP(w, r)
			return
		}
	}
	b.failed.Add(1)
	w.WriteHeader(http.StatusServiceUnavailable)
}

// load sends requests for path through the balancer from a few keep-alive
// clients until stopped, and counts what did not come back 200.
type load struct {
	mu                 sync.Mutex
	kinds              map[string]int // what the failures were
	requests, failures atomic.Int64
	longest            atomic.Int64 // nanoseconds
	stop               chan struct{}
	wg                 sync.WaitGroup
}

func startLoad(base, path string, clients int) *load {
	l := &load{stop: make(chan struct{}), kinds: map[string]int{}}
	for range clients {
		l.wg.Go(func() {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				t0 := time.Now()
				resp, err := c.Get(base + path)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				took := int64(time.Since(t0))
				for {
					cur := l.longest.Load()
					if took <= cur || l.longest.CompareAndSwap(cur, took) {
						break
					}
				}
				l.requests.Add(1)
				if !ok {
					l.failures.Add(1)
					kind := "error: " + fmt.Sprint(err)
					if err == nil {
						kind = "status " + resp.Status
					}
					l.mu.Lock()
					l.kinds[kind]++
					l.mu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

// slowReader dials with a small receive buffer, so that a large body stays
// in flight for as long as the reader takes, not in kernel buffers.
func slowClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
}

// signedCall posts body to api signed with key at ts, and returns the status.
func signedCall(api, key, body string, ts time.Time) (int, string) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(stamp + "." + body))
	req, err := http.NewRequest(http.MethodPost, api, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Isr-Timestamp", stamp)
	req.Header.Set("X-Isr-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// bigBody is a large, very compressible page: it fits a ConfigMap gzipped,
// and takes seconds to read slowly.
func bigBody(size int) string {
	line := "isr-operator keeps this page in flight while it shuts down.\n"
	return strings.Repeat(line, size/len(line)+1)[:size]
}

// report writes a figure the closing note quotes.
func report(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	_, _ = fmt.Fprintln(GinkgoWriter, msg)
	AddReportEntry(msg)
	if f := os.Getenv("E2E_FIGURES"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = fmt.Fprintln(fh, msg)
			_ = fh.Close()
		}
	}
}
