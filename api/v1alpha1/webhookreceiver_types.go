package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WebhookType names a sender's signature scheme: how a WebhookReceiver
// verifies a delivery, each exactly as the sender documents it.
// +kubebuilder:validation:Enum=contentful;sanity;storyblok;hygraph;ghost;standard-webhooks;github;bearer;basic;isr
type WebhookType string

// The signature schemes a WebhookReceiver verifies.
const (
	// WebhookContentful: Contentful request signing (x-contentful-signature
	// over method, path, signed headers and body; x-contentful-timestamp).
	WebhookContentful WebhookType = "contentful"
	// WebhookSanity: sanity-webhook-signature "t=…,v1=…".
	WebhookSanity WebhookType = "sanity"
	// WebhookStoryblok: webhook-signature, HMAC-SHA1 of the body.
	WebhookStoryblok WebhookType = "storyblok"
	// WebhookHygraph: gcms-signature.
	WebhookHygraph WebhookType = "hygraph"
	// WebhookGhost: x-ghost-signature "sha256=…, t=…".
	WebhookGhost WebhookType = "ghost"
	// WebhookStandard: Standard Webhooks (webhook-id, webhook-timestamp,
	// webhook-signature; Svix-compatible).
	WebhookStandard WebhookType = "standard-webhooks"
	// WebhookGitHub: x-hub-signature-256.
	WebhookGitHub WebhookType = "github"
	// WebhookBearer: "Authorization: Bearer <secret>", for senders that do
	// not sign (Strapi, Directus).
	WebhookBearer WebhookType = "bearer"
	// WebhookBasic: HTTP basic authentication (DatoCMS).
	WebhookBasic WebhookType = "basic"
	// WebhookISR: the revalidate API's X-Isr-Signature and X-Isr-Timestamp.
	WebhookISR WebhookType = "isr"
)

// WebhookRule maps a delivery to pages: when match holds, the pages its
// paths, tags and selector name are revalidated. Each is a CEL expression
// over `body` (the JSON-decoded payload, dyn), `headers` (a map of
// lower-cased header names to their values joined by ", ") and `method`.
// +kubebuilder:validation:XValidation:rule="has(self.paths) || has(self.tags) || has(self.selector)",message="a rule needs at least one of paths, tags and selector"
type WebhookRule struct {
	// match is a CEL boolean: whether the rule applies to a delivery, such
	// as `headers['x-contentful-topic'].endsWith('.publish')`; `true`
	// matches every delivery.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Match string `json:"match,omitempty"`
	// paths is a CEL list of strings: URL paths of pages in the receiver's
	// namespace, as visitors request them, such as `['/posts/' + body.slug]`.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Paths string `json:"paths,omitempty"`
	// tags is a CEL list of strings: tags of pages in the receiver's
	// namespace, such as `[body._type]`.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Tags string `json:"tags,omitempty"`
	// selector is a CEL string: a label selector over StaticPages in the
	// receiver's namespace, as `kubectl -l` takes, such as
	// `'blog=' + body.blog`.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Selector string `json:"selector,omitempty"`
}

// WebhookReceiverSpec says how deliveries are verified and which pages
// each revalidates.
type WebhookReceiverSpec struct {
	// type is the sender's signature scheme: contentful, sanity, storyblok,
	// hygraph, ghost, standard-webhooks, github, bearer, basic or isr.
	// +required
	Type WebhookType `json:"type,omitempty"`
	// secretRef names the Secret, in the receiver's namespace, holding the
	// key `secret` (the signing secret or token, as the sender shows it;
	// for standard-webhooks the whsec_… value), or `username` and
	// `password` for type basic. A change to it is picked up without a
	// restart; it also changes status.path.
	// +required
	SecretRef SecretReference `json:"secretRef,omitzero"`
	// window bounds how far a timestamped delivery's signed time may be
	// from now; older (or later) deliveries are refused as replays.
	// +optional
	// +default="5m"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="window must be a duration from 1s to 24h, such as 5m"
	Window *metav1.Duration `json:"window,omitempty"`
	// delay is how long to wait after a delivery before revalidating, for
	// senders whose read API lags their webhook; the delivery is answered
	// once the pages are annotated.
	// +optional
	// +default="0s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('30s')",message="delay must be a duration from 0s to 30s, such as 3s"
	Delay *metav1.Duration `json:"delay,omitempty"`
	// rules map a delivery to pages; the pages of every rule whose match
	// holds are revalidated together.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Rules []WebhookRule `json:"rules,omitempty"`
}

// WebhookOutcome is what became of a delivery; its values are bounded, and
// are also the outcome label of isr_webhook_deliveries_total.
// +kubebuilder:validation:Enum=Accepted;NoMatch;Unauthorized;Stale;Replayed;InvalidPayload;NotReady;Failed
type WebhookOutcome string

// Outcomes of a delivery.
const (
	// OutcomeAccepted: verified, and the pages it names are revalidated.
	OutcomeAccepted WebhookOutcome = "Accepted"
	// OutcomeNoMatch: verified, but no rule matched or no page answers to
	// what they name; nothing is revalidated.
	OutcomeNoMatch WebhookOutcome = "NoMatch"
	// OutcomeUnauthorized: the signature or credentials are missing,
	// malformed or wrong.
	OutcomeUnauthorized WebhookOutcome = "Unauthorized"
	// OutcomeStale: the signed timestamp is outside spec.window.
	OutcomeStale WebhookOutcome = "Stale"
	// OutcomeReplayed: the delivery was accepted before, by this replica or
	// another.
	OutcomeReplayed WebhookOutcome = "Replayed"
	// OutcomeInvalidPayload: the body is not JSON, or a rule's expression
	// failed on it; nothing is revalidated.
	OutcomeInvalidPayload WebhookOutcome = "InvalidPayload"
	// OutcomeNotReady: the receiver is not Ready (a rule is invalid, or its
	// Secret is missing); nothing is verified.
	OutcomeNotReady WebhookOutcome = "NotReady"
	// OutcomeFailed: the cluster could not be reached to record or
	// revalidate; the sender should retry.
	OutcomeFailed WebhookOutcome = "Failed"
)

// WebhookOutcomes are every outcome, in a stable order.
var WebhookOutcomes = []WebhookOutcome{OutcomeAccepted, OutcomeNoMatch, OutcomeUnauthorized, OutcomeStale,
	OutcomeReplayed, OutcomeInvalidPayload, OutcomeNotReady, OutcomeFailed}

// Refused reports whether o is a refusal of the sender (any outcome but
// Accepted and NoMatch).
func (o WebhookOutcome) Refused() bool { return o != OutcomeAccepted && o != OutcomeNoMatch }

// WebhookDelivery is the outcome of one delivery.
type WebhookDelivery struct {
	// time is when the delivery was answered.
	// +required
	Time *metav1.Time `json:"time,omitempty"`
	// outcome is what became of it.
	// +required
	Outcome WebhookOutcome `json:"outcome,omitempty"`
	// pagesMatched is how many pages it revalidated.
	// +optional
	// +kubebuilder:validation:Minimum=0
	PagesMatched *int32 `json:"pagesMatched,omitempty"`
	// message says why a delivery was refused, or what it revalidated.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// WebhookCounters count deliveries since the receiver was created.
// +kubebuilder:validation:MinProperties=1
type WebhookCounters struct {
	// accepted counts deliveries that were verified (outcomes Accepted and
	// NoMatch).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Accepted *int64 `json:"accepted,omitempty"`
	// refused counts the others.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Refused *int64 `json:"refused,omitempty"`
}

// WebhookReceiverStatus is where deliveries are sent and what became of
// them.
// +kubebuilder:validation:MinProperties=1
type WebhookReceiverStatus struct {
	// conditions hold Ready: True (reason Ready) when every rule compiles
	// and the Secret holds the keys the type needs; False (InvalidRule,
	// SecretNotFound, SecretInvalid) otherwise, and deliveries are then
	// answered 503.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// observedGeneration is the spec generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// path is where the sender posts, on the revalidate API's port:
	// /hook/ and a digest of the secret, name and namespace. It cannot be
	// guessed, and changes when the secret does.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Path string `json:"path,omitempty"`
	// lastDelivery is the last delivery answered (written at most once a
	// second per receiver, so some are not shown; the counters count
	// every one).
	// +optional
	LastDelivery WebhookDelivery `json:"lastDelivery,omitzero"`
	// counters count deliveries by outcome.
	// +optional
	Counters WebhookCounters `json:"counters,omitzero"`
}

// WebhookReceiver receives a CMS's webhooks: it verifies each delivery with
// the sender's own signature scheme and revalidates the pages, in its
// namespace, its rules name.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=whr,categories=isr
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Delivery",type=date,JSONPath=`.status.lastDelivery.time`
// +kubebuilder:printcolumn:name="Outcome",type=string,JSONPath=`.status.lastDelivery.outcome`
// +kubebuilder:printcolumn:name="Pages",type=integer,JSONPath=`.status.lastDelivery.pagesMatched`
// +kubebuilder:printcolumn:name="Path",type=string,JSONPath=`.status.path`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WebhookReceiver struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is how deliveries are verified and mapped to pages.
	// +required
	Spec WebhookReceiverSpec `json:"spec,omitzero"`

	// status is where deliveries go and what became of them.
	// +optional
	Status WebhookReceiverStatus `json:"status,omitzero"`
}

// WebhookReceiverList is a list of WebhookReceivers.
// +kubebuilder:object:root=true
type WebhookReceiverList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the WebhookReceivers.
	Items []WebhookReceiver `json:"items"`
}

func init() {
	SchemeBuilder.Register(&WebhookReceiver{}, &WebhookReceiverList{})
}
