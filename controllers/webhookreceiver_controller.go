package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlhandler "sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/webhook"
)

// receiverSecretIndex indexes WebhookReceivers by the Secret they name.
const receiverSecretIndex = "spec.secretRef.name"

// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=webhookreceivers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=webhookreceivers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// WebhookReceiverReconciler checks each WebhookReceiver: its rules compile
// and type-check, its Secret holds the keys its type needs. It publishes
// the receiver's path and says in Ready whether the server may serve it.
// It never handles a delivery: the server does, and writes the delivery
// parts of the status.
type WebhookReceiverReconciler struct {
	client.Client
	// Secrets reads a receiver's Secret from the API server: the manager
	// watches only Secrets' metadata, so no Secret's data stays in its
	// memory.
	Secrets client.Reader
}

// receiverCheck is what the reconciler found out about a receiver.
type receiverCheck struct {
	// reason and message are Ready's.
	reason, message string
	// path is the receiver's path, once its Secret is read.
	path string
}

// Reconcile checks the receiver and records the outcome in its status.
func (r *WebhookReceiverReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	whr := &pagesv1alpha1.WebhookReceiver{}
	if err := r.Get(ctx, req.NamespacedName, whr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	check, err := r.check(ctx, whr)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.writeStatus(ctx, whr, check)
}

// check compiles the rules, then reads the Secret; the first problem found
// is Ready's reason. An error is one worth retrying (the API server failed).
func (r *WebhookReceiverReconciler) check(ctx context.Context, whr *pagesv1alpha1.WebhookReceiver) (receiverCheck, error) {
	var c receiverCheck
	key := types.NamespacedName{Namespace: whr.Namespace, Name: whr.Spec.SecretRef.Name}
	s := &corev1.Secret{}
	switch err := r.Secrets.Get(ctx, key, s); {
	case apierrors.IsNotFound(err):
		c.reason, c.message = pagesv1alpha1.ReasonSecretNotFound, fmt.Sprintf("Secret %s not found in namespace %s", key.Name, key.Namespace)
	case err != nil:
		return c, fmt.Errorf("reading Secret %s: %w", key, err)
	default:
		sec, err := webhook.SecretFor(whr.Spec.Type, s)
		if err != nil {
			c.reason, c.message = pagesv1alpha1.ReasonSecretInvalid, err.Error()
		} else {
			c.path = webhook.Path(sec, whr.Namespace, whr.Name)
		}
	}
	// A rule error says more than a Secret error: it needs the receiver
	// fixed, which the message then describes.
	if _, err := webhook.Compile(whr.Spec.Rules); err != nil {
		c.reason, c.message = pagesv1alpha1.ReasonInvalidRule, err.Error()
	}
	if c.reason == "" {
		c.reason, c.message = pagesv1alpha1.ReasonReceiverReady, "deliveries are served at status.path"
	}
	return c, nil
}

// writeStatus patches Ready, path and observedGeneration, leaving the
// delivery fields, which the server writes, as they are.
func (r *WebhookReceiverReconciler) writeStatus(ctx context.Context, whr *pagesv1alpha1.WebhookReceiver, c receiverCheck) error {
	before := whr.DeepCopy()
	status := metav1.ConditionFalse
	if c.reason == pagesv1alpha1.ReasonReceiverReady {
		status = metav1.ConditionTrue
	}
	// A condition message holds at most 32768 bytes.
	msg := truncate(c.message, 32*1024)
	setStatusCondition(&whr.Status.Conditions, whr.Generation, pagesv1alpha1.ReadyCondition, status, c.reason, msg)
	whr.Status.Path = c.path
	whr.Status.ObservedGeneration = whr.Generation
	if old := meta.FindStatusCondition(before.Status.Conditions, pagesv1alpha1.ReadyCondition); old != nil &&
		old.Status == status && old.Reason == c.reason && old.Message == msg && old.ObservedGeneration == whr.Generation &&
		before.Status.Path == c.path && before.Status.ObservedGeneration == whr.Generation {
		return nil
	}
	if err := r.Status().Patch(ctx, whr, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("writing the status of WebhookReceiver %s/%s: %w", whr.Namespace, whr.Name, err)
	}
	return nil
}

// SetupWithManager registers the reconciler. A receiver is checked when its
// spec changes and when the Secret it names is created, changed or deleted.
func (r *WebhookReceiverReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Secrets == nil {
		r.Secrets = mgr.GetAPIReader()
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pagesv1alpha1.WebhookReceiver{}, receiverSecretIndex,
		func(o client.Object) []string {
			return []string{o.(*pagesv1alpha1.WebhookReceiver).Spec.SecretRef.Name}
		}); err != nil {
		return fmt.Errorf("indexing receivers by Secret: %w", err)
	}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&pagesv1alpha1.WebhookReceiver{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Secret{}, ctrlhandler.EnqueueRequestsFromMapFunc(r.receiversOfSecret)).
		Complete(r)
	if err != nil {
		return fmt.Errorf("setting up the WebhookReceiver controller: %w", err)
	}
	return nil
}

// receiversOfSecret are the receivers naming a Secret.
func (r *WebhookReceiverReconciler) receiversOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	list := &pagesv1alpha1.WebhookReceiverList{}
	if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{receiverSecretIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the WebhookReceivers of a Secret", "secret", client.ObjectKeyFromObject(o))
		return nil
	}
	reqs := make([]reconcile.Request, len(list.Items))
	for i := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
	}
	return reqs
}
