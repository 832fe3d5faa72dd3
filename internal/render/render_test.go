package render

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// TestFetch runs one fetch per origin answer. Every row but the timeout one
// has a deadline no loaded machine reaches; the timeout row's origin never
// answers, so only its deadline can end it.
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
		case "/forbidden":
			// A body that would pass every other check: only the status
			// says the answer is not the page.
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<h1>forbidden</h1>"))
		case "/throttled":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("<h1>slow down</h1>"))
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
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2000)))
		case "/big-chunked":
			for range 20 {
				_, _ = w.Write([]byte(strings.Repeat("y", 100)))
				w.(http.Flusher).Flush()
			}
		case "/empty":
		case "/silent":
			// Never answers: the fetch ends only by its deadline, which
			// cancels this request.
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	// The test origin is on loopback, which must be allowed explicitly.
	guard, err := NewGuard([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	types, err := ParseContentTypes(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Client: NewClient(ClientOptions{Guard: guard, MaxRedirects: 3}), MaxBodyBytes: 1000, ContentTypes: types}

	tests := []struct {
		path    string
		reason  string
		message string // in the error, when set
		notFnd  bool
		ct      string
		digest  string // sha256 of the body the row's origin sends
		timeout time.Duration
		final   string // the path FinalURL names, "" for none
	}{
		{path: "/ok", ct: "text/html", digest: "sha256:e7fbb6fbbf4ce294913eb62b53ff03a7546649cfdc0d824d9e3a2b4541502f7f"},
		{path: "/nohdr", ct: "text/html; charset=utf-8", digest: "sha256:43f39890ffe94039d7e177450e2483edbff519466b48531c2185e704857db4b5"},
		{path: "/moved", ct: "text/html", digest: "sha256:e7fbb6fbbf4ce294913eb62b53ff03a7546649cfdc0d824d9e3a2b4541502f7f", final: "/ok"},
		{path: "/gone", notFnd: true},
		{path: "/missing", notFnd: true},
		{path: "/boom", reason: v1.ReasonOriginError, message: "500"},
		{path: "/forbidden", reason: v1.ReasonOriginError, message: "403 Forbidden"},
		{path: "/throttled", reason: v1.ReasonOriginError, message: "429 Too Many Requests"},
		{path: "/redirect-loop", reason: v1.ReasonOriginError},
		{path: "/image", reason: v1.ReasonContentTypeRefused},
		{path: "/big-image", reason: v1.ReasonContentTypeRefused},
		{path: "/sniffed-binary", reason: v1.ReasonContentTypeRefused},
		{path: "/big", reason: v1.ReasonBodyTooLarge},
		{path: "/big-chunked", reason: v1.ReasonBodyTooLarge},
		{path: "/empty", reason: v1.ReasonInvalidBody},
		{path: "/silent", reason: v1.ReasonOriginTimeout, timeout: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Hour
			}
			page, err := f.Fetch(context.Background(), srv.URL+tt.path, timeout)
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
				if !oe.Retryable {
					t.Errorf("a %s failure is final; the last good page would be withdrawn", tt.reason)
				}
				if !strings.Contains(err.Error(), tt.message) {
					t.Errorf("err = %v, want it to say %q", err, tt.message)
				}
				if page != nil {
					t.Fatal("a failed fetch returned a page")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if page.ContentType != tt.ct || page.Digest != tt.digest {
					t.Fatalf("page = %q %q, want %q %q", page.ContentType, page.Digest, tt.ct, tt.digest)
				}
				want := ""
				if tt.final != "" {
					want = srv.URL + tt.final
				}
				if page.FinalURL != want {
					t.Fatalf("FinalURL = %q, want %q", page.FinalURL, want)
				}
			}
		})
	}
	if ua, _ := gotUA.Load().(string); !strings.HasPrefix(ua, "isr-operator/") {
		t.Errorf("User-Agent = %q", ua)
	}
}

// TestFetchBodyCap: a body of exactly the cap is a page, with or without a
// Content-Length; one byte more is refused; no cap takes any body.
func TestFetchBodyCap(t *testing.T) {
	const limit = 100
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		n := limit
		if r.URL.Query().Get("over") != "" {
			n++
		}
		body := strings.Repeat("x", n)
		if r.URL.Query().Get("chunked") != "" {
			// Two flushed writes: no Content-Length, only the read cap.
			_, _ = w.Write([]byte(body[:10]))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(body[10:]))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	guard, err := NewGuard([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := NewClient(ClientOptions{Guard: guard})
	for _, tt := range []struct {
		query    string
		maxBytes int64
		tooLarge bool
	}{
		{"", limit, false},
		{"?chunked=1", limit, false},
		{"?over=1", limit, true},
		{"?over=1&chunked=1", limit, true},
		{"?over=1", 0, false},
		{"?over=1&chunked=1", 0, false},
	} {
		f := &Fetcher{Client: client, MaxBodyBytes: tt.maxBytes}
		page, err := f.Fetch(context.Background(), srv.URL+"/"+tt.query, time.Hour)
		var oe *Error
		switch {
		case tt.tooLarge && (!errors.As(err, &oe) || oe.Reason != v1.ReasonBodyTooLarge):
			t.Errorf("%s with a cap of %d: err = %v, want %s", tt.query, tt.maxBytes, err, v1.ReasonBodyTooLarge)
		case !tt.tooLarge && err != nil:
			t.Errorf("%s with a cap of %d: %v", tt.query, tt.maxBytes, err)
		case !tt.tooLarge && len(page.Body) < limit:
			t.Errorf("%s with a cap of %d: %d bytes", tt.query, tt.maxBytes, len(page.Body))
		}
	}
}

func TestFetchUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	guard, _ := NewGuard([]string{"127.0.0.0/8"}, nil)
	_, err := (&Fetcher{Client: NewClient(ClientOptions{Guard: guard})}).Fetch(context.Background(), url, time.Second)
	var oe *Error
	if !errors.As(err, &oe) || oe.Reason != v1.ReasonOriginUnreachable {
		t.Fatalf("err = %v, want Unreachable", err)
	}
}
