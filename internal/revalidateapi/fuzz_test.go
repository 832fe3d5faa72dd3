package revalidateapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/isr-operator/isr-operator/internal/route"
)

// FuzzParseRequest feeds arbitrary bodies to the parser: it must never
// panic, and whatever it accepts must hold to its own rules.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"paths": ["/a", "/b/c"], "host": "shop.example.com"}`,
		`{"selector": "shop=products,tier in (a,b)", "namespace": "shop"}`,
		`{"names": ["home"], "namespace": "default", "wait": true, "timeout": "5s"}`,
		`{"paths": ["/a/../b"]}`,
		`{"paths": ["/a"]} {"paths": ["/b"]}`,
		`{"selector": "!!"}`,
		`[]`, `null`, `{}`, ``,
		`{"paths": ["/a"]}]`,
		`{"paths": ["/caf%C3%A9", "/%2e%2e/x"], "host": "Shop.Example.com.:8443"}`,
		`{"selector": "a=b", "host": "x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseRequest(body)
		if err != nil {
			if p != nil {
				t.Fatal("an error came with a request")
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not one JSON value: %q", body)
		}
		if len(p.Paths) == 0 && firstSelector(p) == nil && len(p.Names) == 0 {
			t.Fatalf("accepted a request naming no page: %q", body)
		}
		if len(p.routes) != len(p.Paths) {
			t.Fatalf("%d paths decoded into %d routes", len(p.Paths), len(p.routes))
		}
		for i, path := range p.Paths {
			// Both what was sent and the route it names must be a route a
			// page can have.
			for _, r := range []string{path, p.routes[i]} {
				if !strings.HasPrefix(r, "/") || strings.ContainsAny(r, "?#") || len(r) > maxPathLength ||
					strings.ContainsFunc(r, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
					t.Fatalf("accepted path %q (route %q)", path, p.routes[i])
				}
				for seg := range strings.SplitSeq(r, "/") {
					if seg == ".." || seg == "." {
						t.Fatalf("accepted path %q (route %q)", path, p.routes[i])
					}
				}
			}
			if want, err := route.RequestPath(path); err != nil || want != p.routes[i] {
				t.Fatalf("path %q decoded to %q, the server routes it to %q (%v)", path, p.routes[i], want, err)
			}
		}
		if p.Host != "" && (len(p.Paths) == 0 || p.host != route.NormalizeHost(p.Host)) {
			t.Fatalf("host %q accepted as %q with %d paths", p.Host, p.host, len(p.Paths))
		}
		if p.Namespace != "" && len(validation.IsDNS1123Label(p.Namespace)) > 0 {
			t.Fatalf("accepted namespace %q", p.Namespace)
		}
		for _, n := range p.Names {
			if len(validation.IsDNS1123Subdomain(n)) > 0 {
				t.Fatalf("accepted name %q", n)
			}
		}
		if len(p.Names) > 0 && p.Namespace == "" {
			t.Fatalf("accepted names without a namespace: %q", body)
		}
		if firstSelector(p) != nil && firstSelector(p).Empty() {
			t.Fatalf("accepted a selector matching everything: %q", body)
		}
		if p.timeout <= 0 || p.timeout > maxTimeout {
			t.Fatalf("accepted timeout %s", p.timeout)
		}
		// What was accepted means the same once re-encoded: nothing in the
		// body was silently dropped or reinterpreted.
		again, err := json.Marshal(p.Request)
		if err != nil {
			t.Fatal(err)
		}
		q, err := parseRequest(again)
		if err != nil {
			t.Fatalf("%q accepted, its re-encoding %q refused: %v", body, again, err)
		}
		if strings.Join(q.routes, "\x00") != strings.Join(p.routes, "\x00") || q.host != p.host || q.timeout != p.timeout ||
			(firstSelector(q) == nil) != (firstSelector(p) == nil) || (firstSelector(p) != nil && firstSelector(q).String() != firstSelector(p).String()) {
			t.Fatalf("%q and its re-encoding %q parse differently", body, again)
		}
	})
}

// FuzzVerify signs a body, then checks that Verify accepts it, a replay
// store accepts it once (whatever the spelling of its hex), and Verify
// refuses any change to the body, the timestamp or the signature.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"paths":["/"]}`), "secret", int64(0), []byte("x"), "sha256=00")
	f.Add([]byte(""), "k", int64(-400), []byte(""), "")
	f.Add([]byte(`{"selector":"a=b"}`), "another-secret", int64(299), []byte(`{"selector":"a=c"}`), "Bearer secret")
	f.Fuzz(func(t *testing.T, body []byte, secret string, skew int64, other []byte, header string) {
		if secret == "" {
			return
		}
		now := time.Unix(1_800_000_000, 0)
		creds := Credentials{HMACSecret: []byte(secret), Token: []byte(secret)}
		v := &Verifier{Window: 5 * time.Minute}
		ts := strconv.FormatInt(now.Unix()+skew, 10)
		h := http.Header{}
		h.Set(TimestampHeader, ts)
		h.Set(SignatureHeader, "sha256="+hex.EncodeToString(Sign([]byte(secret), ts, body)))

		inWindow := skew >= -300 && skew <= 300
		replays := &MemoryReplays{}
		// accepted is a whole check: verified, then claimed once.
		accepted := func(h http.Header) bool {
			sig, err := v.Verify(creds, h, body, now)
			return err == nil && sig != nil && replays.Claim(context.Background(), string(sig.MAC), sig.Expires) == nil
		}
		ok := accepted(h)
		if inWindow != ok {
			t.Fatalf("skew %ds: accepted = %v", skew, ok)
		}
		if ok && accepted(h) {
			t.Fatal("a replayed signature was accepted")
		}
		// The same MAC spelt in upper case is the same signature.
		respelt := http.Header{}
		respelt.Set(TimestampHeader, ts)
		respelt.Set(SignatureHeader, "sha256="+strings.ToUpper(hex.EncodeToString(Sign([]byte(secret), ts, body))))
		if ok && accepted(respelt) {
			t.Fatal("a replayed signature was accepted in upper-case hex")
		}
		// A body or timestamp changed after signing is refused.
		if ts2 := strconv.FormatInt(now.Unix()+skew+1, 10); inWindow {
			moved := http.Header{}
			moved.Set(TimestampHeader, ts2)
			moved.Set(SignatureHeader, h.Get(SignatureHeader))
			if verified(&Verifier{Window: 5 * time.Minute}, creds, moved, body, now) {
				t.Fatalf("a signature made at %s was accepted at %s", ts, ts2)
			}
		}
		if string(other) != string(body) && verified(&Verifier{Window: 5 * time.Minute}, creds, h, other, now) {
			t.Fatalf("a signature of %q was accepted for %q", body, other)
		}
		// Any other header value must fail, whatever it holds (hex is
		// case-insensitive, so only a re-spelling of the MAC may pass).
		forged := http.Header{}
		forged.Set(TimestampHeader, ts)
		forged.Set(SignatureHeader, header)
		if !strings.EqualFold(header, h.Get(SignatureHeader)) && verified(&Verifier{Window: 5 * time.Minute}, creds, forged, body, now) {
			t.Fatalf("forged signature %q was accepted", header)
		}
		bearer := http.Header{}
		bearer.Set("Authorization", header)
		ok = verified(&Verifier{}, creds, bearer, body, now)
		// The scheme is case-insensitive (RFC 9110); the token is not.
		scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
		if want := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) == secret; ok != want {
			t.Fatalf("Authorization %q: accepted = %v", header, ok)
		}
	})
}

// verified is true when v accepts the credentials in h.
func verified(v *Verifier, creds Credentials, h http.Header, body []byte, now time.Time) bool {
	_, err := v.Verify(creds, h, body, now)
	return err == nil
}

// firstSelector is a request's selector, nil without one.
func firstSelector(p *parsed) labels.Selector {
	if len(p.selectors) == 0 {
		return nil
	}
	return p.selectors[0]
}
