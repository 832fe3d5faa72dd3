package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// outcomeUnknownPath is the outcome label of a delivery to a path no
// receiver is published at (namespace and receiver are then empty).
const outcomeUnknownPath = "UnknownPath"

// deliveries counts deliveries by receiver and outcome: the outcomes are
// the bounded WebhookOutcome values and UnknownPath.
var deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "isr_webhook_deliveries_total",
	Help: "Deliveries to WebhookReceivers, by receiver namespace and name and outcome (Accepted, NoMatch, Unauthorized, Stale, Replayed, InvalidPayload, NotReady, Failed; UnknownPath, with empty namespace and receiver, for a path no receiver is published at).",
}, []string{"namespace", "receiver", "outcome"})

func init() {
	ctrlmetrics.Registry.MustRegister(deliveries)
}
