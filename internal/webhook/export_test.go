package webhook

// Deliveries is isr_webhook_deliveries_total, for the suite.
var Deliveries = deliveries
