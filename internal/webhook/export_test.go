package webhook

import "k8s.io/apimachinery/pkg/types"

// Deliveries is isr_webhook_deliveries_total, for the suite.
var Deliveries = deliveries

// Built reports whether h keeps anything for uid.
func (h *Handler) Built(uid types.UID) bool { return h.built(uid) }
