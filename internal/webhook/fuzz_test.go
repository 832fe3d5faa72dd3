package webhook

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
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
		if len(p.Paths) == 0 && p.selector == nil && len(p.Names) == 0 {
			t.Fatalf("accepted a request naming no page: %q", body)
		}
		for _, path := range p.Paths {
			if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
				t.Fatalf("accepted path %q", path)
			}
			for _, seg := range strings.Split(path, "/") {
				if seg == ".." || seg == "." {
					t.Fatalf("accepted path %q", path)
				}
			}
		}
		if len(p.Names) > 0 && p.Namespace == "" {
			t.Fatalf("accepted names without a namespace: %q", body)
		}
		if p.selector != nil && p.selector.Empty() {
			t.Fatalf("accepted a selector matching everything: %q", body)
		}
		if p.timeout <= 0 || p.timeout > maxTimeout {
			t.Fatalf("accepted timeout %s", p.timeout)
		}
	})
}

// FuzzVerify signs a body, then checks that Verify accepts it once and
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
		err := v.Verify(creds, h, body, now)
		if inWindow != (err == nil) {
			t.Fatalf("skew %ds: err = %v", skew, err)
		}
		if err == nil && v.Verify(creds, h, body, now) == nil {
			t.Fatal("a replayed signature was accepted")
		}
		if string(other) != string(body) && (&Verifier{Window: 5 * time.Minute}).Verify(creds, h, other, now) == nil {
			t.Fatalf("a signature of %q was accepted for %q", body, other)
		}
		// Any other header value must fail, whatever it holds.
		forged := http.Header{}
		forged.Set(TimestampHeader, ts)
		forged.Set(SignatureHeader, header)
		if header != h.Get(SignatureHeader) && (&Verifier{Window: 5 * time.Minute}).Verify(creds, forged, body, now) == nil {
			t.Fatalf("forged signature %q was accepted", header)
		}
		bearer := http.Header{}
		bearer.Set("Authorization", header)
		ok := (&Verifier{}).Verify(creds, bearer, body, now) == nil
		if ok != (strings.TrimSpace(strings.TrimPrefix(header, "Bearer ")) == secret && strings.HasPrefix(header, "Bearer ")) {
			t.Fatalf("Authorization %q: accepted = %v", header, ok)
		}
	})
}
