package policy

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/storage"
)

var _ = Describe("the server's ServiceAccount", func() {
	var page *pagesv1alpha1.StaticPage

	BeforeEach(func() {
		page = newPage(uniqueName("page"))
		Expect(admin.Create(ctx, page)).To(Succeed())
	})

	// unchanged proves a refused request changed nothing.
	unchanged := func() {
		GinkgoHelper()
		got := &pagesv1alpha1.StaticPage{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(page), got)).To(Succeed())
		Expect(got.Spec).To(Equal(page.Spec))
		Expect(got.Labels).To(Equal(page.Labels))
		Expect(got.Annotations).To(Equal(page.Annotations))
		Expect(got.Finalizers).To(BeEmpty())
		Expect(got.OwnerReferences).To(BeEmpty())
	}

	It("may set the revalidate annotation of a StaticPage", func() {
		Expect(server.Patch(ctx, page, mergePatch(`{"metadata":{"annotations":{"isr-operator.io/revalidate":"1763900000"}}}`))).To(Succeed())
		got := &pagesv1alpha1.StaticPage{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(page), got)).To(Succeed())
		Expect(got.Annotations).To(HaveKeyWithValue(pagesv1alpha1.RevalidateAnnotation, "1763900000"))
		Expect(got.Annotations).To(HaveKeyWithValue("team", "web"), "the user's annotation stays")

		By("setting it again, to a new value, as every revalidation does")
		Expect(server.Patch(ctx, page, mergePatch(`{"metadata":{"annotations":{"isr-operator.io/revalidate":"1763900060"}}}`))).To(Succeed())
	})

	DescribeTable("may change nothing else of a StaticPage",
		func(patch, why string) {
			refused(server.Patch(ctx, page, mergePatch(patch)), why)
			unchanged()
		},
		Entry("its origin", `{"spec":{"origin":{"url":"http://attacker.example/"}}}`, "may not change the spec of StaticPage shop/"),
		Entry("its route", `{"spec":{"route":"/login"}}`, "may not change the spec"),
		Entry("its revalidate interval", `{"spec":{"revalidate":"1s"}}`, "may not change the spec"),
		Entry("suspending it", `{"spec":{"suspend":true}}`, "may not change the spec"),
		Entry("a label", `{"metadata":{"labels":{"shop":"other"}}}`, "may not change the labels"),
		Entry("a new label", `{"metadata":{"labels":{"extra":"x"}}}`, "may not change the labels"),
		Entry("removing a label", `{"metadata":{"labels":{"shop":null}}}`, "may not change the labels"),
		Entry("another annotation", `{"metadata":{"annotations":{"team":"ops"}}}`, "this request changes team"),
		Entry("a new annotation", `{"metadata":{"annotations":{"other":"x"}}}`, "this request changes other"),
		Entry("removing an annotation", `{"metadata":{"annotations":{"team":null}}}`, "this request changes team"),
		Entry("another annotation beside the revalidate one", `{"metadata":{"annotations":{"isr-operator.io/revalidate":"2","team":"ops"}}}`, "this request changes team"),
		Entry("a finalizer", `{"metadata":{"finalizers":["example.com/hold"]}}`, "may not change the ownerReferences or finalizers"),
		Entry("an owner", `{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"x","uid":"6f1c1c1e-0000-4000-8000-000000000000"}]}}`, "may not change the ownerReferences or finalizers"),
	)

	It("may set the requested-at annotation of a StaticPage, and still no other", func() {
		Expect(server.Patch(ctx, page, mergePatch(`{"metadata":{"annotations":{"pages.isr-operator.io/requested-at":"2026-11-23T20:00:00Z"}}}`))).To(Succeed())
		got := &pagesv1alpha1.StaticPage{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(page), got)).To(Succeed())
		Expect(got.Annotations).To(HaveKeyWithValue(pagesv1alpha1.RequestedAtAnnotation, "2026-11-23T20:00:00Z"))
		Expect(kube.AnnotateRequestedAt(ctx, server, client.ObjectKeyFromObject(page), time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))).To(Succeed())
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(page), got)).To(Succeed())
		Expect(got.Annotations).To(HaveKeyWithValue(pagesv1alpha1.RequestedAtAnnotation, "2026-11-24T08:00:00Z"))

		refused(server.Patch(ctx, page, mergePatch(`{"metadata":{"annotations":{"pages.isr-operator.io/requested-at":"2026-11-25T00:00:00Z","pages.isr-operator.io/other":"x"}}}`)),
			"this request changes pages.isr-operator.io/other")
		refused(server.Patch(ctx, page, mergePatch(`{"metadata":{"annotations":{"pages.isr-operator.io/requested-at":"2026-11-25T00:00:00Z"}},"spec":{"route":"/x"}}`)),
			"may not change the spec")
	})

	It("may not write a StaticPage's status, nor delete StaticPages (RBAC)", func() {
		page.Status.Digest = "sha256:0000"
		refused(server.Status().Update(ctx, page), "forbidden")
		refused(server.Delete(ctx, page), "forbidden")
	})

	Describe("creating StaticPages", func() {
		var set *pagesv1alpha1.StaticPageSet

		BeforeEach(func() {
			set = newSet(uniqueName("products"))
			Expect(admin.Create(ctx, set)).To(Succeed())
		})

		// absent proves a refused create left nothing behind.
		absent := func(p *pagesv1alpha1.StaticPage) {
			GinkgoHelper()
			err := admin.Get(ctx, client.ObjectKeyFromObject(p), &pagesv1alpha1.StaticPage{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the refused page exists: %v", err)
		}

		It("may create a child page of a StaticPageSet, as it builds them", func() {
			child := pagesv1alpha1.RequestedChild(set, "/products/42")
			Expect(server.Create(ctx, child)).To(Succeed())
			got := &pagesv1alpha1.StaticPage{}
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(child), got)).To(Succeed())
			Expect(got.Spec.Set).To(Equal(pagesv1alpha1.SetReference{Name: set.Name}))
			Expect(got.Spec.Origin).To(BeZero())
			Expect(got.Labels).To(Equal(map[string]string{pagesv1alpha1.SetLabel: set.Name, pagesv1alpha1.CreatedByLabel: pagesv1alpha1.CreatedByRequest}))
			Expect(got.OwnerReferences).To(ConsistOf(HaveField("UID", set.UID)))

			By("colliding with itself, as a second replica does, instead of making a second page")
			err := server.Create(ctx, pagesv1alpha1.RequestedChild(set, "/products/42"))
			Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "%v", err)
		})

		It("may not create a child with an origin (the CRD refuses it before the policy would)", func() {
			child := pagesv1alpha1.RequestedChild(set, "/products/"+uniqueName("p"))
			child.Spec.Origin.URL = "http://attacker.example/"
			err := server.Create(ctx, child)
			Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "not refused: %v", err)
			Expect(err.Error()).To(Or(ContainSubstring("exactly one of origin and set"), ContainSubstring("may not give a StaticPage an origin")))
			absent(child)
		})

		DescribeTable("may create no other StaticPage",
			func(mutate func(*pagesv1alpha1.StaticPage), why string) {
				child := pagesv1alpha1.RequestedChild(set, "/products/"+uniqueName("p"))
				mutate(child)
				refused(server.Create(ctx, child), why)
				absent(child)
			},
			Entry("a page of its own, with a forged origin", func(p *pagesv1alpha1.StaticPage) {
				*p = *newPage(p.Name)
				p.Spec.Origin.URL = "http://attacker.example/"
			}, "may create only child pages of a StaticPageSet, which name it in spec.set: StaticPage shop/"),
			Entry("a child without the set label", func(p *pagesv1alpha1.StaticPage) {
				delete(p.Labels, pagesv1alpha1.SetLabel)
			}, "labelled pages.isr-operator.io/set="),
			Entry("a child labelled with another set", func(p *pagesv1alpha1.StaticPage) {
				p.Labels[pagesv1alpha1.SetLabel] = "other"
			}, "labelled pages.isr-operator.io/set="),
			Entry("a child not labelled created-by=request", func(p *pagesv1alpha1.StaticPage) {
				p.Labels[pagesv1alpha1.CreatedByLabel] = pagesv1alpha1.CreatedByPrerender
			}, "labelled pages.isr-operator.io/created-by=request"),
			Entry("a child without an owner", func(p *pagesv1alpha1.StaticPage) {
				p.OwnerReferences = nil
			}, "owned by StaticPageSet"),
			Entry("a child owned by another set", func(p *pagesv1alpha1.StaticPage) {
				p.OwnerReferences[0].Name = "other"
			}, "owned by StaticPageSet"),
			Entry("a child owned by something else too", func(p *pagesv1alpha1.StaticPage) {
				p.OwnerReferences = append(p.OwnerReferences, metav1.OwnerReference{
					APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "6f1c1c1e-0000-4000-8000-000000000000"})
			}, "and by nothing else"),
			Entry("a child with a finalizer", func(p *pagesv1alpha1.StaticPage) {
				p.Finalizers = []string{"example.com/hold"}
			}, "may not create a StaticPage with finalizers"),
			Entry("a child named at will", func(p *pagesv1alpha1.StaticPage) {
				p.Name = "login"
			}, "may create only child pages named as their set names them"),
			Entry("a child named after another set", func(p *pagesv1alpha1.StaticPage) {
				p.Name = pagesv1alpha1.ChildName("other", p.Spec.Route)
			}, "may create only child pages named as their set names them"),
			Entry("a child its set's name, without the hash", func(p *pagesv1alpha1.StaticPage) {
				p.Name = set.Name + "-products-home"
			}, "may create only child pages named as their set names them"),
			Entry("a child pinned by a far-future requested-at", func(p *pagesv1alpha1.StaticPage) {
				p.Annotations = map[string]string{pagesv1alpha1.RequestedAtAnnotation: "2999-01-01T00:00:00Z"}
			}, "may not create a StaticPage with annotations: StaticPage shop/"),
			Entry("a child with any annotation", func(p *pagesv1alpha1.StaticPage) {
				p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "1"}
			}, "may not create a StaticPage with annotations"),
		)
	})

	It("may write no ConfigMap, a page or not (RBAC)", func() {
		cm := pageConfigMap(page)
		refused(server.Create(ctx, cm), "forbidden")
		Expect(admin.Create(ctx, cm)).To(Succeed())
		cm.Data = map[string]string{"x": "y"}
		refused(server.Update(ctx, cm), "forbidden")
		refused(server.Patch(ctx, cm, mergePatch(`{"data":{"x":"y"}}`)), "forbidden")
		refused(server.Delete(ctx, cm), "forbidden")
		refused(server.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: userNamespace, Name: uniqueName("cm")}}), "forbidden")
	})

	Describe("Leases", func() {
		signature := func(name string) *coordinationv1.Lease {
			return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{
				Namespace: systemNamespace, Name: name,
				Labels: map[string]string{"isr-operator.io/component": "revalidate-signature"},
			}}
		}
		It("may create, list and delete its signature Leases", func() {
			lease := signature("isr-sig-" + strings.Repeat("ab", 20))
			Expect(server.Create(ctx, lease)).To(Succeed())
			list := &coordinationv1.LeaseList{}
			Expect(server.List(ctx, list, client.InNamespace(systemNamespace),
				client.MatchingLabels{"isr-operator.io/component": "revalidate-signature"})).To(Succeed())
			Expect(list.Items).To(ContainElement(HaveField("Name", lease.Name)))
			Expect(server.Delete(ctx, lease)).To(Succeed())
		})

		It("may not create any other Lease", func() {
			refused(server.Create(ctx, signature("isr-operator-leader")), "whose names start with isr-sig-: CREATE of Lease isr-system/isr-operator-leader refused")
			unlabelled := signature("isr-sig-" + strings.Repeat("9f", 20))
			unlabelled.Labels = nil
			refused(server.Create(ctx, unlabelled), "labelled isr-operator.io/component=revalidate-signature")
			mislabelled := signature("isr-sig-" + strings.Repeat("cd", 20))
			mislabelled.Labels["isr-operator.io/component"] = "page"
			refused(server.Create(ctx, mislabelled), "labelled isr-operator.io/component=revalidate-signature")
		})

		It("may not delete the manager's leader election Lease, nor a Lease merely named like its own", func() {
			leader := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: uniqueName("leader")},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: new("manager-0")}}
			Expect(admin.Create(ctx, leader)).To(Succeed())
			refused(server.Delete(ctx, leader), "DELETE of Lease isr-system/"+leader.Name+" refused")
			lookalike := signature("isr-sig-" + strings.Repeat("ef", 20))
			lookalike.Labels = nil
			Expect(admin.Create(ctx, lookalike)).To(Succeed())
			refused(server.Delete(ctx, lookalike), "labelled isr-operator.io/component=revalidate-signature")
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(leader), &coordinationv1.Lease{})).To(Succeed())
		})

		It("may not update Leases, nor write them outside its namespace (RBAC)", func() {
			lease := signature("isr-sig-" + strings.Repeat("12", 20))
			Expect(server.Create(ctx, lease)).To(Succeed())
			lease.Spec.HolderIdentity = new("x")
			refused(server.Update(ctx, lease), "forbidden")
			elsewhere := signature("isr-sig-" + strings.Repeat("34", 20))
			elsewhere.Namespace = userNamespace
			refused(server.Create(ctx, elsewhere), "forbidden")
		})
	})
})

var _ = Describe("the manager's ServiceAccount", func() {
	var page *pagesv1alpha1.StaticPage

	BeforeEach(func() {
		page = newPage(uniqueName("page"))
		Expect(admin.Create(ctx, page)).To(Succeed())
	})

	It("may create, update and delete a page ConfigMap", func() {
		cm := pageConfigMap(page)
		Expect(manager.Create(ctx, cm)).To(Succeed())
		cm.BinaryData = map[string][]byte{"body.gz": []byte("new")}
		cm.Annotations = map[string]string{"isr-operator.io/digest": "sha256:1111"}
		Expect(manager.Update(ctx, cm)).To(Succeed())
		Expect(manager.Patch(ctx, cm, mergePatch(`{"metadata":{"annotations":{"isr-operator.io/stored-at":"2026-11-23T20:00:00Z"}}}`))).To(Succeed())
		Expect(manager.Delete(ctx, cm)).To(Succeed())
	})

	It("may create the ConfigMap of a page too long to be named isr-<page>, as storage names it", func() {
		suffix := uniqueName("-long")
		long := newPage(strings.Repeat("p", 251-len(suffix)) + suffix)
		Expect(admin.Create(ctx, long)).To(Succeed())
		cm := pageConfigMap(long)
		cm.Name = storage.ConfigMapName(long)
		Expect(cm.Name).NotTo(Equal("isr-" + long.Name))
		cm.Labels[storage.PageLabel] = "long"
		Expect(manager.Create(ctx, cm)).To(Succeed())
	})

	DescribeTable("may not create a ConfigMap that is not a page",
		func(mutate func(*corev1.ConfigMap), why string) {
			cm := pageConfigMap(page)
			mutate(cm)
			refused(manager.Create(ctx, cm), why)
		},
		Entry("without the page label", func(cm *corev1.ConfigMap) { cm.Labels = nil },
			"may write only page ConfigMaps, labelled isr-operator.io/component=page: ConfigMap shop/"),
		Entry("with another component label", func(cm *corev1.ConfigMap) { cm.Labels["isr-operator.io/component"] = "other" },
			"labelled isr-operator.io/component=page"),
		Entry("labelled, without an owner", func(cm *corev1.ConfigMap) { cm.OwnerReferences = nil },
			"controlled by a StaticPage"),
		Entry("labelled, owned but not controlled by a StaticPage", func(cm *corev1.ConfigMap) { cm.OwnerReferences[0].Controller = nil },
			"controlled by a StaticPage"),
		Entry("labelled, controlled by something else", func(cm *corev1.ConfigMap) {
			cm.OwnerReferences[0].APIVersion, cm.OwnerReferences[0].Kind = "apps/v1", "Deployment"
		}, "controlled by a StaticPage"),
		Entry("named after no page", func(cm *corev1.ConfigMap) { cm.Name = "isr-settings" },
			"only under its page's name, isr-<page name>: ConfigMap shop/isr-settings is not named after"),
		Entry("named as another page's", func(cm *corev1.ConfigMap) { cm.Name = "isr-" + uniqueName("other") },
			"only under its page's name"),
	)

	Describe("a user's ConfigMap", func() {
		var users *corev1.ConfigMap

		BeforeEach(func() {
			users = &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: userNamespace, Name: uniqueName("settings")},
				Data:       map[string]string{"password": "hunter2"},
			}
			Expect(admin.Create(ctx, users)).To(Succeed())
		})

		It("may not be taken over by labelling and owning it", func() {
			taken := users.DeepCopy()
			page := pageConfigMap(page)
			taken.Labels, taken.OwnerReferences = page.Labels, page.OwnerReferences
			refused(manager.Update(ctx, taken), "ConfigMap shop/"+users.Name+" is not one, so updating it is refused")
			refused(manager.Patch(ctx, users, mergePatch(`{"metadata":{"labels":{"isr-operator.io/component":"page"}}}`)), "is not one, so updating it is refused")
		})

		It("may not be changed or deleted", func() {
			refused(manager.Patch(ctx, users, mergePatch(`{"data":{"password":"x"}}`)), "is not one, so updating it is refused")
			refused(manager.Delete(ctx, users), "ConfigMap shop/"+users.Name+" is not one, so deleting it is refused")
			got := &corev1.ConfigMap{}
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(users), got)).To(Succeed())
			Expect(got.Data).To(Equal(users.Data))
			Expect(got.Labels).To(BeEmpty())
		})
	})

	It("may create and delete a StaticPageSet's page", func() {
		child := setPage("products", "/products/"+uniqueName("id"))
		Expect(manager.Create(ctx, child)).To(Succeed())
		Expect(manager.Delete(ctx, child)).To(Succeed())
	})

	It("may not delete a page a user applied", func() {
		refused(manager.Delete(ctx, page), "may create and delete only StaticPageSet pages (spec.set given, no spec.origin): deleting StaticPage shop/"+page.Name)
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(page), &pagesv1alpha1.StaticPage{})).To(Succeed())
	})

	DescribeTable("may not create a page that is not a StaticPageSet's",
		func(p *pagesv1alpha1.StaticPage, why string) {
			refused(manager.Create(ctx, p), why)
		},
		Entry("one with an origin of its own", newPage("made-by-manager"), "creating StaticPage shop/made-by-manager is refused"),
		Entry("a set's page without the set label", func() *pagesv1alpha1.StaticPage {
			p := setPage("products", "/products/unlabelled")
			p.Labels = nil
			return p
		}(), "labelled pages.isr-operator.io/set=products"),
		Entry("a set's page labelled with another set", func() *pagesv1alpha1.StaticPage {
			p := setPage("products", "/products/mislabelled")
			p.Labels[pagesv1alpha1.SetLabel] = "other"
			return p
		}(), "labelled pages.isr-operator.io/set=products"),
	)

	It("may not turn a page ConfigMap into something else", func() {
		cm := pageConfigMap(page)
		Expect(manager.Create(ctx, cm)).To(Succeed())
		refused(manager.Patch(ctx, cm, mergePatch(`{"metadata":{"labels":{"isr-operator.io/component":null}}}`)), "labelled isr-operator.io/component=page")
		refused(manager.Patch(ctx, cm, mergePatch(`{"metadata":{"ownerReferences":null}}`)), "controlled by a StaticPage")
	})
})

// setPage is the page a StaticPageSet named set has for route: labelled
// with the set, naming it, with no origin.
func setPage(set, route string) *pagesv1alpha1.StaticPage {
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: userNamespace,
			Name:      pagesv1alpha1.ChildName(set, route),
			Labels:    map[string]string{pagesv1alpha1.SetLabel: set, pagesv1alpha1.CreatedByLabel: pagesv1alpha1.CreatedByPrerender},
		},
		Spec: pagesv1alpha1.StaticPageSpec{Route: route, Set: pagesv1alpha1.SetReference{Name: set}},
	}
}

// pageConfigMap is the ConfigMap the manager stores page's content in:
// labelled as a page and controlled by the StaticPage.
func pageConfigMap(page *pagesv1alpha1.StaticPage) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: page.Namespace,
			Name:      "isr-" + page.Name,
			Labels:    map[string]string{"isr-operator.io/component": "page", "isr-operator.io/page": page.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: pagesv1alpha1.GroupVersion.String(), Kind: "StaticPage",
				Name: page.Name, UID: page.UID, Controller: new(true), BlockOwnerDeletion: new(true),
			}},
		},
		BinaryData: map[string][]byte{"body.gz": []byte("gz")},
	}
}
