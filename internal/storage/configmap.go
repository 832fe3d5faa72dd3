package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/render"
)

const (
	// ComponentLabel marks page ConfigMaps so that the controller and servers
	// cache only these, not every ConfigMap in the cluster.
	ComponentLabel = "isr-operator.io/component"
	// ComponentPage is ComponentLabel's value on page ConfigMaps.
	ComponentPage = "page"
	// PageLabel names the StaticPage a ConfigMap belongs to (when the name
	// fits a label value), for `kubectl get cm -l`.
	PageLabel = "isr-operator.io/page"
	// DigestAnnotation is the digest of the body a ConfigMap holds.
	DigestAnnotation = "isr-operator.io/digest"
	// ContentTypeAnnotation is the Content-Type of the body a ConfigMap holds.
	ContentTypeAnnotation = "isr-operator.io/content-type"
	// StoredAtAnnotation is when the content was stored (RFC 3339).
	StoredAtAnnotation = "isr-operator.io/stored-at"
	// StoredBytesAnnotation is the content's Stored.Bytes, in decimal, so
	// that a Put of the same content reports it without encoding it again.
	StoredBytesAnnotation = "isr-operator.io/stored-bytes"
	// BodyKey is the binaryData key of the gzipped body.
	BodyKey = "body.gz"
	// BrotliKey is the binaryData key of the brotli-compressed body, kept
	// beside the gzip when brotli is smaller and both fit, so that a
	// server loading the page does not compress it again.
	BrotliKey = "body.br"

	// MaxConfigMapBody is the largest compressed body stored in a ConfigMap:
	// the API server refuses ConfigMaps over 1 MiB, and the object's metadata
	// needs room too.
	MaxConfigMapBody = 1<<20 - 16<<10
)

// ConfigMaps stores each page gzipped in a ConfigMap owned by its StaticPage,
// so deleting the page garbage-collects its content.
type ConfigMaps struct {
	// Client reads and writes ConfigMaps; a cached client must cache the
	// ComponentLabel ConfigMaps (their metadata is enough: only Get reads a
	// ConfigMap whole, through Reader when set).
	Client client.Client
	// Reader, when set, is what Get reads a ConfigMap whole with, in place
	// of Client: servers pass an uncached reader, so that no informer holds
	// page bodies and a body is read only when its page is loaded.
	Reader client.Reader
	// Scheme resolves the StaticPage kind for owner references.
	Scheme *runtime.Scheme
	// Now stamps stored content; time.Now when nil.
	Now func() time.Time
	// MaxBodyBytes is the largest body Get decodes to check it against its
	// digest (a ConfigMap's writer may be someone else); 0 means no limit.
	MaxBodyBytes int64
}

var _ Store = (*ConfigMaps)(nil)

// ConfigMapName is the name of the ConfigMap holding p's page: "isr-<name>",
// shortened with a hash when that would be over the 253-character limit.
func ConfigMapName(p *pagesv1alpha1.StaticPage) string {
	name := "isr-" + p.Name
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(p.Name))
	return name[:253-17] + "-" + hex.EncodeToString(sum[:8])
}

// Put implements Writer. The ConfigMap holds the body gzipped, whatever
// the size; Bytes count what Encode makes of it, as servers hold it. A
// ConfigMap that holds the digest but not its bytes (written before they
// were recorded) is written again, keeping its stored-at time.
func (s *ConfigMaps) Put(ctx context.Context, p *pagesv1alpha1.StaticPage, page *render.Page) (Stored, error) {
	key := types.NamespacedName{Namespace: p.Namespace, Name: ConfigMapName(p)}
	cur, err := s.metadata(ctx, key)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	storedAt := ""
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return Stored{}, fmt.Errorf("reading ConfigMap %s: %w", key, err)
	default:
		earlier := leftBy(cur, p)
		if !earlier && !metav1.IsControlledBy(cur, p) {
			return Stored{}, fmt.Errorf("ConfigMap %s exists and is not controlled by StaticPage %s: %w", key, p.Name, ErrConflict)
		}
		if !earlier && cur.Annotations[DigestAnnotation] == page.Digest {
			if n, err := strconv.ParseInt(cur.Annotations[StoredBytesAnnotation], 10, 64); err == nil && n > 0 {
				return Stored{Bytes: n}, nil
			}
			storedAt = cur.Annotations[StoredAtAnnotation]
		}
		// The update replaces the whole ConfigMap, body included, and
		// fails if it changed since it was read.
		cm.ObjectMeta = cur.ObjectMeta
		if earlier {
			// Taken over: this page becomes its controller.
			cm.OwnerReferences = nil
		}
	}

	obj, err := Encode(page)
	if err != nil {
		return Stored{}, err
	}
	gz := obj.Gzip
	if gz == nil { // gzip is no smaller than the body, but is what is kept
		if gz, err = Compress(page.Body); err != nil {
			return Stored{}, err
		}
	}
	if len(gz) > MaxConfigMapBody {
		return Stored{}, fmt.Errorf("page is %d bytes compressed, over the %d bytes a ConfigMap can hold: %w", len(gz), MaxConfigMapBody, ErrTooLarge)
	}

	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if storedAt == "" {
		storedAt = now().UTC().Format(time.RFC3339)
	}
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[ComponentLabel] = ComponentPage
	cm.Labels["app.kubernetes.io/managed-by"] = "isr-operator"
	if len(p.Name) <= 63 {
		cm.Labels[PageLabel] = p.Name
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DigestAnnotation] = page.Digest
	cm.Annotations[ContentTypeAnnotation] = page.ContentType
	cm.Annotations[StoredAtAnnotation] = storedAt
	cm.Annotations[StoredBytesAnnotation] = strconv.FormatInt(obj.Footprint(), 10)
	cm.BinaryData = map[string][]byte{BodyKey: gz}
	if obj.Brotli != nil && len(gz)+len(obj.Brotli) <= MaxConfigMapBody {
		cm.BinaryData[BrotliKey] = obj.Brotli
	}
	cm.Data = nil
	if err := controllerutil.SetControllerReference(p, cm, s.Scheme); err != nil {
		return Stored{}, fmt.Errorf("owning ConfigMap %s: %w", key, err)
	}

	if cm.ResourceVersion == "" {
		err = s.Client.Create(ctx, cm)
	} else {
		err = s.Client.Update(ctx, cm)
	}
	if err != nil {
		if apierrors.IsRequestEntityTooLargeError(err) {
			return Stored{}, fmt.Errorf("writing ConfigMap %s: %w: %w", key, ErrTooLarge, err)
		}
		return Stored{}, fmt.Errorf("writing ConfigMap %s: %w", key, err)
	}
	return Stored{Changed: true, Bytes: obj.Footprint()}, nil
}

// Withdraw implements Writer: it deletes p's ConfigMap.
func (s *ConfigMaps) Withdraw(ctx context.Context, p *pagesv1alpha1.StaticPage) error {
	key := types.NamespacedName{Namespace: p.Namespace, Name: ConfigMapName(p)}
	cm, err := s.metadata(ctx, key)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading ConfigMap %s: %w", key, err)
	}
	if !metav1.IsControlledBy(cm, p) {
		return nil
	}
	if err := s.Client.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting ConfigMap %s: %w", key, err)
	}
	return nil
}

// leftBy reports whether the ConfigMap cm, which p's page would be stored
// in, was left by an earlier StaticPage of p's name, deleted since: its
// controller is a StaticPage of that name with another UID. Two pages
// cannot share a name, so p may take it over; until the garbage collector
// removes it, a page deleted and created again (a StaticPageSet's page
// evicted, then requested again) would otherwise find it in the way.
func leftBy(cm metav1.Object, p *pagesv1alpha1.StaticPage) bool {
	ref := metav1.GetControllerOfNoCopy(cm)
	return ref != nil && ref.Kind == "StaticPage" && ref.Name == p.Name && ref.UID != p.UID &&
		strings.HasPrefix(ref.APIVersion, pagesv1alpha1.GroupVersion.Group+"/")
}

// Get implements Reader. As the object store's Get does, it checks the body
// against the digest: a body that does not hash to it (or does not decode)
// is ErrCorrupt, and is not returned.
func (s *ConfigMaps) Get(ctx context.Context, p *pagesv1alpha1.StaticPage, d string) (*Object, error) {
	key := types.NamespacedName{Namespace: p.Namespace, Name: ConfigMapName(p)}
	var r client.Reader = s.Client
	if s.Reader != nil {
		r = s.Reader
	}
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("ConfigMap %s: %w", key, ErrNotStored)
		}
		return nil, fmt.Errorf("reading ConfigMap %s: %w", key, err)
	}
	if !metav1.IsControlledBy(cm, p) || cm.Annotations[DigestAnnotation] != d || len(cm.BinaryData[BodyKey]) == 0 {
		return nil, fmt.Errorf("ConfigMap %s does not hold %s: %w", key, d, ErrNotStored)
	}
	body, err := Decompress(cm.BinaryData[BodyKey], s.MaxBodyBytes)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, fmt.Errorf("ConfigMap %s: %w", key, err)
	case err != nil:
		return nil, fmt.Errorf("ConfigMap %s: %w: %w: %w", key, err, ErrCorrupt, ErrNotStored)
	}
	if got := digest.Of(body); got != d {
		return nil, fmt.Errorf("ConfigMap %s: its %s hashes to %s, not to %s: %w: %w", key, BodyKey, got, d, ErrCorrupt, ErrNotStored)
	}
	storedAt, err := time.Parse(time.RFC3339, cm.Annotations[StoredAtAnnotation])
	if err != nil {
		storedAt = cm.CreationTimestamp.Time
	}
	return &Object{
		Digest:      d,
		ContentType: cm.Annotations[ContentTypeAnnotation],
		Gzip:        cm.BinaryData[BodyKey],
		Brotli:      cm.BinaryData[BrotliKey],
		StoredAt:    storedAt,
		decoded:     body,
	}, nil
}

// Has implements Store from the ConfigMap's metadata: the digest annotation
// is written in the same update as the body it names.
func (s *ConfigMaps) Has(ctx context.Context, p *pagesv1alpha1.StaticPage, d string) (bool, error) {
	key := types.NamespacedName{Namespace: p.Namespace, Name: ConfigMapName(p)}
	cm, err := s.metadata(ctx, key)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading ConfigMap %s: %w", key, err)
	}
	return metav1.IsControlledBy(cm, p) && cm.Annotations[DigestAnnotation] == d, nil
}

// metadata reads the metadata of the ConfigMap at key. Writers (the
// manager) need nothing else, so their cache holds no page bodies; only
// Get, which servers call (through an uncached Reader), reads a ConfigMap
// whole.
func (s *ConfigMaps) metadata(ctx context.Context, key types.NamespacedName) (*metav1.PartialObjectMetadata, error) {
	cm := &metav1.PartialObjectMetadata{}
	cm.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err := s.Client.Get(ctx, key, cm); err != nil {
		return nil, err
	}
	return cm, nil
}
