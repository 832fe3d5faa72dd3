// Package webhook is the CMS webhook receivers: what the manager and the
// server share of a WebhookReceiver (its rules compiled with CEL, its
// Secret's keys, its path) and, on the server, the handler that verifies a
// delivery with the sender's own signature scheme and revalidates the
// pages its rules name, exactly as the revalidate API does.
package webhook
