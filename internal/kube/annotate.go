package kube

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// AnnotateRevalidate sets a StaticPage's revalidate annotation to token with a
// merge patch of that one annotation, as `kubectl annotate --overwrite` does,
// and returns the resourceVersion the write produced. With AnnotateRequestedAt
// and the creation of a StaticPageSet's child (RequestedChild), it is one of
// the three writes the server makes, all its admission policies let through.
func AnnotateRevalidate(ctx context.Context, c Patcher, page types.NamespacedName, token string) (string, error) {
	sp := &pagesv1alpha1.StaticPage{}
	sp.Namespace, sp.Name = page.Namespace, page.Name
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, pagesv1alpha1.RevalidateAnnotation, token)
	if err := c.Patch(ctx, sp, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return "", fmt.Errorf("annotating StaticPage %s: %w", page, err)
	}
	return sp.ResourceVersion, nil
}

// Patcher is the one write the server's revalidation makes.
type Patcher interface {
	// Patch is client.Writer's Patch.
	Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error
}

// AnnotateRequestedAt sets a StaticPageSet child's requested-at annotation
// to at (RFC 3339, seconds) with a merge patch of that one annotation.
func AnnotateRequestedAt(ctx context.Context, c Patcher, page types.NamespacedName, at time.Time) error {
	sp := &pagesv1alpha1.StaticPage{}
	sp.Namespace, sp.Name = page.Namespace, page.Name
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, pagesv1alpha1.RequestedAtAnnotation, at.UTC().Format(time.RFC3339))
	if err := c.Patch(ctx, sp, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("annotating StaticPage %s with requested-at: %w", page, err)
	}
	return nil
}

// RequestedChild is the StaticPage a server creates when a visitor requests
// route, a path of set that has no page yet: SetPage with created-by=request.
// This is what the server's admission policy admits.
func RequestedChild(set *pagesv1alpha1.StaticPageSet, route string) *pagesv1alpha1.StaticPage {
	return SetPage(set, route, pagesv1alpha1.CreatedByRequest)
}

// SetPage is set's page for route, whoever creates it: named
// ChildName(set, route) in the set's namespace, so that every creator of one
// path collides instead of duplicating it; labelled with the set and
// createdBy; controlled by the set (no blockOwnerDeletion, which would need
// a write on the set); with the set's host and revalidate settings and no
// origin, which only the set's template gives.
func SetPage(set *pagesv1alpha1.StaticPageSet, route, createdBy string) *pagesv1alpha1.StaticPage {
	var revalidate *metav1.Duration
	if set.Spec.Revalidate != nil {
		revalidate = &metav1.Duration{Duration: set.Spec.Revalidate.Duration}
	}
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: set.Namespace,
			Name:      pagesv1alpha1.ChildName(set.Name, route),
			Labels: map[string]string{
				pagesv1alpha1.SetLabel:       set.Name,
				pagesv1alpha1.CreatedByLabel: createdBy,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: pagesv1alpha1.GroupVersion.String(),
				Kind:       "StaticPageSet",
				Name:       set.Name,
				UID:        set.UID,
				Controller: ptr.To(true),
			}},
		},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route:          route,
			Host:           set.Spec.Host,
			Set:            pagesv1alpha1.SetReference{Name: set.Name},
			Revalidate:     revalidate,
			RevalidateMode: set.Mode(),
		},
	}
}
