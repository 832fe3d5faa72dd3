// Package s3test runs a real S3 server for tests: versitygw with its posix
// backend in a temporary directory, on a free loopback port, with generated
// root credentials, and its internal IAM, so that tests can add users with
// less than root's rights. It can be stopped and started again, or paused and
// resumed, on the same port and data, to show what clients do while the
// store is down. There is no mock here: tests talk S3 to a real server.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BinaryEnv names the environment variable that points at the versitygw
// binary; without it, bin/versitygw at the module root is used.
const BinaryEnv = "ISR_VERSITYGW"

// Region is the region the server reports.
const Region = "us-east-1"

// healthPath is where versitygw answers once it is up.
const healthPath = "/healthz"

// Options configure Start; the zero value is fine.
type Options struct {
	// Binary is the versitygw executable; default $ISR_VERSITYGW, else
	// bin/versitygw found upwards from the working directory.
	Binary string
	// Dir keeps the server's data and log; default a new temporary
	// directory, removed by Close.
	Dir string
	// Bucket is created once the server answers; default "pages".
	Bucket string
	// StartTimeout bounds the wait for the server to answer; default 15s.
	StartTimeout time.Duration
}

// Server is a running (or stopped, or paused) versitygw.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:<port>.
	Endpoint string
	// Bucket is the bucket Start created.
	Bucket string
	// Region is the region the server reports.
	Region string
	// AccessKey and SecretKey are the root credentials the server was given.
	AccessKey, SecretKey string
	// Dir holds the server's log, versitygw.log, its posix backend's
	// root, data/, with one directory per bucket, and its users, iam/.
	Dir string

	binary  string
	addr    string
	logPath string
	ownsDir bool
	timeout time.Duration

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Run starts a server for the test t with Start and closes it when t ends;
// it fails t when the server does not start. With -short it skips t: a
// short run starts no server.
func Run(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	s, err := Start(Options{})
	if err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing versitygw: %v", err)
		}
	})
	return s
}

// Start starts versitygw on a free loopback port with generated root
// credentials (passed through its environment, never its arguments), waits
// until it answers and creates the bucket.
func Start(o Options) (*Server, error) {
	bin, err := findBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Bucket:    o.Bucket,
		Region:    Region,
		AccessKey: "ISR" + randomHex(8),
		SecretKey: randomHex(20),
		Dir:       o.Dir,
		binary:    bin,
		timeout:   o.StartTimeout,
	}
	if s.Bucket == "" {
		s.Bucket = "pages"
	}
	if s.timeout <= 0 {
		s.timeout = 15 * time.Second
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "isr-versitygw-"); err != nil {
			return nil, fmt.Errorf("creating the versitygw directory: %w", err)
		}
		s.ownsDir = true
	}
	s.logPath = filepath.Join(s.Dir, "versitygw.log")
	for _, d := range []string{"data", "iam"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating the versitygw %s directory: %w", d, err)
		}
	}

	// A port found free may be taken before versitygw binds it: try a few.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.Endpoint = "http://" + s.addr
		if err = s.Restart(); err == nil {
			break
		}
		if attempt == 2 {
			_ = s.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("creating bucket %s: %w", s.Bucket, err)
	}
	return s, nil
}

// Restart starts the server again on the same port and data after Stop, and
// waits until it answers. It fails when the server is running.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("versitygw is running")
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the versitygw log: %w", err)
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command(s.binary, "--port", s.addr, "--health", healthPath, "--quiet",
		"--iam-dir", filepath.Join(s.Dir, "iam"), "posix", filepath.Join(s.Dir, "data"))
	cmd.Env = append(os.Environ(),
		"ROOT_ACCESS_KEY_ID="+s.AccessKey,
		"ROOT_SECRET_ACCESS_KEY="+s.SecretKey,
		"VGW_REGION="+s.Region,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that signals meant for the test runner
	// (an interrupted go test) do not reach it, and Stop reaches it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(s.timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("versitygw exited before answering on %s: %s", s.addr, s.logTail())
		default:
		}
		resp, err := client.Get(s.Endpoint + healthPath)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("versitygw did not answer on %s within %s: %s", s.addr, s.timeout, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server, keeping its port and data for Restart; clients get
// "connection refused" meanwhile. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot exit
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	return nil
}

// kill ends the process at once; s.mu is held.
func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP) and returns once every thread of it
// is stopped: connections are accepted by the kernel but never answered, as
// with a store that hangs. Resume undoes it.
func (s *Server) Pause() error {
	return s.signal(syscall.SIGSTOP, true)
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() error {
	return s.signal(syscall.SIGCONT, false)
}

// signal sends sig and waits until the process's threads are all stopped,
// or none is, as stopped says: a signal is delivered after kill returns.
func (s *Server) signal(sig syscall.Signal, stopped bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("versitygw is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signalling versitygw: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		all, none, err := threadsStopped(s.cmd.Process.Pid)
		if err != nil {
			return err
		}
		if (stopped && all) || (!stopped && none) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not take %v within 5s", sig)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// threadsStopped reads the state of every thread of pid from /proc.
func threadsStopped(pid int) (all, none bool, err error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return false, false, fmt.Errorf("reading the threads of versitygw (pid %d) from /proc: %v", pid, err)
	}
	all, none = true, true
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		// "pid (comm) S ...": the state follows the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			return false, false, fmt.Errorf("unexpected %s: %q", f, b)
		}
		if st := b[i+2]; st == 'T' || st == 't' {
			none = false
		} else {
			all = false
		}
	}
	return all, none, nil
}

// Close stops the server and removes its directory, if Start created it.
func (s *Server) Close() error {
	err := s.Stop()
	if s.ownsDir {
		err = errors.Join(err, os.RemoveAll(s.Dir))
	}
	return err
}

// Env is the environment a client process needs to reach the server with
// the standard credential chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_REGION.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
	}
}

// ExportEnv sets Env in this process, for clients that read the standard
// credential chain in-process, and returns what puts the environment back
// as it was (a suite's cleanup, where no testing.TB is at hand).
func (s *Server) ExportEnv() (restore func()) {
	var undo []func()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		prev, had := os.LookupEnv(k)
		_ = os.Setenv(k, v)
		undo = append(undo, func() {
			if had {
				_ = os.Setenv(k, prev)
			} else {
				_ = os.Unsetenv(k)
			}
		})
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// SetEnv sets Env in this process for the duration of t, for clients that
// read the standard credential chain in-process.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_REGION", s.Region)
}

// Client is a root client of the server, for tests to arrange and inspect
// the bucket behind the code under test.
func (s *Server) Client() *minio.Client { return s.ClientAs(s.AccessKey, s.SecretKey) }

// AddReader adds a user with the given keys who may only read the
// bucket's objects under prefix and list them, with the bucket policy
// docs/security.md gives a server: s3:GetObject on <bucket>/<prefix>/*, and
// s3:ListBucket on the bucket for keys under <prefix>/. Any other request
// of the user's is denied. It replaces the bucket's policy.
func (s *Server) AddReader(ctx context.Context, access, secret, prefix string) error {
	if err := s.createUser(ctx, access, secret); err != nil {
		return err
	}
	policy := fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": [%[1]q]}, "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::%[2]s/%[3]s/*"]},
  {"Effect": "Allow", "Principal": {"AWS": [%[1]q]}, "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::%[2]s"],
   "Condition": {"StringLike": {"s3:prefix": [%[4]q]}}}
]}`, access, s.Bucket, prefix, prefix+"/*")
	return s.setPolicy(ctx, policy)
}

// AddWriter adds a user with the given keys who may read, write, delete
// and list the bucket's objects under prefix, as the manager's policy
// allows, except that the server refuses (403 AccessDenied, by an explicit
// Deny) every write of the objects named in refused, keys relative to the
// bucket: a store that fails one write among several. It replaces the
// bucket's policy.
func (s *Server) AddWriter(ctx context.Context, access, secret, prefix string, refused ...string) error {
	if err := s.createUser(ctx, access, secret); err != nil {
		return err
	}
	policy := fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": [%[1]q]}, "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::%[2]s/%[3]s/*"]},
  {"Effect": "Allow", "Principal": {"AWS": [%[1]q]}, "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::%[2]s"],
   "Condition": {"StringLike": {"s3:prefix": [%[4]q]}}}`, access, s.Bucket, prefix, prefix+"/*")
	if len(refused) > 0 {
		resources := make([]string, len(refused))
		for i, k := range refused {
			resources[i] = strconv.Quote("arn:aws:s3:::" + s.Bucket + "/" + k)
		}
		policy += fmt.Sprintf(`,
  {"Effect": "Deny", "Principal": {"AWS": [%q]}, "Action": ["s3:PutObject"], "Resource": [%s]}`, access, strings.Join(resources, ", "))
	}
	return s.setPolicy(ctx, policy+"\n]}")
}

// createUser adds a user with the given keys and no rights of its own:
// what it may do is what the bucket policy grants it.
func (s *Server) createUser(ctx context.Context, access, secret string) error {
	cmd := exec.CommandContext(ctx, s.binary, "admin", "--endpoint-url", s.Endpoint,
		"create-user", "--access", access, "--secret", secret, "--role", "user")
	// The root keys go through the environment, as for the server itself.
	cmd.Env = append(os.Environ(), "ADMIN_ACCESS_KEY_ID="+s.AccessKey, "ADMIN_SECRET_ACCESS_KEY="+s.SecretKey, "ADMIN_REGION="+s.Region)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("creating user %s: %w: %s", access, err, bytes.TrimSpace(out))
	}
	return nil
}

// setPolicy replaces the bucket's policy.
func (s *Server) setPolicy(ctx context.Context, policy string) error {
	if err := s.Client().SetBucketPolicy(ctx, s.Bucket, policy); err != nil {
		return fmt.Errorf("setting the policy of bucket %s: %w", s.Bucket, err)
	}
	return nil
}

// ClientAs is a client of the server with the given keys.
func (s *Server) ClientAs(access, secret string) *minio.Client {
	c, err := minio.New(s.addr, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, ""),
		Region:       s.Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		panic(fmt.Sprintf("s3test: building a client of %s: %v", s.addr, err)) // only on a malformed address
	}
	return c
}

// RemoveBucket removes the bucket with everything in it.
func (s *Server) RemoveBucket(ctx context.Context) error {
	c := s.Client()
	for info := range c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if info.Err != nil {
			return fmt.Errorf("listing bucket %s: %w", s.Bucket, info.Err)
		}
		if err := c.RemoveObject(ctx, s.Bucket, info.Key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("removing %s: %w", info.Key, err)
		}
	}
	if err := c.RemoveBucket(ctx, s.Bucket); err != nil {
		return fmt.Errorf("removing bucket %s: %w", s.Bucket, err)
	}
	return nil
}

// logTail is the end of the server's log, for errors.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(b) == 0 {
		return "(empty log)"
	}
	return "log: " + string(b)
}

// findBinary is the versitygw to run: explicit, $ISR_VERSITYGW, or
// bin/versitygw in the nearest directory upwards with a go.mod.
func findBinary(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv(BinaryEnv)
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("versitygw binary: %w", err)
		}
		return explicit, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding versitygw: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, "bin", "versitygw")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("no versitygw at %s (run `make tools` or hack/build-tools.sh versitygw, or set %s): %w", bin, BinaryEnv, err)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory to find bin/versitygw in; set %s", BinaryEnv)
		}
		dir = parent
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
