package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// StatusInterval is how often, at most, a receiver's status is written
// with its deliveries, and its refused deliveries reported in an Event.
const StatusInterval = time.Second

// Setup registers the receivers' handler with the server's manager: the
// index of receivers by path in its cache and the status writer. Its API
// field is to be set to the revalidate API's handler before the manager
// starts; Route then serves both on the API's port.
func Setup(ctx context.Context, mgr ctrl.Manager) (*Handler, error) {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &pagesv1alpha1.WebhookReceiver{}, PathIndex, func(o client.Object) []string {
		if p := o.(*pagesv1alpha1.WebhookReceiver).Status.Path; p != "" {
			return []string{p}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("indexing WebhookReceivers by path: %w", err)
	}
	log := ctrl.Log.WithName("webhooks")
	book := &StatusBook{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("isr-operator-server"), Interval: StatusInterval, Log: log}
	if err := mgr.Add(kube.EveryReplica(book.Start)); err != nil {
		return nil, err
	}
	h := &Handler{
		Reader: mgr.GetClient(), Secrets: mgr.GetAPIReader(), Status: book, Clock: clock.RealClock{}, Log: log,
	}
	// What was built for a receiver goes with it.
	inf, err := mgr.GetCache().GetInformer(ctx, &pagesv1alpha1.WebhookReceiver{})
	if err != nil {
		return nil, fmt.Errorf("watching WebhookReceivers: %w", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if whr, ok := obj.(*pagesv1alpha1.WebhookReceiver); ok {
			h.forget(whr.UID)
		}
	}}); err != nil {
		return nil, fmt.Errorf("watching WebhookReceivers: %w", err)
	}
	return h, nil
}

// Route serves deliveries (paths under PathPrefix) with hooks and every
// other request with api.
func Route(api, hooks http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, PathPrefix) {
			hooks.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
