package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// ObjectStore is a content-addressed store (S3): objects are keyed by
// digest, may be shared by pages with the same content, and are not
// garbage-collected by Kubernetes, so the controller removes them itself.
type ObjectStore interface {
	// Delete removes a digest's objects.
	Delete(ctx context.Context, digest string) error
	// Sweep deletes the digests keep refuses that are older than olderThan.
	Sweep(ctx context.Context, keep func(digest string) bool, olderThan time.Duration) ([]string, error)
}

// objectStore is the Store as an ObjectStore, or nil for ConfigMaps, which
// Kubernetes garbage-collects with their StaticPage.
func (r *StaticPageReconciler) objectStore() ObjectStore {
	os, _ := r.Store.(ObjectStore)
	return os
}

// ensureFinalizer adds the storage finalizer to a page kept in an object
// store, so that its objects go when it does.
func (r *StaticPageReconciler) ensureFinalizer(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	if r.objectStore() == nil {
		return nil
	}
	return addFinalizer(ctx, r.Client, page, pagesv1alpha1.StorageFinalizer)
}

// addFinalizer adds finalizer to obj unless it has it, with a patch that
// fails if obj changed since it was read.
func addFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, finalizer)
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding the finalizer %s to %s/%s: %w", finalizer, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// finalize removes a deleted page's objects, unless another page serves
// the same content, then releases the page. A store that stays down does
// not hold the deletion for ever: after FinalizeTimeout the page is
// released, an Event says so, and the sweep removes the objects later.
func (r *StaticPageReconciler) finalize(ctx context.Context, page *pagesv1alpha1.StaticPage) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(page, pagesv1alpha1.StorageFinalizer) {
		return ctrl.Result{}, nil
	}
	if os := r.objectStore(); os != nil && page.Status.Digest != "" {
		shared, err := r.digestInUse(ctx, page.Status.Digest, client.ObjectKeyFromObject(page))
		if err != nil {
			return ctrl.Result{}, err
		}
		if !shared {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := os.Delete(dctx, page.Status.Digest)
			cancel()
			if err != nil {
				if r.Clock.Since(page.DeletionTimestamp.Time) < r.FinalizeTimeout {
					log.FromContext(ctx).Info("removing a deleted page's objects failed; retrying", "digest", page.Status.Digest, "error", err.Error())
					return ctrl.Result{RequeueAfter: r.retries.When(ctrl.Request{NamespacedName: client.ObjectKeyFromObject(page)})}, nil
				}
				r.event(page, corev1.EventTypeWarning, pagesv1alpha1.EventObjectsLeft,
					"could not remove the objects of %s within %s (%s); the sweep removes them later", page.Status.Digest, r.FinalizeTimeout, err)
			}
		}
	}
	base := page.DeepCopy()
	controllerutil.RemoveFinalizer(page, pagesv1alpha1.StorageFinalizer)
	if err := r.Patch(ctx, page, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, fmt.Errorf("removing the storage finalizer of %s/%s: %w", page.Namespace, page.Name, err)
	}
	return ctrl.Result{}, nil
}

// digestIndex holds a page's status.digest, so that deleting a page asks
// which other pages share its content without listing every page: a mass
// delete would otherwise cost a list of all pages per page.
const digestIndex = "isr.staticpage.digest"

// digestInUse is true when a page other than except points to digest.
func (r *StaticPageReconciler) digestInUse(ctx context.Context, digest string, except types.NamespacedName) (bool, error) {
	pages := &pagesv1alpha1.StaticPageList{}
	if err := r.List(ctx, pages, client.MatchingFields{digestIndex: digest}, client.UnsafeDisableDeepCopy); err != nil {
		return false, fmt.Errorf("listing StaticPages: %w", err)
	}
	for i := range pages.Items {
		if client.ObjectKeyFromObject(&pages.Items[i]) != except {
			return true, nil
		}
	}
	return false, nil
}

// Sweeper removes objects no StaticPage points to (superseded content,
// pages deleted while the store was down, orphans) once they are older than
// Grace, so that a server replica still loading a superseded digest finds
// it. It runs on the leader only.
type Sweeper struct {
	// Client lists StaticPages (cached).
	Client client.Reader
	// Store is swept.
	Store ObjectStore
	// Every is how often it sweeps.
	Every time.Duration
	// Grace is how old an unreferenced object must be to go.
	Grace time.Duration
}

// Start sweeps every Every until ctx ends.
func (s *Sweeper) Start(ctx context.Context) error {
	kube.Periodically(ctx, s.Every, "sweeping the object store", s.Sweep)
	return nil
}

// Sweep runs one sweep. Never is an object a StaticPage points to removed:
// the set of digests in use is read before the store is listed.
func (s *Sweeper) Sweep(ctx context.Context) error {
	pages := &pagesv1alpha1.StaticPageList{}
	if err := s.Client.List(ctx, pages); err != nil {
		return fmt.Errorf("listing StaticPages: %w", err)
	}
	inUse := make(map[string]bool, len(pages.Items))
	for i := range pages.Items {
		if d := pages.Items[i].Status.Digest; d != "" {
			inUse[d] = true
		}
	}
	removed, err := s.Store.Sweep(ctx, func(d string) bool { return inUse[d] }, s.Grace)
	if len(removed) > 0 {
		sweptTotal.Add(float64(len(removed)))
		log.FromContext(ctx).Info("swept unreferenced objects", "digests", len(removed))
	}
	return err
}
