package kube

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// AnnotateRevalidate sets a StaticPage's revalidate annotation to token with a
// merge patch of that one annotation, as `kubectl annotate --overwrite` does,
// and returns the resourceVersion the write produced. With AnnotateRequestedAt
// and the creation of a StaticPageSet's child (v1alpha1.RequestedChild), it
// is one of the three writes the server makes, all its admission policies let through.
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
