package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations a StaticPageSet's child pages carry.
const (
	// SetLabel names the StaticPageSet a child StaticPage belongs to, so
	// that `kubectl annotate staticpages -l pages.isr-operator.io/set=NAME`
	// and the revalidate API's selector reach a set's pages.
	SetLabel = "pages.isr-operator.io/set"
	// CreatedByLabel says why a child exists: CreatedByPrerender (a path of
	// spec.prerender) or CreatedByRequest (a visitor asked for it).
	CreatedByLabel = "pages.isr-operator.io/created-by"
	// RequestedAtAnnotation is when a server last served the child (RFC
	// 3339, updated at most every tenth of the set's expireAfter): what
	// expireAfter counts from.
	RequestedAtAnnotation = "pages.isr-operator.io/requested-at"
)

// Values of CreatedByLabel.
const (
	// CreatedByPrerender marks a child made for a path of spec.prerender; it
	// is removed when the path leaves spec.prerender.
	CreatedByPrerender = "prerender"
	// CreatedByRequest marks a child made because a visitor requested its
	// path; it stays until expireAfter or the set goes.
	CreatedByRequest = "request"
)

// Fallback says what a request for a path of the set that has no page yet
// gets.
// +kubebuilder:validation:Enum=Blocking;NotFound
type Fallback string

const (
	// FallbackBlocking holds the request while the page is created and
	// rendered, then answers with it (Next.js fallback: 'blocking').
	FallbackBlocking Fallback = "Blocking"
	// FallbackNotFound answers 404: only prerendered paths exist (Next.js
	// fallback: false).
	FallbackNotFound Fallback = "NotFound"
)

// MaxSetPages is the highest spec.maxPages accepted: every server replica
// holds every page of every set in its route table.
const MaxSetPages = 100000

// SetReference names the StaticPageSet a child page is rendered for.
type SetReference struct {
	// name is the StaticPageSet, in the page's namespace, whose origin
	// template, timeout and revalidate settings render this page; its
	// parameters are those the set's route pattern gives spec.route.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`
}

// Prerender lists the paths a set renders as soon as it is applied: paths,
// sitemap, or both.
// +kubebuilder:validation:MinProperties=1
type Prerender struct {
	// paths are routes (absolute and decoded, as spec.route of a
	// StaticPage: no query, fragment, empty, '.' or '..' segments, no
	// percent-encoded characters) that must match the set's route pattern;
	// each becomes a child page at once. A path the pattern does not match
	// is skipped, with a PathsSkipped Event.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	// +kubebuilder:validation:items:XValidation:rule="self.startsWith('/')",message="prerender paths must be absolute paths starting with '/'"
	// +kubebuilder:validation:items:XValidation:rule="!self.contains('?') && !self.contains('#') && !self.contains('//') && !self.matches('(^|/)[.][.]?(/|$)') && !self.matches('%[0-9a-fA-F]{2}')",message="prerender paths must be decoded routes with no query, fragment, empty, '.' or '..' segments"
	Paths []string `json:"paths,omitempty"`

	// sitemap is an http(s) URL of a sitemap (or sitemap index) whose <loc>
	// URLs that match the set's host and route pattern are prerendered too;
	// it is fetched through the same origin guard as pages, and again at
	// each revalidate interval (at most hourly without one).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="prerender.sitemap must be an absolute http:// or https:// URL with a host"
	Sitemap string `json:"sitemap,omitempty"`
}

// ParameterConstraint limits the values one route parameter of a
// StaticPageSet takes.
type ParameterConstraint struct {
	// name is a parameter of spec.route: id for {id} or {path...}.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name,omitempty"`

	// pattern is an RE2 regular expression (Go regexp syntax) that the
	// parameter's whole value must match, decoded as the route holds it
	// (a {name...} value with its '/' separators): [1-9][0-9]{0,9} for
	// numeric ids, [a-z0-9]+(-[a-z0-9]+)* for slugs. A request whose value
	// does not match is not a path of the set: no page is created and the
	// origin is not asked. A pattern that does not compile leaves the set
	// Ready=False with reason InvalidSpec.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Pattern string `json:"pattern,omitempty"`
}

// StaticPageSetSpec declares a route pattern whose pages are rendered from
// one origin URL template: some upfront, the rest on first request. The
// template may use only parameters the route defines.
// +kubebuilder:validation:XValidation:rule="self.origin.url.findAll('[{][A-Za-z_][A-Za-z0-9_]*').all(n, self.route.contains(n + '}') || self.route.contains(n + '...}'))",message="origin.url may use only parameters that route defines, as {name}"
// +kubebuilder:validation:XValidation:rule="!has(self.parameters) || self.parameters.all(p, self.route.contains('{' + p.name + '}') || self.route.contains('{' + p.name + '...}'))",message="parameters may name only parameters that route defines"
// +kubebuilder:validation:XValidation:rule="!has(self.tags) || self.tags.all(t, t.findAll('[{][A-Za-z_][A-Za-z0-9_]*').all(n, self.route.contains(n + '}') || self.route.contains(n + '...}')))",message="tags may use only parameters that route defines, as {name}"
type StaticPageSetSpec struct {
	// route is the pattern of the set's paths, such as /products/{id}: a
	// route as on a StaticPage in which one or more segments are a whole
	// {name} parameter (distinct names of letters, digits and '_'), and the
	// last may be {name...}, matching one or more segments.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="route must be an absolute path starting with '/'"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="route must not contain a query ('?') or fragment ('#')"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.]?(/|$)')",message="route must not contain '.' or '..' segments"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\\\s\\\\x00-\\\\x1f\\\\x7f]')",message="route must not contain whitespace or control characters"
	// +kubebuilder:validation:XValidation:rule="!self.contains('//')",message="route must not contain empty segments ('//')"
	// +kubebuilder:validation:XValidation:rule="!self.matches('%[0-9a-fA-F]{2}')",message="route must not contain percent-encoded characters such as '%2e': write the decoded path"
	// +kubebuilder:validation:XValidation:rule="self.contains('{')",message="route must have at least one parameter, such as /products/{id}"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[^/][{]') && !self.matches('[}][^/]')",message="a route parameter must fill a whole segment, as /{name}/"
	// +kubebuilder:validation:XValidation:rule="self.findAll('[{][^/]*').all(t, t.matches('^[{][A-Za-z_][A-Za-z0-9_]*([.][.][.])?[}]$'))",message="route parameters must be {name} or a final {name...}, name being letters, digits or '_' not starting with a digit"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[.][.][.][}].')",message="a {name...} parameter must be the last segment of route"
	Route string `json:"route,omitempty"`

	// parameters constrain the values of route parameters, so that the
	// many spellings an origin may answer alike (/products/0042 for
	// /products/42, case variants of a slug) are not each a page of the
	// set: a path whose value breaks its parameter's pattern is not served
	// by the set (404, or a set with a less specific pattern), creates no
	// page and is never asked of the origin, and such prerender and
	// sitemap paths are skipped. Each name must be a parameter of route,
	// at most once.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Parameters []ParameterConstraint `json:"parameters,omitempty"`

	// host limits the set's pages to requests for this host name, as on a
	// StaticPage; unset serves them for any host.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=260
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^:]{254,}')",message="host name must be at most 253 characters long"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^:]*:[0-9]{1,5}$') || (int(self.substring(self.indexOf(':') + 1)) >= 1 && int(self.substring(self.indexOf(':') + 1)) <= 65535)",message="host port must be a number from 1 to 65535"
	Host string `json:"host,omitempty"`

	// origin renders each page: its url is a template in which {name} (or
	// {name...}) is replaced by the page's value of that route parameter,
	// escaped (path-escaped in the path, query-escaped in the query);
	// parameters may appear in its path and query, never in its scheme or
	// host, and only names the route defines.
	// +required
	Origin Origin `json:"origin,omitzero"`

	// revalidate is how long each page of the set stays fresh, as on a
	// StaticPage: at least 1s, such as 10m; unset means pages re-render
	// only on demand. A change re-renders nothing at once: each page takes
	// the new interval from its last render.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="revalidate must be a duration of at least 1s, such as 10m"
	Revalidate *metav1.Duration `json:"revalidate,omitempty"`

	// revalidateMode is given to every page of the set, as on a StaticPage.
	// +optional
	// +default="Interval"
	RevalidateMode RevalidateMode `json:"revalidateMode,omitempty"`

	// tags are given to every page of the set, as spec.tags of a
	// StaticPage, and may use the route's parameters as {name} (or
	// {name...}): with route /products/{id}, the tag product-{id} becomes
	// product-42 on the page /products/42. A parameter's value has every
	// character but ASCII letters, digits and "-._~" percent-encoded
	// (/products/café gives product-caf%C3%A9); a tag that is not valid once
	// filled in (longer than 128 characters, or starting with "isr_") is
	// left out. Each page also carries the set's identity tag
	// isr_set_<namespace>_<set>.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^([A-Za-z0-9._~%-]|[{][A-Za-z_][A-Za-z0-9_]*([.][.][.])?[}])+$`
	// +kubebuilder:validation:items:XValidation:rule="!self.lowerAscii().startsWith('isr_')",message="tags must not start with 'isr_', which the operator's own tags use"
	Tags []string `json:"tags,omitempty"`

	// prerender names the popular paths, rendered as soon as the set is
	// applied.
	// +optional
	Prerender Prerender `json:"prerender,omitzero"`

	// fallback says what a request for a path with no page yet gets:
	// Blocking renders it then and there, NotFound answers 404.
	// +optional
	// +default="Blocking"
	Fallback Fallback `json:"fallback,omitempty"`

	// maxPages bounds the pages the set holds, prerendered or requested
	// (at most 100000); past it a request for a new path gets 503. Pages
	// requests created are removed, least recently requested first, to
	// keep the set under it and to make room for prerender paths, which
	// always win over them.
	// +optional
	// +default=10000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxPages int32 `json:"maxPages,omitempty"`

	// maxBytes bounds the bytes the set's pages take, as their
	// status.storedBytes count them (every representation kept and
	// served: the body and its gzip and brotli encodings), a quantity of
	// at least 1Mi, such as 512Mi; 256Mi unless set. Pages requests
	// created are removed, least recently requested first, while the set
	// takes more; prerendered and sitemap pages never are: when they alone
	// take more, the set says so with the MaxBytesExceeded condition.
	// +optional
	// +default="256Mi"
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1048576 : quantity(string(self)).compareTo(quantity('1Mi')) >= 0",message="maxBytes must be at least 1Mi"
	MaxBytes *resource.Quantity `json:"maxBytes,omitempty"`

	// maxCreationRate bounds how many new pages per second the server
	// replicas together create for this set's visitors, and one client
	// address (an IPv6 address by its /64) gets at most a quarter of them,
	// rounded up, unless the servers run with
	// --max-connections-per-client=0 (behind a proxy); excess requests get
	// 503 with Retry-After. Without the revalidate API (whose Leases count
	// the budget across replicas) each replica has the whole budget to
	// itself.
	// +optional
	// +default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxCreationRate int32 `json:"maxCreationRate,omitempty"`

	// expireAfter removes a page created by a request (not a prerendered
	// one) that no server has served for this long: at least 1m, such as
	// 720h; 168h (7 days) unless set.
	// +optional
	// +default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="expireAfter must be a duration of at least 1m, such as 720h"
	ExpireAfter *metav1.Duration `json:"expireAfter,omitempty"`
}

// StaticPageSetStatus is what the set's controller last saw of the set.
// +kubebuilder:validation:MinProperties=1
type StaticPageSetStatus struct {
	// conditions hold Ready (True with reason Serving; False with reason
	// Conflict or InvalidSpec when the set creates no new page, its
	// existing pages staying served, or HostNotAllowed when its host is
	// not granted to its namespace), Full (True with MaxPagesReached when
	// the set holds maxPages pages; False with BelowMaxPages) and
	// Prerendered (True with reason Prerendered once every prerender path
	// has a page; False with SitemapError, MaxPagesReached, or Ready's
	// reason while Ready is False); and, only while True, NameCollision
	// (reason NameTaken) and MaxBytesExceeded (reason
	// PrerenderedOverMaxBytes).
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

	// pages is how many child pages the set has.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Pages *int32 `json:"pages,omitempty"`

	// storedBytes is what the set's pages take, the sum of their
	// status.storedBytes, which spec.maxBytes bounds.
	// +optional
	// +kubebuilder:validation:Minimum=0
	StoredBytes *int64 `json:"storedBytes,omitempty"`

	// readyPages is how many of them are Ready.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ReadyPages *int32 `json:"readyPages,omitempty"`

	// claim is the host and route pattern the set holds, and since when:
	// of two sets whose patterns overlap on one host, the one that claimed
	// first serves, so changing spec.host or spec.route is a new claim.
	// +optional
	Claim RouteClaim `json:"claim,omitzero"`
}

// StaticPageSet is a route pattern whose pages are StaticPages it owns:
// some rendered when it is applied, the rest on first request. Each page
// is labelled pages.isr-operator.io/set=<set name> and
// pages.isr-operator.io/created-by=prerender|request, so that kubectl
// annotate -l and the revalidate API reach a set's pages.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sps,categories=isr
// +kubebuilder:printcolumn:name="Route",type=string,JSONPath=`.spec.route`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`,priority=1
// +kubebuilder:printcolumn:name="Pages",type=integer,JSONPath=`.status.pages`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Bytes",type=integer,JSONPath=`.status.storedBytes`,priority=1
// +kubebuilder:printcolumn:name="Fallback",type=string,JSONPath=`.spec.fallback`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type StaticPageSet struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired set.
	// +required
	Spec StaticPageSetSpec `json:"spec,omitzero"`

	// status is the observed state of the set.
	// +optional
	Status StaticPageSetStatus `json:"status,omitzero"`
}

// StaticPageSetList is a list of StaticPageSets.
// +kubebuilder:object:root=true
type StaticPageSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the sets.
	Items []StaticPageSet `json:"items"`
}

func init() {
	SchemeBuilder.Register(&StaticPageSet{}, &StaticPageSetList{})
}
