package testenv

import (
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/internal/kube"
)

// NewManager builds a manager on cfg as every suite needs one: the
// project's scheme, the given cache options and client (nil:
// controller-runtime's), no metrics or health listener, and controller names
// that may repeat, since a suite builds several managers in one process.
func NewManager(cfg *rest.Config, cacheOpts cache.Options, newClient client.NewClientFunc) (ctrl.Manager, error) {
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 kube.Scheme(),
		Cache:                  cacheOpts,
		NewClient:              newClient,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
}
