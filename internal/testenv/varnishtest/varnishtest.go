// Package varnishtest runs a real Varnish for tests: Debian's varnishd with
// the xkey module (varnish-modules), the VCL of hack/varnish/default.vcl
// pointed at a test's backend, on a free loopback port, in a temporary
// working directory. hack/varnish/install.sh installs both packages.
package varnishtest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// BinaryEnv names the environment variable that points at varnishd;
// without it, /usr/sbin/varnishd is used.
const BinaryEnv = "ISR_VARNISHD"

// Varnish is a running varnishd.
type Varnish struct {
	// URL is its base URL, http://127.0.0.1:PORT.
	URL string
	cmd *exec.Cmd
	log *os.File
}

// TB is what Start needs of a test: testing.TB and Ginkgo's
// GinkgoT() both are.
type TB interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Start runs varnishd in front of backend (host:port) until the test ends.
// It skips the test when varnishd or the xkey module is not installed.
func Start(t TB, backend string) *Varnish {
	t.Helper()
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		bin = "/usr/sbin/varnishd"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no varnishd (run hack/varnish/install.sh): %v", err)
	}
	vcl, err := VCL(backend)
	if err != nil {
		t.Fatalf("%v", err)
	}
	dir := t.TempDir()
	vclPath := filepath.Join(dir, "default.vcl")
	if err := os.WriteFile(vclPath, []byte(vcl), 0o644); err != nil {
		t.Fatalf("writing the VCL: %v", err)
	}
	if out, err := exec.Command(bin, "-j", "none", "-C", "-n", filepath.Join(dir, "check"), "-f", vclPath).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "xkey") {
			t.Skipf("no xkey module (run hack/varnish/install.sh): %s", lastLine(out))
		}
		t.Fatalf("the VCL does not compile: %v: %s", err, lastLine(out))
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("%v", err)
	}
	log, err := os.Create(filepath.Join(dir, "varnishd.log"))
	if err != nil {
		t.Fatalf("%v", err)
	}
	// -j none runs as the current user (no jail); -F stays in the
	// foreground, so the test owns the process.
	cmd := exec.Command(bin, "-j", "none", "-F", "-n", filepath.Join(dir, "work"),
		"-a", "127.0.0.1:"+strconv.Itoa(port), "-f", vclPath, "-s", "malloc,64m", "-T", "none")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting varnishd: %v", err)
	}
	v := &Varnish{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, log: log}
	t.Cleanup(v.stop)
	if err := v.waitUp(30 * time.Second); err != nil {
		b, _ := os.ReadFile(log.Name())
		t.Fatalf("%v; varnishd log: %s", err, b)
	}
	return v
}

// VCL is hack/varnish/default.vcl with its backend set to backend.
func VCL(backend string) (string, error) {
	host, port, err := net.SplitHostPort(backend)
	if err != nil {
		return "", fmt.Errorf("backend %q: %w", backend, err)
	}
	path, err := vclFile()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the VCL: %w", err)
	}
	vcl := strings.Replace(string(b), `.host = "127.0.0.1";`, `.host = "`+host+`";`, 1)
	vcl = strings.Replace(vcl, `.port = "8000";`, `.port = "`+port+`";`, 1)
	return vcl, nil
}

// vclFile is hack/varnish/default.vcl in the nearest directory upwards with
// a go.mod.
func vclFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "hack", "varnish", "default.vcl"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory to find hack/varnish/default.vcl in")
		}
		dir = parent
	}
}

// waitUp waits until varnishd answers.
func (v *Varnish) waitUp(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(v.URL + "/.varnish-up")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("varnishd did not answer on %s: %w", v.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (v *Varnish) stop() {
	_ = v.cmd.Process.Kill()
	_ = v.cmd.Wait()
	_ = v.log.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
