//go:build e2e

// Package e2e drives isr-operator the way users do: helm, kubectl and the
// real manager and server binaries against a real API server with RBAC,
// each binary authenticated as its chart ServiceAccount.
package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var (
	root       string // repository root
	workDir    string // binaries, kubeconfigs, logs
	kubectlBin string
	helmBin    string
	adminKube  string // admin kubeconfig
	originURL  string // the demo origin, as the samples name it
	testEnv    *envtest.Environment
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "isr-operator e2e")
}

var _ = BeforeSuite(func() {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	kubectlBin = filepath.Join(root, "bin", "k8s", "kubectl")
	helmBin = filepath.Join(root, "bin", "helm")
	for _, b := range []string{kubectlBin, helmBin, filepath.Join(root, "bin", "k8s", "kube-apiserver")} {
		Expect(b).To(BeAnExistingFile(), "run 'make tools' first")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Expect(os.Setenv("KUBEBUILDER_ASSETS", filepath.Join(root, "bin", "k8s"))).To(Succeed())
	}
	workDir = GinkgoT().TempDir()

	By("building the manager, the server and the demo origin")
	for _, pkg := range []string{"cmd/manager", "cmd/server", "hack/demo-origin"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(workDir, filepath.Base(pkg)), "./"+pkg)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
	}

	By("starting a control plane with RBAC and no CRDs: helm installs them")
	testEnv = &envtest.Environment{}
	// envtest turns the ServiceAccount admission plugin off; on, as in a
	// cluster, it mounts each pod's token into its containers, which the
	// sidecar spec checks.
	testEnv.ControlPlane.GetAPIServer().Configure().Disable("disable-admission-plugins")
	_, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	admin, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	adminKube = filepath.Join(workDir, "admin.kubeconfig")
	Expect(os.WriteFile(adminKube, cfg, 0o600)).To(Succeed())

	By("starting the demo origin")
	port := freePort()
	originURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	start("origin", filepath.Join(workDir, "demo-origin"), "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	Eventually(func() error { return get(originURL + "/") }).WithTimeout(10 * time.Second).Should(Succeed())
})

var _ = AfterSuite(func() {
	stopAll()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// run runs a command as the admin and returns its combined output.
func run(name string, args ...string) (string, error) {
	return runEnv(adminKube, nil, name, args...)
}

// runEnv runs a command with KUBECONFIG set to kubeconfig and stdin.
func runEnv(kubeconfig string, stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CACHE_HOME="+filepath.Join(workDir, "helm-cache"),
		"HELM_CONFIG_HOME="+filepath.Join(workDir, "helm-config"), "HELM_DATA_HOME="+filepath.Join(workDir, "helm-data"))
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	_, _ = fmt.Fprintf(GinkgoWriter, "$ %s %s\n%s\n", filepath.Base(name), strings.Join(args, " "), out)
	return string(out), err
}

func kubectl(args ...string) string {
	out, err := run(kubectlBin, args...)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), out)
	return out
}

func helm(args ...string) string {
	out, err := run(helmBin, args...)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), out)
	return out
}

// proc is a long-lived process the suite started.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
}

// procs run until the suite ends, whichever spec started them.
var procs []*proc

// start runs a long-lived process until the suite ends, logging to workDir.
func start(name, bin string, args ...string) *exec.Cmd {
	return startEnv(name, nil, bin, args...)
}

func startEnv(name string, env []string, bin string, args ...string) *exec.Cmd {
	logf, err := os.Create(filepath.Join(workDir, name+".log"))
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	Expect(cmd.Start()).To(Succeed())
	procs = append(procs, &proc{name: name, cmd: cmd, log: logf})
	return cmd
}

// interrupt stops p as the kubelet stops a pod, SIGKILL after 20s, and
// waits for it.
func (p *proc) interrupt() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// stopAll interrupts every process, newest first, and waits for it.
func stopAll() {
	for _, p := range slices.Backward(procs) {

		p.interrupt()
		_ = p.log.Close()
	}
	procs = nil
}

// When a spec fails, the processes' logs say why.
var _ = AfterEach(func() {
	if !CurrentSpecReport().Failed() {
		return
	}
	for _, p := range procs {
		b, _ := os.ReadFile(p.log.Name())
		if len(b) > 8192 {
			b = b[len(b)-8192:]
		}
		_, _ = fmt.Fprintf(GinkgoWriter, "--- %s log (tail) ---\n%s\n", p.name, b)
	}
})

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	return nil
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates with a
// token of the given ServiceAccount, as a pod running as it would.
func serviceAccountKubeconfig(namespace, sa string) string {
	token := strings.TrimSpace(kubectl("create", "token", sa, "-n", namespace, "--duration=2h"))
	path := filepath.Join(workDir, sa+".kubeconfig")
	data, err := os.ReadFile(adminKube)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	for _, args := range [][]string{
		{"config", "set-credentials", sa, "--token=" + token},
		{"config", "set-context", sa, "--cluster=envtest", "--user=" + sa},
		{"config", "use-context", sa},
	} {
		out, err := runEnv(path, nil, kubectlBin, args...)
		Expect(err).NotTo(HaveOccurred(), out)
	}
	return path
}
