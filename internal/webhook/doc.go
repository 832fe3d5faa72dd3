// Package webhook is the CMS webhook receivers: what the manager and the
// server share of a WebhookReceiver (its rules compiled with CEL, its
// Secret's keys, its path) and, on the server, the handler that verifies a
// delivery with the sender's own signature scheme and revalidates the
// pages its rules name, exactly as the revalidate API does.
package webhook

// The server reads receivers, and their Secrets by name only (it neither
// lists nor watches Secrets), records each delivery's outcome in its
// receiver's status (an admission policy keeps it to the delivery fields),
// and emits an Event for refused deliveries.
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=webhookreceivers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=webhookreceivers/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
