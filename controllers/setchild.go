package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpagesets,verbs=get;list;watch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpages,verbs=create;delete

// errOutsideSet is why a page cannot be rendered for its set.
var errOutsideSet = errors.New("not a page of its set")

// resolveSet gives a StaticPageSet's page, in memory only, what its set
// decides: the origin (the set's template filled with the parameters the
// set's pattern gives the page's route), the timeout and the revalidate
// settings, and its tags: its own and its set's, filled in with the same
// parameters. Nothing else decides where a set's page is fetched from, so a
// page created by the internet-facing server, which names a set and a path
// but never an origin, can make the manager fetch only what the set allows.
// ok is false when the page cannot be rendered: its status then says why.
func (r *StaticPageReconciler) resolveSet(ctx context.Context, page *pagesv1alpha1.StaticPage) (ok bool, err error) {
	name := page.OwnerSet()
	if name == "" {
		return true, nil
	}
	set := &pagesv1alpha1.StaticPageSet{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: page.Namespace, Name: name}, set); err != nil {
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("reading StaticPageSet %s/%s: %w", page.Namespace, name, err)
		}
		return false, r.notRendered(ctx, page, pagesv1alpha1.ReasonSetNotFound,
			fmt.Sprintf("StaticPageSet %q does not exist; nothing is rendered until it does", name))
	}
	url, params, err := setOrigin(set, page)
	if err != nil {
		return false, r.notRendered(ctx, page, pagesv1alpha1.ReasonOutsideSet, err.Error())
	}
	page.Spec.Origin = pagesv1alpha1.Origin{URL: url, Timeout: set.Spec.Origin.Timeout}
	page.Spec.Tags = append(page.Spec.Tags, tags.Expand(set.Spec.Tags, params)...)
	page.Spec.Revalidate = set.Spec.Revalidate
	page.Spec.RevalidateMode = set.Mode()
	return true, nil
}

// setOrigin is the origin URL set gives page, with the route parameters
// it was filled in with, or why it gives none: the page's host must be the
// set's and its route one the set's pattern matches, with parameter values
// the pattern and spec.parameters accept, and its name the one the set
// gives that route.
func setOrigin(set *pagesv1alpha1.StaticPageSet, page *pagesv1alpha1.StaticPage) (string, map[string]string, error) {
	pattern, err := route.ParseConstrained(set.Spec.Route, set.ParameterPatterns())
	if err != nil {
		return "", nil, fmt.Errorf("StaticPageSet %q has an invalid route or parameters: %w", set.Name, err)
	}
	if !pagesv1alpha1.IsChildName(set.Name, page.Spec.Route, page.Name) {
		return "", nil, fmt.Errorf("%w: StaticPageSet %q names the page of route %q %q, not %q", errOutsideSet, set.Name, page.Spec.Route, pagesv1alpha1.ChildName(set.Name, page.Spec.Route), page.Name)
	}
	if route.NormalizeHost(page.Spec.Host) != route.NormalizeHost(set.Spec.Host) {
		return "", nil, fmt.Errorf("%w: host %q is not StaticPageSet %q's host %q", errOutsideSet, page.Spec.Host, set.Name, set.Spec.Host)
	}
	params, ok := pattern.MatchRoute(page.Spec.Route)
	if !ok {
		return "", nil, fmt.Errorf("%w: route %q does not match StaticPageSet %q's pattern %s and parameters", errOutsideSet, page.Spec.Route, set.Name, set.Spec.Route)
	}
	url, err := route.Expand(set.Spec.Origin.URL, params)
	if err != nil {
		return "", nil, fmt.Errorf("StaticPageSet %q: %w", set.Name, err)
	}
	return url, params, nil
}

// redirectTarget is the route of page's set whose origin URL is finalURL,
// where the origin redirected page's URL, or "" when finalURL is no path
// of the set (its template does not give it, or the values it gives are
// ones the set's pattern or spec.parameters refuse). A parameter of the
// pattern that the template does not use keeps page's value.
func (r *StaticPageReconciler) redirectTarget(ctx context.Context, page *pagesv1alpha1.StaticPage, finalURL string) (string, error) {
	set := &pagesv1alpha1.StaticPageSet{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: page.Namespace, Name: page.OwnerSet()}, set); err != nil {
		return "", fmt.Errorf("reading StaticPageSet %s/%s: %w", page.Namespace, page.OwnerSet(), err)
	}
	return setRoute(set, page.Spec.Route, finalURL), nil
}

// setRoute is the route of set whose origin URL is finalURL, with the
// values of from (a route of the set) for parameters the set's origin
// template does not use, or "" when there is none.
func setRoute(set *pagesv1alpha1.StaticPageSet, from, finalURL string) string {
	pattern, err := route.ParseConstrained(set.Spec.Route, set.ParameterPatterns())
	if err != nil {
		return ""
	}
	// from's values need not be ones spec.parameters accepts (it may
	// have changed since); the route given back must be.
	loose, err := route.ParsePattern(set.Spec.Route)
	if err != nil {
		return ""
	}
	params, ok := loose.MatchRoute(from)
	if !ok {
		return ""
	}
	got, ok := route.MatchTemplate(set.Spec.Origin.URL, finalURL)
	if !ok {
		return ""
	}
	maps.Copy(params, got)
	to, err := pattern.Path(params)
	if err != nil {
		return ""
	}
	if _, ok := pattern.MatchRoute(to); !ok {
		return ""
	}
	return to
}

// notRendered records why a page is not rendered at all, once per reason,
// with a Warning Event.
func (r *StaticPageReconciler) notRendered(ctx context.Context, page *pagesv1alpha1.StaticPage, why, msg string) error {
	c := meta.FindStatusCondition(page.Status.Conditions, pagesv1alpha1.ReadyCondition)
	if c != nil && c.Reason == why && c.Message == msg && page.Status.ObservedGeneration == page.Generation {
		return nil
	}
	base := page.DeepCopy()
	setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, why, msg)
	if err := r.patchStatus(ctx, base, page); err != nil {
		return err
	}
	r.event(page, corev1.EventTypeWarning, why, "%s", msg)
	return nil
}

// requestChild is true for a page a server created for a visitor's request.
func requestChild(page *pagesv1alpha1.StaticPage) bool {
	return page.OwnerSet() != "" && page.Labels[pagesv1alpha1.CreatedByLabel] == pagesv1alpha1.CreatedByRequest
}

// expireAbsent deletes a requested page the origin withdrew once it has
// been remembered as absent for its AbsentFor, instead of asking the origin
// again: the next request for the path starts afresh. Before then it says
// when to look again. done is false for any other page.
func (r *StaticPageReconciler) expireAbsent(ctx context.Context, page *pagesv1alpha1.StaticPage) (res ctrl.Result, done bool, err error) {
	if !requestChild(page) || !rememberedAbsent(page) ||
		page.Status.RenderedAt == nil || Requested(page) || page.Status.ObservedGeneration != page.Generation {
		return ctrl.Result{}, false, nil
	}
	left := page.Status.RenderedAt.Add(page.AbsentFor()).Sub(r.Clock.Now())
	if left > 0 {
		return ctrl.Result{RequeueAfter: left}, true, nil
	}
	log.FromContext(ctx).V(1).Info("forgetting a requested path the origin does not have", "route", page.Spec.Route)
	return ctrl.Result{}, true, r.deleteChild(ctx, page)
}

// dropFailedRequest deletes a requested page whose first render failed:
// nothing is stored for it, the visitor got the error, and a later request
// tries again, instead of the manager retrying a path nobody may ask for
// again.
func (r *StaticPageReconciler) dropFailedRequest(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	if !requestChild(page) || page.Status.RenderedAt != nil {
		return nil
	}
	return r.deleteChild(ctx, page)
}

// deleteChild deletes page unless it changed since it was read.
func (r *StaticPageReconciler) deleteChild(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	if err := deletePage(ctx, r.Client, page, true); err != nil && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// setPages maps a StaticPageSet to its pages, so that a new template or
// interval reaches them at once.
func (r *StaticPageReconciler) setPages(ctx context.Context, obj client.Object) []reconcile.Request {
	pages := &pagesv1alpha1.StaticPageList{}
	if err := r.List(ctx, pages, client.InNamespace(obj.GetNamespace()), client.MatchingLabels{pagesv1alpha1.SetLabel: obj.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing a StaticPageSet's pages", "set", obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(pages.Items))
	for i := range pages.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pages.Items[i])})
	}
	return reqs
}
