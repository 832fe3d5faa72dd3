package testenv

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/isr-operator/isr-operator/internal/kube"
)

// Tenant gives user the RBAC a platform team gives a tenant, a Role in
// namespace that allows StaticPages and StaticPageSets there and nothing
// else, and returns a client impersonating user (cfg is the admin's).
func Tenant(ctx context.Context, admin client.Client, cfg *rest.Config, namespace, user string) (client.Client, error) {
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "isr-tenant"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"pages.isr-operator.io"},
			Resources: []string{"staticpages", "staticpagesets"},
			Verbs:     []string{"get", "list", "watch", "create", "update", "patch", "delete"},
		}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "isr-tenant-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := admin.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating the tenant RBAC of %s in %s: %w", user, namespace, err)
		}
	}
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	return client.New(c, client.Options{Scheme: kube.Scheme()})
}
