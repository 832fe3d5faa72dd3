package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/valyala/fasthttp"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/isr-operator/isr-operator/internal/kube"
)

type httpRequest = http.Request

func controllerOptions() controller.TypedOptions[reconcile.Request] {
	f := false
	return controller.TypedOptions[reconcile.Request]{MaxConcurrentReconciles: 2, NeedLeaderElection: &f}
}

// Shutdown coordinates a server's stop so that no visitor's request is
// dropped while endpoints, kube-proxy and ingress controllers catch up with
// a terminating pod, which takes them a few seconds after SIGTERM:
//  1. at once, Ready fails, so the pod leaves the Service's endpoints;
//  2. for Delay, every listener keeps accepting and serving new connections
//     as usual, answering with `Connection: close` so that keep-alive
//     clients reconnect to another pod;
//  3. then the listeners stop accepting and in-flight requests, and
//     background work such as revalidation requests, get up to Grace.
type Shutdown struct {
	// Delay is how long the listeners keep serving after the stop signal.
	Delay time.Duration
	// Grace bounds the drain of in-flight requests after Delay.
	Grace time.Duration
	// Log says when each phase starts.
	Log logr.Logger
	// Limits bound what clients may make each listener hold; the zero
	// value means DefaultConnLimits.
	Limits ConnLimits

	draining atomic.Bool
	started  atomic.Bool
	// clock times Delay; the real clock when nil. Tests end the delay
	// themselves.
	clock clock.WithTicker
}

// Ready is a readiness check that fails from the stop signal on.
func (s *Shutdown) Ready(_ *http.Request) error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	return nil
}

// Draining is true from the stop signal on.
func (s *Shutdown) Draining() bool { return s.draining.Load() }

// begin enters phase 1 once, however many listeners see the signal, and
// returns when phase 2 is over.
func (s *Shutdown) begin() {
	if s.started.CompareAndSwap(false, true) {
		s.Log.Info("stop signal: not ready; still serving, with Connection: close", "delay", s.Delay.String(), "grace", s.Grace.String())
	}
	s.draining.Store(true)
	clk := s.clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	<-clk.After(s.Delay)
}

// closeWhenDraining asks clients to reconnect elsewhere once draining.
func (s *Shutdown) closeWhenDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// httpServer is what the phased stop drives: net/http's server or
// fasthttp's.
type httpServer interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// limits are the listeners' limits.
func (s *Shutdown) limits() ConnLimits {
	if s.Limits == (ConnLimits{}) {
		return DefaultConnLimits()
	}
	return s.Limits
}

// Listener serves h on addr with net/http until the manager stops, then
// shuts down in the phases of s. wait, if set, is background work to let
// finish in the grace period (it must return when its context ends).
func (s *Shutdown) Listener(addr string, h http.Handler, wait func(context.Context)) manager.Runnable {
	l := s.limits()
	return s.listen(addr, l, func(base context.Context) httpServer { return s.netServer(h, base, l) }, wait)
}

// PageListener serves the pages of h on addr with fasthttp, with the limits,
// the answers and the phased stop of Listener.
func (s *Shutdown) PageListener(addr string, h *Handler, wait func(context.Context)) manager.Runnable {
	l := s.limits()
	return s.listen(addr, l, func(base context.Context) httpServer { return s.fastServer(h, base, l) }, wait)
}

// netServer is a net/http server of h. Its write timeout, as fasthttp's,
// counts from the response's first byte, so that a request may wait (the
// revalidate API's wait) longer than a response may take to be sent.
func (s *Shutdown) netServer(h http.Handler, base context.Context, l ConnLimits) *http.Server {
	return &http.Server{
		Handler:           s.closeWhenDraining(writeDeadline(h, l.WriteTimeout)),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
}

// fasthttpServer gives fasthttp's server the Shutdown of httpServer.
type fasthttpServer struct{ *fasthttp.Server }

// Shutdown stops accepting, closes idle connections and waits for the
// others until ctx ends.
func (f fasthttpServer) Shutdown(ctx context.Context) error { return f.ShutdownWithContext(ctx) }

// fastServer is a fasthttp server of h's pages, with net/http's limits
// and answers.
func (s *Shutdown) fastServer(h *Handler, base context.Context, l ConnLimits) fasthttpServer {
	pages := &fastPages{h: h, shutdown: s, base: base}
	return fasthttpServer{&fasthttp.Server{
		Handler:      pages.serve,
		ErrorHandler: fastError,
		// fasthttp needs the whole header in its read buffer; net/http
		// reads up to MaxHeaderBytes plus 4096 bytes before refusing.
		ReadBufferSize: l.readBufferSize(),
		// The read and write buffers go back to their pools between
		// requests, so an idle keep-alive connection holds neither. That
		// needs bodies read whole (fasthttp cannot release the buffer of
		// a streamed body): no page answer reads one, so a body is capped
		// at maxRequestBody and answered 413 beyond it. docs/performance.md
		// has the paired runs this was chosen by.
		ReduceMemoryUsage:  true,
		StreamRequestBody:  false,
		MaxRequestBodySize: maxRequestBody,
		// From the first byte of a request to its last: a page request
		// has no body, so this is net/http's ReadHeaderTimeout.
		ReadTimeout:  l.ReadHeaderTimeout,
		WriteTimeout: l.WriteTimeout,
		IdleTimeout:  l.IdleTimeout,
		// Nor is a multipart form parsed onto disk.
		DisablePreParseMultipartForm: true,
		// Responses are what net/http sends: no Server header, no default
		// Content-Type, Connection: close once stopping.
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		Logger:                fastLogger{log: s.Log.WithName("fasthttp")},
	}}
}

// listen serves what newServer makes on addr until the manager stops, then
// shuts down in the phases of s. The server's requests get a context that
// ends with the drain, not with the stop signal.
func (s *Shutdown) listen(addr string, l ConnLimits, newServer func(base context.Context) httpServer, wait func(context.Context)) manager.Runnable {
	return kube.EveryReplica(func(ctx context.Context) error {
		tcp, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		ln := limitConnections(tcp, l)
		base, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
		defer cancelRequests()
		srv := newServer(base)
		trackCloses(srv, ln)
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
		}
		s.begin()
		sctx, cancel := context.WithTimeout(context.Background(), s.Grace)
		defer cancel()
		err = srv.Shutdown(sctx)
		// A server stopped before it took the listener still returns.
		_ = ln.Close()
		if wait != nil {
			wait(sctx)
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	})
}
