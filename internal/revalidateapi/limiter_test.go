package revalidateapi

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7", "::ffff:172.16.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote string
		xff          []string
		proxies      Proxies
		want         string
	}{
		{"no trusted proxies: XFF ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"untrusted peer: XFF ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, proxies, "203.0.113.9"},
		{"trusted peer: the client it saw", "10.1.2.3:5000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"forged left part not believed", "10.1.2.3:5000", []string{"6.6.6.6, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"a chain of trusted proxies", "10.1.2.3:5000", []string{"198.51.100.1, 192.0.2.7", "10.0.0.5"}, proxies, "198.51.100.1"},
		{"every hop trusted: the leftmost", "10.1.2.3:5000", []string{"10.0.0.9, 10.0.0.5"}, proxies, "10.0.0.9"},
		{"trusted peer without XFF", "10.1.2.3:5000", nil, proxies, "10.1.2.3"},
		{"IPv4-mapped proxy entry", "172.16.0.1:5000", []string{"198.51.100.3"}, proxies, "198.51.100.3"},
		{"empty items skipped", "10.1.2.3:5000", []string{"198.51.100.4, ,"}, proxies, "198.51.100.4"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/revalidate", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.proxies.ClientAddr(r); got != c.want {
			t.Errorf("%s: ClientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseProxiesRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/", ""} {
		if _, err := ParseProxies([]string{bad}); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := &Limiter{Rate: 1, Burst: 2}
	now := time.Unix(1_800_000_000, 0)
	for i, want := range []bool{true, true, false} {
		if _, ok := l.Allow("a", now); ok != want {
			t.Fatalf("call %d: allowed = %v", i, ok)
		}
	}
	if wait, ok := l.Allow("a", now); ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the rate: wait %s, allowed %v", wait, ok)
	}
	if _, ok := l.Allow("b", now); !ok {
		t.Fatal("another client shares the first's bucket")
	}
	if _, ok := l.Allow("a", now.Add(time.Second)); !ok {
		t.Fatal("the bucket did not refill")
	}
}
