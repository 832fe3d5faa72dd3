package render

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
)

func TestFetch(t *testing.T) {
	// Written by handlers still running after a timed-out fetch.
	var gotUA atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA.Store(r.UserAgent())
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<h1>hi</h1>"))
		case "/nohdr":
			_, _ = w.Write([]byte("<!doctype html><p>x"))
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/missing":
			http.NotFound(w, r)
		case "/boom":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/image":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte("\x89PNG"))
		case "/big-image":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte(strings.Repeat("z", 2000)))
		case "/sniffed-binary":
			_, _ = w.Write([]byte("\x00\x01\x02binary"))
		case "/redirect-loop":
			http.Redirect(w, r, "/redirect-loop", http.StatusFound)
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2000)))
		case "/big-chunked":
			for range 20 {
				_, _ = w.Write([]byte(strings.Repeat("y", 100)))
				w.(http.Flusher).Flush()
			}
		case "/empty":
		case "/slow":
			time.Sleep(300 * time.Millisecond)
			_, _ = w.Write([]byte("late"))
		}
	}))
	defer srv.Close()
	// The test origin is on loopback, which must be allowed explicitly.
	guard, err := NewGuard([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	types, err := ParseContentTypes(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Client: NewClient(ClientOptions{Guard: guard, MaxRedirects: 3}), MaxBodyBytes: 1000, ContentTypes: types}

	tests := []struct {
		path   string
		reason string
		notFnd bool
		ct     string
	}{
		{path: "/ok", ct: "text/html"},
		{path: "/nohdr", ct: "text/html; charset=utf-8"},
		{path: "/gone", notFnd: true},
		{path: "/missing", notFnd: true},
		{path: "/boom", reason: v1.ReasonOriginError},
		{path: "/redirect-loop", reason: v1.ReasonOriginError},
		{path: "/image", reason: v1.ReasonContentTypeRefused},
		{path: "/big-image", reason: v1.ReasonContentTypeRefused},
		{path: "/sniffed-binary", reason: v1.ReasonContentTypeRefused},
		{path: "/big", reason: v1.ReasonBodyTooLarge},
		{path: "/big-chunked", reason: v1.ReasonBodyTooLarge},
		{path: "/empty", reason: v1.ReasonInvalidBody},
		{path: "/slow", reason: v1.ReasonOriginTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			page, err := f.Fetch(context.Background(), srv.URL+tt.path, 100*time.Millisecond)
			switch {
			case tt.notFnd:
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
			case tt.reason != "":
				var oe *Error
				if !errors.As(err, &oe) || oe.Reason != tt.reason {
					t.Fatalf("err = %v, want reason %s", err, tt.reason)
				}
				if page != nil {
					t.Fatal("a failed fetch returned a page")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if page.ContentType != tt.ct || page.Digest != digest.Of(page.Body) || !digest.Valid(page.Digest) {
					t.Fatalf("page = %q %q", page.ContentType, page.Digest)
				}
			}
		})
	}
	if ua, _ := gotUA.Load().(string); !strings.HasPrefix(ua, "isr-operator/") {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestFetchUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	guard, _ := NewGuard([]string{"127.0.0.0/8"})
	_, err := (&Fetcher{Client: NewClient(ClientOptions{Guard: guard})}).Fetch(context.Background(), url, time.Second)
	var oe *Error
	if !errors.As(err, &oe) || oe.Reason != v1.ReasonOriginUnreachable {
		t.Fatalf("err = %v, want Unreachable", err)
	}
}
