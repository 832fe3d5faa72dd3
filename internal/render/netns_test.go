package render

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// isolatedEnv marks a test binary run inside the network namespace that
// isolated made for it.
const isolatedEnv = "ISR_RENDER_ISOLATED_NETWORK"

// metadataAddr is the cloud metadata endpoint, which the guard must refuse.
// Tests reach it only inside a network namespace of their own, where it is
// an address of the loopback interface and nothing outside can answer.
const metadataAddr = "169.254.169.254"

// isolatedAddrs are the addresses isolated adds to the loopback interface
// of its namespace, so that a test can listen on them: the metadata
// endpoints the guard refuses, IPv6 forms of metadataAddr, and a
// documentation address (TEST-NET-1) for a site's denied range.
var isolatedAddrs = []string{
	metadataAddr,
	"100.100.100.200",    // Alibaba Cloud metadata
	"192.0.2.10",         // TEST-NET-1, denied by a test's --deny-origin-cidrs
	"fd00:ec2::254",      // AWS metadata over IPv6
	"fd00:c1::a9fe:a9fe", // Oracle Cloud metadata over IPv6
	"64:ff9b::a9fe:a9fe", // NAT64 form of metadataAddr
	"2002:a9fe:a9fe::1",  // 6to4 form of metadataAddr
	"::a9fe:a9fe",        // IPv4-compatible form of metadataAddr
}

// isolated runs t again in a copy of this test binary inside a new network
// namespace (unshare -n, which needs root) whose only interface is the
// loopback one, carrying isolatedAddrs too, and reports that run's result
// in t. It returns true in that copy, where the caller goes on with the
// test; false in the caller, which must then return. A test that cannot
// make the namespace is skipped, except in CI (CI=true), where it fails:
// there it must run.
func isolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == "1" {
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err == nil {
		_, err = exec.LookPath("ip")
	}
	if err == nil && os.Geteuid() != 0 {
		err = os.ErrPermission
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a network namespace is needed (root, unshare(1) and ip(8)): %v", err)
		}
		t.Skipf("needs root, unshare(1) and ip(8) to make a network namespace: %v", err)
	}
	setup := "ip link set lo up"
	for _, a := range isolatedAddrs {
		if strings.Contains(a, ":") {
			setup += " && ip -6 addr add " + a + "/128 dev lo nodad"
		} else {
			setup += " && ip addr add " + a + "/32 dev lo"
		}
	}
	setup += " && exec \"$0\" \"$@\""
	cmd := exec.Command(unshare, "--net", "sh", "-c", setup,
		os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), isolatedEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace of its own:\n%s", out)
	if err != nil {
		t.Fatalf("%s in its network namespace: %v", t.Name(), err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s did not run in its network namespace", t.Name())
	}
	return false
}

// countingListener serves a page on addr and counts the connections made
// to it, so a test sees whether anything reached it at all.
type countingListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// listenCounting serves an HTML page on addr until t ends.
func listenCounting(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<p>credentials</p>"))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l
}
