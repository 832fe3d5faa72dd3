//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/storage/s3test"
)

// s3Prefix is the key prefix the chart is given, under which
// <prefix>/pages/sha256/<hex>/ holds each page's objects.
const s3Prefix = "e2e"

// serverAccess and serverSecret are the keys of the store's read-only user,
// which the servers get.
const serverAccess, serverSecret = "isr-server", "isr-server-secret-0123456789"

// objectStorageSpecs move the user's install to an object store with helm
// upgrade (storage.type=s3, a versitygw the test starts), run the manager
// and a server with the chart's flags, ServiceAccounts and Secrets (the
// server's keys only read), follow one page through render, serving, a
// store that hangs, recovery and deletion, and run the core flows of
// pageFlowSpecs there. They run inside "a user's day", after its ConfigMap
// specs.
func objectStorageSpecs() {
	var (
		store     *s3test.Server
		server    *serverProc
		origin    *httptest.Server
		version   atomic.Int64 // the origin's content changes when it moves
		firstBody string
	)
	const pageName, route = "s3-page", "/s3/page"

	// The store and the origin serve the specs below in turn.
	AfterAll(func() {
		if origin != nil {
			origin.Close()
		}
		if store != nil {
			Expect(store.Close()).To(Succeed())
		}
	})

	can := func(sa, verb, resource string, flags ...string) string {
		out, _ := run(kubectlBin, append([]string{"auth", "can-i", verb, resource, "--as=system:serviceaccount:" + namespace + ":" + sa, "-n", "default"}, flags...)...)
		return strings.TrimSpace(out)
	}

	It("moves the manager to an object store with helm upgrade, the servers staying on ConfigMaps", func() {
		var err error
		store, err = s3test.Start(s3test.Options{Bucket: "isr-pages"})
		Expect(err).NotTo(HaveOccurred())

		// One Secret per component, as the chart expects: the manager's
		// holds the store's root keys, the servers' those of a user who
		// may only read and list the prefix, with the policy in docs/security.md.
		Expect(store.AddReader(context.Background(), serverAccess, serverSecret, s3Prefix)).To(Succeed())
		kubectl("create", "secret", "generic", "isr-s3-manager", "-n", namespace,
			"--from-literal=AWS_ACCESS_KEY_ID="+store.AccessKey, "--from-literal=AWS_SECRET_ACCESS_KEY="+store.SecretKey)
		kubectl("create", "secret", "generic", "isr-s3-server", "-n", namespace,
			"--from-literal=AWS_ACCESS_KEY_ID="+serverAccess, "--from-literal=AWS_SECRET_ACCESS_KEY="+serverSecret)
		helm("upgrade", release, chart, "-n", namespace, "--reuse-values",
			"--set", "storage.type=s3",
			"--set", "storage.serverType=configmap",
			"--set", "storage.s3.endpoint="+store.Endpoint,
			"--set", "storage.s3.bucket="+store.Bucket,
			"--set", "storage.s3.prefix="+s3Prefix,
			"--set", "storage.s3.region="+store.Region,
			"--set", "storage.s3.pathStyle=true",
			"--set", "storage.s3.allowHTTP=true",
			"--set", "storage.s3.timeout=2s",
			"--set", "storage.s3.manager.existingSecret=isr-s3-manager",
			"--set", "storage.s3.server.existingSecret=isr-s3-server")

		managerSA, managerArgs := workload("manager")
		serverSA, serverArgs := workload("server")
		for _, verb := range []string{"create", "update", "patch", "delete"} {
			Expect(can(managerSA, verb, "configmaps")).To(Equal("no"), "the manager may %s ConfigMaps in S3 mode", verb)
		}
		Expect(can(managerSA, "watch", "configmaps")).To(Equal("yes"), "the manager still watches page ConfigMaps")
		Expect(can(managerSA, "patch", "staticpages")).To(Equal("yes"), "the manager sets its storage finalizer")
		Expect(can(managerSA, "update", "staticpages", "--subresource=finalizers")).To(Equal("yes"))
		Expect(can(serverSA, "watch", "configmaps")).To(Equal("yes"), "the servers still serve ConfigMaps")
		Expect(serverArgs).To(ContainElement("--storage=configmap"))

		By("replacing the ConfigMap manager, as the rollout replaces its pod")
		stopProcess("manager")
		Expect(managerArgs).To(ContainElements("--storage=s3", "--s3-endpoint="+store.Endpoint, "--s3-bucket="+store.Bucket,
			"--s3-prefix="+s3Prefix, "--s3-allow-http=true", "--s3-path-style=true", "--s3-timeout=2s"))
		managerEnv := containerEnv("manager")
		Expect(managerEnv).To(ContainElements("AWS_ACCESS_KEY_ID="+store.AccessKey, "AWS_SECRET_ACCESS_KEY="+store.SecretKey),
			"the manager's credentials come from its Secret")
		managerProbe := freePort()
		startEnv("manager-s3", append(managerEnv, "KUBECONFIG="+serviceAccountKubeconfig(namespace, managerSA), "POD_NAMESPACE="+namespace),
			filepath.Join(workDir, "manager"),
			append(managerArgs, "--metrics-bind-address=0", fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", managerProbe))...)
		Eventually(func() int {
			code, _, _ := page(fmt.Sprintf("http://127.0.0.1:%d/readyz", managerProbe))
			return code
		}).Should(Equal(http.StatusOK))

		By("publishing the pages it finds missing from the bucket")
		Eventually(func() []string {
			return objectKeys(store, kubectl("get", "staticpage", "about", "-o", "jsonpath={.status.digest}"))
		}).Should(ContainElement(HaveSuffix("/meta.json")))
	})

	It("rolls the servers to the object store with their own credentials and no ConfigMap access", func() {
		helm("upgrade", release, chart, "-n", namespace, "--reuse-values", "--set", "storage.serverType=")
		serverSA, serverArgs := workload("server")
		Expect(can(serverSA, "get", "configmaps")).To(Equal("no"), "the server reads no ConfigMap in S3 mode")
		Expect(serverArgs).To(ContainElements("--storage=s3", "--s3-endpoint="+store.Endpoint, "--s3-bucket="+store.Bucket, "--cache-size=256Mi"))
		serverEnv := containerEnv("server")
		Expect(serverEnv).To(ContainElements("AWS_ACCESS_KEY_ID="+serverAccess, "AWS_SECRET_ACCESS_KEY="+serverSecret),
			"the server's credentials come from its own Secret")
		_, err := store.ClientAs(serverAccess, serverSecret).PutObject(context.Background(), store.Bucket, s3Prefix+"/written-by-the-server",
			strings.NewReader("x"), 1, minio.PutObjectOptions{})
		Expect(minio.ToErrorResponse(err).Code).To(Equal("AccessDenied"), "the server's keys write nothing: %v", err)
		server = startServerEnv("server-s3", append(serverEnv, "KUBECONFIG="+serviceAccountKubeconfig(namespace, serverSA), "POD_NAMESPACE="+namespace), serverArgs)
		Eventually(func() int { c, _, _ := page(server.url + "/about"); return c }).Should(Equal(http.StatusOK), "a page published by the move is served from the bucket")
	})

	It("renders a page into the bucket and serves it from there", func() {
		origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, "<html><body>object storage page, version %d</body></html>\n", version.Load())
		}))
		manifest := fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPage\nmetadata: {name: %s}\nspec:\n  route: %s\n  origin: {url: %q}\n",
			pageName, route, origin.URL+route)
		out, err := runEnv(adminKube, []byte(manifest), kubectlBin, "apply", "-f", "-", "-o", "jsonpath={.metadata.finalizers}")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("pages.isr-operator.io/storage"),
			"the chart's MutatingAdmissionPolicy adds the storage finalizer as the page is created")
		kubectl("wait", "--for=condition=Ready", "staticpage/"+pageName, "--timeout=60s")

		digest := kubectl("get", "staticpage", pageName, "-o", "jsonpath={.status.digest}")
		Expect(objectKeys(store, digest)).To(ContainElement(HaveSuffix("/meta.json")), "the page's manifest is in the bucket")
		Expect(objectKeys(store, digest)).To(ContainElement(HaveSuffix("/identity")))
		Expect(kubectl("get", "staticpage", pageName, "-o", "jsonpath={.metadata.finalizers}")).To(ContainSubstring("pages.isr-operator.io/storage"))
		out, _ = run(kubectlBin, "get", "configmap", "isr-"+pageName, "-n", "default")
		Expect(out).To(ContainSubstring("NotFound"), "no ConfigMap holds the page")

		Eventually(func(g Gomega) {
			code, body, hdr := page(server.url + route)
			g.Expect(code).To(Equal(http.StatusOK))
			g.Expect(body).To(ContainSubstring("version 0"))
			g.Expect(hdr.Get("ETag")).To(ContainSubstring(strings.TrimPrefix(digest, "sha256:")))
		}).Should(Succeed())
		_, firstBody, _ = page(server.url + route)
	})

	// The core flows of one page, as on ConfigMaps, now on the store.
	pageFlowSpecs("S3", func() string { return server.url }, func() string { return server.api })

	It("keeps serving the page while the store hangs, with Ready False for StorageUnavailable, and recovers", func() {
		version.Store(1)
		Expect(store.Pause()).To(Succeed())
		paused := true
		DeferCleanup(func() {
			if paused {
				_ = store.Resume()
			}
		})
		kubectl("annotate", "staticpage", pageName, "isr-operator.io/revalidate=s3-paused", "--overwrite")

		Eventually(func(g Gomega) {
			g.Expect(kubectl("get", "staticpage", pageName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)).To(Equal("False"))
			g.Expect(kubectl("get", "staticpage", pageName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)).To(Equal("StorageUnavailable"))
		}).WithTimeout(60 * time.Second).Should(Succeed())
		report("object store paused: Ready=False (%s)",
			kubectl("get", "staticpage", pageName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`))

		By("serving the last good page from memory meanwhile")
		// The store stays paused throughout: an answer that needed it
		// would be a 503 after the store's timeout, never the page.
		for range 3 {
			code, body, _ := page(server.url + route)
			Expect(code).To(Equal(http.StatusOK), "a held page does not wait on the store")
			Expect(body).To(Equal(firstBody))
		}

		By("recovering once the store answers again")
		Expect(store.Resume()).To(Succeed())
		paused = false
		Eventually(func(g Gomega) {
			g.Expect(kubectl("get", "staticpage", pageName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)).To(Equal("True"))
			g.Expect(kubectl("get", "staticpage", pageName, "-o", "jsonpath={.status.lastHandledRevalidate}")).To(Equal("s3-paused"))
		}).WithTimeout(120 * time.Second).Should(Succeed())
		digest := kubectl("get", "staticpage", pageName, "-o", "jsonpath={.status.digest}")
		Expect(objectKeys(store, digest)).To(ContainElement(HaveSuffix("/meta.json")))
		Eventually(func() string { _, b, _ := page(server.url + route); return b }).Should(ContainSubstring("version 1"))
	})

	It("removes a deleted page's objects from the bucket", func() {
		digest := kubectl("get", "staticpage", pageName, "-o", "jsonpath={.status.digest}")
		Expect(objectKeys(store, digest)).NotTo(BeEmpty())
		kubectl("delete", "staticpage", pageName, "--timeout=60s")
		Eventually(func() []string { return objectKeys(store, digest) }).Should(BeEmpty())
		Eventually(func() int { c, _, _ := page(server.url + route); return c }).Should(Equal(http.StatusNotFound))
	})
}

// objectKeys lists the bucket's objects of one digest.
func objectKeys(store *s3test.Server, digest string) []string {
	hex := strings.TrimPrefix(digest, "sha256:")
	ExpectWithOffset(1, hex).NotTo(BeEmpty(), "no digest")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var keys []string
	for info := range store.Client().ListObjects(ctx, store.Bucket, minio.ListObjectsOptions{
		Prefix: s3Prefix + "/pages/sha256/" + hex + "/", Recursive: true,
	}) {
		ExpectWithOffset(1, info.Err).NotTo(HaveOccurred())
		keys = append(keys, info.Key)
	}
	return keys
}

// containerEnv is the environment the installed container gets from
// Secrets and literal values (secretKeyRef and value entries), as the
// kubelet would set it.
func containerEnv(container string) []string {
	var list struct {
		Items []struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name string `json:"name"`
							Env  []struct {
								Name      string `json:"name"`
								Value     string `json:"value"`
								ValueFrom *struct {
									SecretKeyRef *struct {
										Name string `json:"name"`
										Key  string `json:"key"`
									} `json:"secretKeyRef"`
								} `json:"valueFrom"`
							} `json:"env"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		} `json:"items"`
	}
	Expect(json.Unmarshal([]byte(kubectl("get", "deployments", "-n", namespace, "-o", "json")), &list)).To(Succeed())
	for _, d := range list.Items {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != container {
				continue
			}
			var env []string
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					env = append(env, e.Name+"="+e.Value)
				case e.ValueFrom.SecretKeyRef != nil:
					ref := e.ValueFrom.SecretKeyRef
					enc := kubectl("get", "secret", ref.Name, "-n", namespace, "-o", "jsonpath={.data."+ref.Key+"}")
					v, err := base64.StdEncoding.DecodeString(enc)
					Expect(err).NotTo(HaveOccurred())
					env = append(env, e.Name+"="+string(v))
				}
			}
			return env
		}
	}
	Fail("no container " + container + " in the release")
	return nil
}

// stopProcess interrupts the suite's newest process of that name (an
// earlier one was replaced), as the kubelet stops a replaced pod, and waits
// until it has exited.
func stopProcess(name string) {
	for _, p := range slices.Backward(procs) {
		if p.name != name {
			continue
		}
		p.interrupt()
		return
	}
	Fail("no process " + name)
}
