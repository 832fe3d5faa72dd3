package server

import (
	"context"
	"errors"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// GrantSync serves again, or stops serving, the pages and sets of a
// namespace whose host grants (the Namespace annotation isr-operator.io/hosts)
// change: a revoked grant withdraws them from the route table at once, a
// new one serves them.
type GrantSync struct {
	// Client reads Namespaces' metadata, StaticPages and StaticPageSets (a
	// cached client).
	Client client.Client
	// Routes syncs each page.
	Routes *RouteSync
}

// SetupWithManager watches Namespaces' metadata for changed grants.
func (g *GrantSync) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(kube.NamespaceMetadata(), builder.WithPredicates(kube.GrantsChanged())).
		WithOptions(controllerOptions()).
		Named("hostgrants").
		Complete(g)
}

// Reconcile syncs every page and set of one namespace.
func (g *GrantSync) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ns := req.Name
	var errs []error
	if s := g.Routes.SetSync; s != nil {
		sets := &pagesv1alpha1.StaticPageSetList{}
		if err := g.Client.List(ctx, sets, client.InNamespace(ns)); err != nil {
			return ctrl.Result{}, fmt.Errorf("listing the StaticPageSets of namespace %s: %w", ns, err)
		}
		for i := range sets.Items {
			s.put(ctx, &sets.Items[i])
		}
	}
	pages := &pagesv1alpha1.StaticPageList{}
	if err := g.Client.List(ctx, pages, client.InNamespace(ns)); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the StaticPages of namespace %s: %w", ns, err)
	}
	for i := range pages.Items {
		if err := g.Routes.sync(ctx, &pages.Items[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return ctrl.Result{}, errors.Join(errs...)
}
