package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// grantedIn remembers, for one reconcile, which namespaces are granted
// one host, so that a list of many objects reads each namespace once.
type grantedIn struct {
	grants *kube.HostGrants
	host   string
	seen   map[string]bool
}

// newGrantedIn answers for host through grants.
func newGrantedIn(grants *kube.HostGrants, host string) *grantedIn {
	return &grantedIn{grants: grants, host: host, seen: map[string]bool{}}
}

// ok reports whether namespace is granted the host.
func (g *grantedIn) ok(ctx context.Context, namespace string) (bool, error) {
	if !g.grants.Enabled() {
		return true, nil
	}
	if v, known := g.seen[namespace]; known {
		return v, nil
	}
	v, _, err := g.grants.Check(ctx, namespace, g.host)
	if err != nil {
		return false, err
	}
	g.seen[namespace] = v
	return v, nil
}

// namespacePages maps a Namespace whose host grants changed to its pages:
// each is rendered or refused again.
func (r *StaticPageReconciler) namespacePages(ctx context.Context, ns client.Object) []reconcile.Request {
	pages := &pagesv1alpha1.StaticPageList{}
	if err := r.List(ctx, pages, client.InNamespace(ns.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing the pages of a namespace whose host grants changed", "namespace", ns.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(pages.Items))
	for i := range pages.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pages.Items[i])})
	}
	return reqs
}

// allSets maps a Namespace whose host grants changed to every set: its own
// may be refused or allowed, and sets elsewhere on the same hosts may win
// or lose a conflict, or gain or lose an explicit page.
func (r *StaticPageSetReconciler) allSets(ctx context.Context, _ client.Object) []reconcile.Request {
	sets := &pagesv1alpha1.StaticPageSetList{}
	if err := r.List(ctx, sets, client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing StaticPageSets after a change of host grants")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(sets.Items))
	for i := range sets.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&sets.Items[i])})
	}
	return reqs
}
