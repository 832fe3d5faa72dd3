package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// AnnotateRevalidate sets a StaticPage's revalidate annotation to token with a
// merge patch of that one annotation, as `kubectl annotate --overwrite` does,
// and returns the resourceVersion the write produced. It is the only write
// the server makes, and the only one its admission policy lets through.
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
