// Command bench-idle-conns measures what idle keep-alive connections cost a
// fasthttp server in resident memory, for the page port's choice of buffer
// settings: it starts a server in a child process with one arm's settings,
// opens -conns connections that each make one request and then stay open,
// and prints the child's RSS before and after. Arms:
//
//   - stream: the read buffer held for the connection's life
//     (StreamRequestBody on, ReduceMemoryUsage off);
//   - stream-reduce: ReduceMemoryUsage with StreamRequestBody on, which
//     releases the write buffer but not the read buffer;
//   - reduce: ReduceMemoryUsage with StreamRequestBody off (what the page
//     port uses), which releases both between requests.
//
// Run arms in alternating pairs: go run ./hack/bench-idle-conns -arm stream.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/isr-operator/isr-operator/hack/internal/idleconns"
)

func main() {
	arm := flag.String("arm", "reduce", "buffer settings: stream, stream-reduce or reduce")
	conns := flag.Int("conns", 5000, "idle keep-alive connections to open")
	serve := flag.String("serve", "", "run as the server, on this address (used by the parent)")
	flag.Parse()
	if *serve != "" {
		if err := runServer(*serve, *arm); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := measure(*arm, *conns); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// runServer serves a 2,000-byte answer with the arm's settings and the page
// port's header limit (16 KiB plus 4 KiB of slack).
func runServer(addr, arm string) error {
	body := strings.Repeat("x", 2000)
	s := &fasthttp.Server{
		Handler:                      func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(body) },
		ReadBufferSize:               (16 << 10) + 4096,
		ReadTimeout:                  10 * time.Second,
		IdleTimeout:                  10 * time.Minute,
		WriteTimeout:                 time.Minute,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
	}
	switch arm {
	case "stream":
		s.StreamRequestBody = true
	case "stream-reduce":
		s.StreamRequestBody, s.ReduceMemoryUsage = true, true
	case "reduce":
		s.ReduceMemoryUsage, s.MaxRequestBodySize = true, 64<<10
	default:
		return fmt.Errorf("unknown arm %q", arm)
	}
	return s.ListenAndServe(addr)
}

// measure runs the server, then opens the connections, and prints its RSS.
func measure(arm string, n int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-serve", addr, "-arm", arm)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	idle := rss(cmd.Process.Pid)
	open, err := idleconns.Open(addr, "/p", n)
	if err != nil {
		return err
	}
	defer open.Close()
	// Let the server settle after the last answer.
	time.Sleep(3 * time.Second)
	fmt.Printf("arm=%s conns=%d rss_before=%s rss_with_conns=%s\n", arm, n, idle, rss(cmd.Process.Pid))
	return nil
}

// rss is a process's VmRSS as /proc shows it.
func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
