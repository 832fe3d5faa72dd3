package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CDNProvider names the kind of CDN or caching proxy a CDN object purges.
// +kubebuilder:validation:Enum=varnish;cloudflare;fastly;akamai;cloudfront;bunny;http
type CDNProvider string

const (
	// ProviderVarnish purges Varnish Cache servers running the VCL of
	// hack/varnish/default.vcl (the xkey module's documented example).
	ProviderVarnish CDNProvider = "varnish"
	// ProviderCloudflare purges a Cloudflare zone through its API.
	ProviderCloudflare CDNProvider = "cloudflare"
	// ProviderFastly purges a Fastly service through its API.
	ProviderFastly CDNProvider = "fastly"
	// ProviderAkamai purges through Akamai's Fast Purge API v3.
	ProviderAkamai CDNProvider = "akamai"
	// ProviderCloudFront invalidates paths of an Amazon CloudFront
	// distribution.
	ProviderCloudFront CDNProvider = "cloudfront"
	// ProviderBunny purges a bunny.net pull zone through its API.
	ProviderBunny CDNProvider = "bunny"
	// ProviderHTTP POSTs the tags or URLs to purge, as JSON, to a URL.
	ProviderHTTP CDNProvider = "http"
)

// Keys of a CDN's Secret (spec.secretRef).
const (
	// SecretKeyCloudflareToken holds a Cloudflare API token with the
	// zone's Cache Purge permission.
	SecretKeyCloudflareToken = "apiToken"
	// SecretKeyFastlyKey holds a Fastly API token with the purge_select
	// scope on the service.
	SecretKeyFastlyKey = "apiKey"
	// SecretKeyAkamaiClientToken, SecretKeyAkamaiClientSecret and
	// SecretKeyAkamaiAccessToken hold an Akamai API client's EdgeGrid
	// credentials (client_token, client_secret and access_token of its
	// .edgerc), with READ-WRITE access to the CCU APIs.
	SecretKeyAkamaiClientToken  = "clientToken"
	SecretKeyAkamaiClientSecret = "clientSecret"
	SecretKeyAkamaiAccessToken  = "accessToken"
	// SecretKeyBunnyAccessKey holds a bunny.net account API key.
	SecretKeyBunnyAccessKey = "accessKey"
	// SecretKeyHTTPToken holds the bearer token of provider http
	// (optional).
	SecretKeyHTTPToken = "token"
)

// CloudflareCDN is a Cloudflare zone.
type CloudflareCDN struct {
	// zoneID is the zone's id: 32 hex digits, shown on the zone's overview
	// page in the dashboard.
	// +required
	// +kubebuilder:validation:MinLength=32
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{32}$`
	ZoneID string `json:"zoneID,omitempty"`
	// endpoint replaces the API's base URL, https://api.cloudflare.com/client/v4,
	// for an egress proxy or a test server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// FastlyCDN is a Fastly service.
type FastlyCDN struct {
	// serviceID is the service's id, shown under the service's name in the
	// Fastly console.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]{1,64}$`
	ServiceID string `json:"serviceID,omitempty"`
	// softPurge marks purged objects stale instead of evicting them
	// (Fastly-Soft-Purge: 1), so Fastly may still serve one as stale if
	// the server cannot answer; true unless set to false.
	// +optional
	// +default=true
	SoftPurge *bool `json:"softPurge,omitempty"`
	// endpoint replaces the API's base URL, https://api.fastly.com, for
	// an egress proxy or a test server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// AkamaiNetwork is the Akamai network a purge applies to.
// +kubebuilder:validation:Enum=production;staging
type AkamaiNetwork string

// AkamaiCDN is what Akamai's Fast Purge API purges: an account's content
// on one network.
type AkamaiCDN struct {
	// host is the API client's host, the host field of its .edgerc, such
	// as akab-xxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx.purge.akamaiapis.net.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`
	Host string `json:"host,omitempty"`
	// network is production (the default) or staging.
	// +optional
	// +default="production"
	Network AkamaiNetwork `json:"network,omitempty"`
	// endpoint replaces https://<host>, for an egress proxy or a test
	// server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// CloudFrontCDN is an Amazon CloudFront distribution. The manager's AWS
// credentials come from the standard chain (environment, shared files,
// web identity such as EKS Pod Identity or IRSA), not from a Secret.
type CloudFrontCDN struct {
	// distributionID is the distribution's id, such as E2QWRUHAPOMQZL.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[A-Z0-9]{1,32}$`
	DistributionID string `json:"distributionID,omitempty"`
	// endpoint replaces CloudFront's API endpoint, for an egress proxy or
	// a test server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// BunnyCDN is a bunny.net pull zone.
type BunnyCDN struct {
	// pullZoneID is the pull zone's numeric id, shown in its URL in the
	// bunny.net dashboard.
	// +required
	// +kubebuilder:validation:Minimum=1
	PullZoneID int64 `json:"pullZoneID,omitempty"`
	// endpoint replaces the API's base URL, https://api.bunny.net, for an
	// egress proxy or a test server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// HTTPCDN is any purge service that takes a POST of a JSON body.
type HTTPCDN struct {
	// url receives each purge: a POST of {"tags": [...]} or
	// {"urls": [...]}, with a bearer token when the Secret has one.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="http.url must be an http:// or https:// URL with a host"
	URL string `json:"url,omitempty"`
}

// PurgeBy says what a purge names.
// +kubebuilder:validation:Enum=tags;urls
type PurgeBy string

const (
	// PurgeByTags purges each changed page by its identity tag: one
	// request per batch, however many pages.
	PurgeByTags PurgeBy = "tags"
	// PurgeByURLs purges each changed page's URL on each of its hosts.
	PurgeByURLs PurgeBy = "urls"
)

// VarnishService is a Service every ready endpoint of which is a Varnish
// server to purge, as its EndpointSlices list them at each purge.
type VarnishService struct {
	// name is the Service, in the CDN's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name,omitempty"`
	// port is the port Varnish listens on in its pods, which each endpoint
	// is purged on: the Service's targetPort (such as 6081), as its
	// EndpointSlices list it, not the Service's own port.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// VarnishCDN is where the Varnish servers are: a list of addresses, or a
// Service's endpoints.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="has(self.urls) != has(self.service)",message="give exactly one of urls and service"
type VarnishCDN struct {
	// urls are the Varnish servers, each an http:// or https:// base URL
	// such as http://varnish-0.varnish:6081; every one is purged.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="varnish.urls must be http:// or https:// URLs with a host"
	URLs []string `json:"urls,omitempty"`
	// service purges every ready endpoint of a Service (a StatefulSet or
	// Deployment of Varnish), read from its EndpointSlices at each purge,
	// so that scaling Varnish needs no change here.
	// +optional
	Service VarnishService `json:"service,omitzero"`
}

// SecretReference names a Secret in the CDN's namespace.
type SecretReference struct {
	// name is the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
}

// CDNSpec says which CDN is in front of a namespace's pages and how to
// purge it.
// +kubebuilder:validation:XValidation:rule="self.provider != 'varnish' || has(self.varnish)",message="provider varnish needs spec.varnish"
// +kubebuilder:validation:XValidation:rule="self.provider != 'cloudflare' || has(self.cloudflare)",message="provider cloudflare needs spec.cloudflare"
// +kubebuilder:validation:XValidation:rule="self.provider != 'fastly' || has(self.fastly)",message="provider fastly needs spec.fastly"
// +kubebuilder:validation:XValidation:rule="self.provider != 'akamai' || has(self.akamai)",message="provider akamai needs spec.akamai"
// +kubebuilder:validation:XValidation:rule="self.provider != 'cloudfront' || has(self.cloudfront)",message="provider cloudfront needs spec.cloudfront"
// +kubebuilder:validation:XValidation:rule="self.provider != 'cloudfront' || (has(self.purgeBy) && self.purgeBy == 'urls')",message="provider cloudfront invalidates by path: set purgeBy: urls"
// +kubebuilder:validation:XValidation:rule="self.provider != 'bunny' || has(self.bunny)",message="provider bunny needs spec.bunny"
// +kubebuilder:validation:XValidation:rule="self.provider != 'http' || has(self.http)",message="provider http needs spec.http"
// +kubebuilder:validation:XValidation:rule="!(self.provider in ['cloudflare', 'fastly', 'akamai', 'bunny']) || has(self.secretRef)",message="providers cloudflare, fastly, akamai and bunny need spec.secretRef with their API credentials"
// +kubebuilder:validation:XValidation:rule="[has(self.varnish), has(self.cloudflare), has(self.fastly), has(self.akamai), has(self.cloudfront), has(self.bunny), has(self.http)].filter(x, x).size() <= 1",message="give the settings of spec.provider only"
type CDNSpec struct {
	// provider is the kind of CDN: varnish, cloudflare, fastly, akamai,
	// cloudfront, bunny or http.
	// +required
	Provider CDNProvider `json:"provider,omitempty"`

	// varnish says where the Varnish servers are, with provider varnish.
	// +optional
	Varnish VarnishCDN `json:"varnish,omitzero"`

	// cloudflare is the zone, with provider cloudflare; spec.secretRef
	// holds the API token (key apiToken).
	// +optional
	Cloudflare CloudflareCDN `json:"cloudflare,omitzero"`

	// fastly is the service, with provider fastly; spec.secretRef holds
	// the API token (key apiKey).
	// +optional
	Fastly FastlyCDN `json:"fastly,omitzero"`

	// akamai is the Fast Purge API client's host and network, with
	// provider akamai; spec.secretRef holds its EdgeGrid credentials (keys
	// clientToken, clientSecret, accessToken).
	// +optional
	Akamai AkamaiCDN `json:"akamai,omitzero"`

	// cloudfront is the distribution, with provider cloudfront (which
	// needs purgeBy: urls); the AWS credentials come from the manager's
	// standard chain.
	// +optional
	CloudFront CloudFrontCDN `json:"cloudfront,omitzero"`

	// bunny is the pull zone, with provider bunny; spec.secretRef holds
	// the account API key (key accessKey).
	// +optional
	Bunny BunnyCDN `json:"bunny,omitzero"`

	// http is where purges are POSTed, with provider http; spec.secretRef,
	// if set, holds a bearer token (key token).
	// +optional
	HTTP HTTPCDN `json:"http,omitzero"`

	// purgeBy is what a purge names: tags (the default; each changed
	// page's identity tag, sent to the CDN with the server's
	// --cdn-tag-headers) or urls (each changed page's URL).
	// +optional
	// +default="tags"
	PurgeBy PurgeBy `json:"purgeBy,omitempty"`

	// hosts limits the CDN to pages of these hosts (exact names); empty
	// means every page of the namespace. A page for any host is purged on
	// each of them, by URL. A host not granted to the namespace (its
	// isr-operator.io/hosts annotation) is never purged.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=260
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$`
	Hosts []string `json:"hosts,omitempty"`

	// secretRef names a Secret in the CDN's namespace with the provider's
	// credentials: key apiToken for cloudflare, apiKey for fastly,
	// clientToken, clientSecret and accessToken for akamai, accessKey for
	// bunny, token (optional) for http. Varnish authenticates purgers by address (the
	// VCL's acl) and reads none. The Secret is read at each purge.
	// +optional
	SecretRef SecretReference `json:"secretRef,omitzero"`
}

// PurgeStatus is the outcome of one purge.
// +kubebuilder:validation:MinProperties=1
type PurgeStatus struct {
	// time is when the CDN answered the purge (or the last try failed);
	// while the purge is PurgePending, when the content was rendered.
	// +required
	Time *metav1.Time `json:"time,omitempty"`
	// cdn names the CDN object, in the page's namespace: on a page, the
	// CDN that refused the purge, else the last one that acknowledged it;
	// unset while PurgePending.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	CDN string `json:"cdn,omitempty"`
	// result is Purged or PurgeFailed; on a page, also PurgePending (the
	// purge of its new content is queued), and Purged only once every CDN
	// covering it acknowledged the purge.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Result string `json:"result,omitempty"`
	// digest is the content the purge made visible through the CDN.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest,omitempty"`
	// pages is how many pages the purge covered (on a CDN's status).
	// +optional
	// +kubebuilder:validation:Minimum=1
	Pages int32 `json:"pages,omitempty"`
	// message says why a purge failed.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// CDNStatus is what the manager last did with the CDN.
// +kubebuilder:validation:MinProperties=1
type CDNStatus struct {
	// conditions hold Ready: True (reason Purged) when the last purge was
	// acknowledged; False (PurgeFailed, retried with backoff) when it was
	// not, or (Unsupported) when the spec asks for what this manager does
	// not do.
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
	// lastPurge is the last purge sent.
	// +optional
	LastPurge PurgeStatus `json:"lastPurge,omitzero"`
}

// CDN is a CDN or caching proxy in front of the namespace's pages: once a
// page's new content is published, the manager purges the page from it, so
// the CDN may keep pages long (the server's --cdn-cache-control) and a
// change still reaches visitors at once.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=isr
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.provider`
// +kubebuilder:printcolumn:name="Purge By",type=string,JSONPath=`.spec.purgeBy`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Purge",type=date,JSONPath=`.status.lastPurge.time`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CDN struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the CDN and how to purge it.
	// +required
	Spec CDNSpec `json:"spec,omitzero"`

	// status is what the manager last did with it.
	// +optional
	Status CDNStatus `json:"status,omitzero"`
}

// CDNList is a list of CDNs.
// +kubebuilder:object:root=true
type CDNList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the CDNs.
	Items []CDN `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CDN{}, &CDNList{})
}

// Mode is spec.purgeBy with the API default applied.
func (c *CDN) Mode() PurgeBy {
	if c.Spec.PurgeBy == "" {
		return PurgeByTags
	}
	return c.Spec.PurgeBy
}
