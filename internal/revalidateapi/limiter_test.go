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

// TestBucketKey: IPv4 clients are keyed by address, IPv6 ones by their /64.
func TestBucketKey(t *testing.T) {
	for addr, want := range map[string]string{
		"203.0.113.9":             "203.0.113.9",
		"::ffff:203.0.113.9":      "203.0.113.9",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::1":         "2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"fe80::1%eth0":            "fe80::/64",
		"not an address":          "not an address",
		"2001:db8:1:2:ffff::ffff": "2001:db8:1:2::/64",
	} {
		if got := bucketKey(addr); got != want {
			t.Errorf("bucketKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestLimiterKeysIPv6By64: addresses of one IPv6 /64 share a bucket, so a
// client cannot escape its rate by changing the low bits of its address;
// another /64 and IPv4 addresses have their own.
func TestLimiterKeysIPv6By64(t *testing.T) {
	l := &Limiter{Rate: 1, Burst: 2}
	now := time.Unix(1_800_000_000, 0)
	for i, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if _, ok := l.Allow(addr, now); !ok {
			t.Fatalf("call %d from %s refused within the burst", i, addr)
		}
	}
	if _, ok := l.Allow("2001:db8:1:2:aaaa:bbbb:cccc:dddd", now); ok {
		t.Fatal("a third address of the same /64 got a bucket of its own")
	}
	if _, ok := l.Allow("2001:db8:1:3::1", now); !ok {
		t.Fatal("another /64 shares the first's bucket")
	}
	for _, addr := range []string{"203.0.113.1", "203.0.113.2"} {
		if _, ok := l.Allow(addr, now); !ok {
			t.Fatalf("IPv4 %s shares a bucket with a neighbour", addr)
		}
	}
}

// TestGate: no more than Max calls are admitted at once, a release frees
// one place however often it is called, and no cap admits everything.
func TestGate(t *testing.T) {
	g := &Gate{Max: 2}
	r1, ok1 := g.Enter()
	_, ok2 := g.Enter()
	_, ok3 := g.Enter()
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("enter, enter, enter = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if g.InFlight() != 2 {
		t.Fatalf("in flight = %d after a refused entry, want 2", g.InFlight())
	}
	r1()
	r1()
	if g.InFlight() != 1 {
		t.Fatalf("in flight = %d after one call's releases, want 1", g.InFlight())
	}
	if _, ok := g.Enter(); !ok {
		t.Fatal("a released place was not given again")
	}
	var none *Gate
	for range 3 {
		if release, ok := none.Enter(); !ok {
			t.Fatal("a nil gate refused a call")
		} else {
			release()
		}
	}
	if _, ok := (&Gate{}).Enter(); !ok {
		t.Fatal("a gate with no cap refused a call")
	}
}
