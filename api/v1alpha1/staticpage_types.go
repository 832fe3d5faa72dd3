package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RevalidateAnnotation forces a re-render now: any value that differs from
// status.lastHandledRevalidate is acted on once, then echoed there.
const RevalidateAnnotation = "isr-operator.io/revalidate"

// RevalidateMode says what makes a page due for regeneration.
// +kubebuilder:validation:Enum=Interval;OnRequest
type RevalidateMode string

const (
	// RevalidateInterval re-renders the page every revalidate interval.
	RevalidateInterval RevalidateMode = "Interval"
	// RevalidateOnRequest re-renders a stale page only once a request for it
	// arrives, as Next.js does; an unvisited page costs the origin nothing.
	RevalidateOnRequest RevalidateMode = "OnRequest"
)

// Origin is where a page is rendered from.
type Origin struct {
	// url is fetched with GET to render the page: an absolute http:// or
	// https:// URL with a host. The manager's origin guard refuses loopback,
	// link-local, unspecified, multicast and cloud metadata addresses (IPv6
	// forms of them too) and the ranges of its --deny-origin-cidrs, unless
	// its --allow-origin allows them.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="origin.url must be an absolute http:// or https:// URL with a host"
	URL string `json:"url,omitempty"`

	// timeout bounds one fetch of the origin, body included: a duration
	// above 0s and at most 10m, such as 10s; unset uses the manager's
	// --default-origin-timeout.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('10m')",message="origin.timeout must be a duration above 0s and at most 10m, such as 10s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// StaticPageSpec declares one route and how it is kept up to date. A page
// has exactly one of origin (its own) and set (rendered from its
// StaticPageSet's template).
// +kubebuilder:validation:XValidation:rule="has(self.origin) != has(self.set)",message="exactly one of origin and set must be given: a page is rendered from its own origin, or from its StaticPageSet's"
type StaticPageSpec struct {
	// route is the path the page is served at, decoded (/café, not
	// /caf%C3%A9): absolute, no query or fragment, no '.', '..' or empty
	// segments, no percent-encoded characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="route must be an absolute path starting with '/'"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="route must not contain a query ('?') or fragment ('#')"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.]?(/|$)')",message="route must not contain '.' or '..' segments"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\\\s\\\\x00-\\\\x1f\\\\x7f]')",message="route must not contain whitespace or control characters"
	// +kubebuilder:validation:XValidation:rule="!self.contains('//')",message="route must not contain empty segments ('//')"
	// +kubebuilder:validation:XValidation:rule="!self.matches('%[0-9a-fA-F]{2}')",message="route must not contain percent-encoded characters such as '%2e': write the decoded path"
	Route string `json:"route,omitempty"`

	// host limits the page to requests for this host name (lowercase, at most
	// 253 characters, an optional :port from 1 to 65535); unset serves the
	// route for any host.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=260
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^:]{254,}')",message="host name must be at most 253 characters long"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^:]*:[0-9]{1,5}$') || (int(self.substring(self.indexOf(':') + 1)) >= 1 && int(self.substring(self.indexOf(':') + 1)) <= 65535)",message="host port must be a number from 1 to 65535"
	Host string `json:"host,omitempty"`

	// origin is where the page is rendered from; a page of a StaticPageSet
	// has none (its set's template gives it one).
	// +optional
	Origin Origin `json:"origin,omitzero"`

	// set makes this page a child of a StaticPageSet, rendered from the
	// set's origin template with the parameters the set's route pattern
	// gives spec.route, and with the set's revalidate settings. Such a page
	// is rendered only under the name the set gives its route (the set's
	// controller and the servers create them so); under any other, it is
	// Ready=False with reason OutsideSet. Immutable: delete the page and
	// create it again to change it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="set is immutable: delete the page and create it again"
	Set SetReference `json:"set,omitzero"`

	// revalidate is how long a rendered page stays fresh, at least 1s (such
	// as 60s); unset means the page is re-rendered only on demand (the
	// isr-operator.io/revalidate annotation, or the revalidate API).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="revalidate must be a duration of at least 1s, such as 60s"
	Revalidate *metav1.Duration `json:"revalidate,omitempty"`

	// revalidateMode chooses between re-rendering every interval
	// (Interval) and re-rendering only when a stale page is requested
	// (OnRequest).
	// +optional
	// +default="Interval"
	RevalidateMode RevalidateMode `json:"revalidateMode,omitempty"`

	// tags group pages, so that the revalidate API's "tags" and a CDN's
	// purge reach them together: at most 32, each 1 to 128 characters of
	// ASCII letters, digits and "-._~%", none starting with "isr_" (the
	// operator's own tags). The page also carries the tags its origin sends
	// and its identity tags; status.tags lists them all.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9._~%-]+$`
	// +kubebuilder:validation:items:XValidation:rule="!self.lowerAscii().startsWith('isr_')",message="tags must not start with 'isr_', which the operator's own tags use"
	Tags []string `json:"tags,omitempty"`

	// suspend stops all rendering of this page when true, the revalidate
	// annotation included; the last rendered page keeps being served.
	// Unset is false.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`
}

// StaticPageStatus is what the controller last did with the page.
// +kubebuilder:validation:MinProperties=1
type StaticPageStatus struct {
	// conditions hold Ready. True (reason Rendered): the latest render
	// succeeded and the page is served. Unknown (Rendering): the first
	// render of this spec is still running. False: the reason says why,
	// and the last good page, if any, stays served: Withdrawn (the origin
	// answered 404 or 410; the route answers 404), Suspended,
	// OriginUnreachable, OriginTimeout, OriginError, OriginRefused,
	// ContentTypeRefused, BodyTooLarge, InvalidBody, StorageTooLarge,
	// StorageConflict, StorageError, StorageUnavailable, HostNotAllowed
	// (nothing is served), and for a set's page SetNotFound or OutsideSet;
	// for a page a visitor's request created, Redirected (the origin
	// redirected; nothing is stored, see redirectRoute).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the spec generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// renderedAt is when the origin last answered successfully; a page is
	// stale once renderedAt plus the revalidate interval has passed.
	// +optional
	RenderedAt *metav1.Time `json:"renderedAt,omitempty"`

	// digest is "sha256:<hex>" of the page body being served; unset when no
	// page is served (not rendered yet, or withdrawn by the origin).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest,omitempty"`

	// size is the body's length in bytes, uncompressed.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Size int64 `json:"size,omitempty"`

	// storedBytes is what the content takes in storage and in each
	// server's memory: the body plus every compressed encoding kept and
	// served (gzip and brotli, each only when smaller); what a
	// StaticPageSet's maxBytes counts. Set when content is published,
	// unset when none is served.
	// +optional
	// +kubebuilder:validation:Minimum=1
	StoredBytes int64 `json:"storedBytes,omitempty"`

	// contentType is the origin's Content-Type, served with the page.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	ContentType string `json:"contentType,omitempty"`

	// originURL is the URL the page was last rendered from: spec.origin.url,
	// or for a StaticPageSet's page its set's template filled in; when the
	// set's template changes the page renders again.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	OriginURL string `json:"originURL,omitempty"`

	// redirectRoute is set, with Ready=False reason Redirected, on a page a
	// visitor's request created for a StaticPageSet when the origin
	// redirected the page's URL: the route of the set whose origin URL is
	// the redirect's final URL. Nothing is stored for this page; the
	// servers answer its route with a 308 to redirectRoute. Empty with
	// reason Redirected when the final URL is no path of the set: the route
	// answers 404.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	RedirectRoute string `json:"redirectRoute,omitempty"`

	// tags are every tag the page carries, as the server sends them to the
	// CDN in front and as the revalidate API's "tags" match them: its
	// identity tags (isr_page_<namespace>_<name>, and for a StaticPageSet's
	// page isr_set_<namespace>_<set>; a longer one ends in "~" and a hash),
	// then its spec.tags (for a set's page, its set's tags filled in) and
	// its origin's tags, sorted.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=66
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Tags []string `json:"tags,omitempty"`

	// originTags are the tags the origin sent at the last render, in the
	// manager's --origin-tag-header response headers (by default Cache-Tag,
	// Surrogate-Key and X-Cache-Tags; space- or comma-separated): at most
	// 32, the rest dropped.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	OriginTags []string `json:"originTags,omitempty"`

	// droppedOriginTags counts the tags the origin sent at the last render
	// that the page does not carry: not valid tags (longer than 128
	// characters, a character outside ASCII letters, digits and "-._~%",
	// or the reserved "isr_" prefix), or past the 32 kept. Unset when none
	// was dropped.
	// +optional
	// +kubebuilder:validation:Minimum=1
	DroppedOriginTags int32 `json:"droppedOriginTags,omitempty"`

	// lastPurge is the last purge of the page from the CDNs in front (the
	// CDN objects of its namespace that cover it) after new content: when,
	// which CDN, the result and the content it made visible. It turns
	// PurgePending in the same status write that publishes new content a
	// CDN covers, and Purged once every such CDN acknowledged the purge, so
	// that the revalidate API's wait and
	// `kubectl wait --for=jsonpath='{.status.lastPurge.result}'=Purged`
	// wait for it.
	// +optional
	LastPurge PurgeStatus `json:"lastPurge,omitzero"`

	// lastHandledRevalidate is the last isr-operator.io/revalidate
	// annotation value acted on, set once the render it asked for is done,
	// so that `kubectl wait --for=jsonpath='{.status.lastHandledRevalidate}'=VALUE`
	// waits for it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=262144
	LastHandledRevalidate string `json:"lastHandledRevalidate,omitempty"`

	// claim is the host and route the page holds, and since when: pages
	// claiming one host and route are ordered by claim.since, oldest
	// first, so changing spec.host or spec.route is a new claim that
	// never takes a route from a page that claimed it earlier.
	// +optional
	Claim RouteClaim `json:"claim,omitzero"`
}

// StaticPage is one route rendered from an origin and served with
// stale-while-revalidate. Any new value of the annotation
// isr-operator.io/revalidate re-renders it now; the value is echoed into
// status.lastHandledRevalidate when done.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sp,categories=isr
// +kubebuilder:printcolumn:name="Route",type=string,JSONPath=`.spec.route`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`,priority=1
// +kubebuilder:printcolumn:name="Revalidate",type=string,JSONPath=`.spec.revalidate`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.revalidateMode`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Last Rendered",type=date,JSONPath=`.status.renderedAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type StaticPage struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired page.
	// +required
	Spec StaticPageSpec `json:"spec,omitzero"`

	// status is the observed state of the page.
	// +optional
	Status StaticPageStatus `json:"status,omitzero"`
}

// StaticPageList is a list of StaticPages.
// +kubebuilder:object:root=true
type StaticPageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the pages.
	Items []StaticPage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&StaticPage{}, &StaticPageList{})
}
