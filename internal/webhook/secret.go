package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// Keys of a receiver's Secret.
const (
	// SecretKey holds the signing secret or token of every type but basic.
	SecretKey = "secret"
	// UsernameKey and PasswordKey hold type basic's credentials.
	UsernameKey = "username"
	PasswordKey = "password"
)

// PathPrefix starts every receiver's path.
const PathPrefix = "/hook/"

// ErrSecretInvalid is the error of a Secret that lacks a key its
// receiver's type needs.
var ErrSecretInvalid = errors.New("secret invalid")

// SecretFor reads the keys typ needs from s, without the trailing newline
// `kubectl create secret --from-file` often leaves.
func SecretFor(typ pagesv1alpha1.WebhookType, s *corev1.Secret) (signature.Secret, error) {
	if typ == pagesv1alpha1.WebhookBasic {
		u, p := revalidateapi.TrimNewlines(s.Data[UsernameKey]), revalidateapi.TrimNewlines(s.Data[PasswordKey])
		if len(u) == 0 || len(p) == 0 {
			return signature.Secret{}, fmt.Errorf("%w: Secret %s needs non-empty keys %q and %q for type basic", ErrSecretInvalid, s.Name, UsernameKey, PasswordKey)
		}
		return signature.Secret{Username: u, Password: p}, nil
	}
	v := revalidateapi.TrimNewlines(s.Data[SecretKey])
	if len(v) == 0 {
		return signature.Secret{}, fmt.Errorf("%w: Secret %s needs a non-empty key %q for type %s", ErrSecretInvalid, s.Name, SecretKey, typ)
	}
	return signature.Secret{Value: v}, nil
}

// Path is a receiver's path, as Flux's notification-controller derives a
// Receiver's: a digest of its secret, name and namespace, so that it cannot
// be guessed without the secret and changes when the secret does.
func Path(s signature.Secret, namespace, name string) string {
	h := sha256.New()
	if len(s.Value) > 0 {
		h.Write(s.Value)
	} else {
		h.Write(s.Username)
		h.Write([]byte{':'})
		h.Write(s.Password)
	}
	h.Write([]byte(name))
	h.Write([]byte(namespace))
	return PathPrefix + hex.EncodeToString(h.Sum(nil))
}
