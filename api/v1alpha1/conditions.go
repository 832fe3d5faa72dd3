package v1alpha1

// The condition types and reasons below are part of the API: users wait on
// them (`kubectl wait --for=condition=Ready`), alerts match them, and the
// revalidate API returns them as `reason`. They live here, and only here.

// ReadyCondition is the one condition of a StaticPage. True (good): the
// latest render succeeded and the page is served. False: its reason says why
// not (the last good page, if any, is still served). Unknown: the first
// render of the current spec is running.
const ReadyCondition = "Ready"

// Reasons of the Ready condition; each is also the reason of the Event
// emitted when the page enters it.
const (
	// ReasonRendered (Ready=True, good): the origin answered and the page is
	// served.
	ReasonRendered = "Rendered"
	// ReasonWithdrawn (Ready=False, expected): the origin answered 404 or
	// 410; the route serves 404 until the origin has the page again.
	ReasonWithdrawn = "Withdrawn"
	// ReasonRedirected (Ready=False, expected) of a page a visitor's
	// request created for a StaticPageSet: the origin answered its URL
	// with a redirect. Nothing is stored for the path; status.redirectRoute
	// is the set's path the final URL maps to, which the servers answer
	// with a 308 to, or empty when there is none (answered 404). The page
	// is kept as that record for as long as a withdrawn one, then deleted.
	ReasonRedirected = "Redirected"
	// ReasonRendering (Ready=Unknown, transient): the first render of this
	// spec has not finished yet.
	ReasonRendering = "Rendering"
	// ReasonSuspended (Ready=False, chosen): spec.suspend is set and the page
	// was never rendered; nothing is rendered.
	ReasonSuspended = "Suspended"

	// ReasonStorageTooLarge (Ready=False, bad): the page does not fit in
	// storage; the last good page stays served.
	ReasonStorageTooLarge = "StorageTooLarge"
	// ReasonStorageConflict (Ready=False, bad): the page's storage slot is
	// held by an object this operator does not own, which it will not
	// overwrite.
	ReasonStorageConflict = "StorageConflict"
	// ReasonStorageError (Ready=False, bad, retried): storage refused or
	// failed the write.
	ReasonStorageError = "StorageError"
	// ReasonStorageUnavailable (Ready=False, bad, retried): the object store
	// cannot be used (unreachable, too slow, failing, refusing the
	// credentials, or its bucket is missing); the last good page stays
	// served.
	ReasonStorageUnavailable = "StorageUnavailable"

	// ReasonOriginUnreachable (Ready=False, bad, retried): the connection to
	// the origin failed (refused, reset, DNS).
	ReasonOriginUnreachable = "OriginUnreachable"
	// ReasonOriginTimeout (Ready=False, bad, retried): the origin did not
	// answer, body included, within the timeout.
	ReasonOriginTimeout = "OriginTimeout"
	// ReasonOriginError (Ready=False, bad, retried): the origin answered
	// with a status other than 2xx, 404 or 410, or redirected too often.
	ReasonOriginError = "OriginError"
	// ReasonBodyTooLarge (Ready=False, bad, retried): the origin's body is
	// over the manager's --max-body-size.
	ReasonBodyTooLarge = "BodyTooLarge"
	// ReasonInvalidBody (Ready=False, bad, retried): the origin's body cannot
	// be a page (empty).
	ReasonInvalidBody = "InvalidBody"
	// ReasonOriginRefused (Ready=False, bad, retried): the origin or one of
	// its redirects leads to an address the origin guard refuses (loopback,
	// link-local, unspecified) or to a scheme other than http(s).
	ReasonOriginRefused = "OriginRefused"
	// ReasonContentTypeRefused (Ready=False, bad, retried): the origin's
	// content type is not in the manager's --allowed-content-types.
	ReasonContentTypeRefused = "ContentTypeRefused"
	// ReasonHostNotAllowed (Ready=False, bad) of a StaticPage or a
	// StaticPageSet: its host (or, with no host, every host) is not granted
	// to its namespace by the Namespace annotation isr-operator.io/hosts;
	// nothing is rendered, served or created for it until a cluster admin
	// grants it (the message says how).
	ReasonHostNotAllowed = "HostNotAllowed"
)

// Event reasons that are not condition reasons.
const (
	// EventRecovered: a page renders again after failures.
	EventRecovered = "Recovered"
	// EventObjectsLeft: a deleted page's stored objects could not be
	// removed in time; the periodic sweep removes them later.
	EventObjectsLeft = "StoredObjectsLeft"
)

// StorageFinalizer holds a StaticPage stored in an object store until its
// objects are removed (or left, after a bounded wait, to the sweep).
const StorageFinalizer = "pages.isr-operator.io/storage"

// PagesFinalizer holds a deleted StaticPageSet until its pages are deleted,
// so that they, and what they stored, go with it even where no garbage
// collector follows ownerReferences at once.
const PagesFinalizer = "pages.isr-operator.io/pages"

// States the revalidate API reports for a page that is not live yet; they
// are not condition reasons, since they describe one server's view.
const (
	// LiveRendering: the render asked for has not finished.
	LiveRendering = "Rendering"
	// LiveLoading: rendered, but this server has not loaded the new content.
	LiveLoading = "Loading"
	// LiveUnknown: the page could not be read.
	LiveUnknown = "Unknown"
)

// Reasons of a set child's Ready condition, when the set cannot render it.
const (
	// ReasonSetNotFound (Ready=False, bad): the page names a StaticPageSet
	// that does not exist; nothing is rendered.
	ReasonSetNotFound = "SetNotFound"
	// ReasonOutsideSet (Ready=False, bad): the page's route or host is not
	// one its set's pattern matches (a path parameter refused, or a forged
	// page), or its name is not the one its set gives its route
	// (IsChildName); nothing is rendered.
	ReasonOutsideSet = "OutsideSet"
)

// Conditions and reasons of a StaticPageSet. Its Ready condition: True
// (good) when its pages are prerendered and served and new paths may be
// created; False when the set serves nothing new (its existing pages stay
// served).
const (
	// ReasonServing (Ready=True, good): the set's pattern is valid and its
	// own; prerendered paths have pages and, with fallback Blocking, new
	// paths are rendered on request.
	ReasonServing = "Serving"
	// ReasonConflict (Ready=False, bad): an older set claims the same
	// pattern on the same host; this one creates no page until it is
	// changed or the other goes.
	ReasonConflict = "Conflict"
	// ReasonInvalidSpec (Ready=False, bad): the route pattern or origin
	// template is one the API server accepted but the controller cannot
	// use; the message says why.
	ReasonInvalidSpec = "InvalidSpec"

	// FullCondition (abnormal-true) is True when the set holds maxPages
	// pages: a request for a new path gets 503 until pages expire or
	// maxPages is raised.
	FullCondition = "Full"
	// ReasonMaxPages (Full=True, bad): the set has reached spec.maxPages.
	ReasonMaxPages = "MaxPagesReached"
	// ReasonBelowMaxPages (Full=False, good): there is room for new pages.
	ReasonBelowMaxPages = "BelowMaxPages"

	// NameCollisionCondition (abnormal-true) is present, and True, while
	// the name of a prerender path's page is taken by a StaticPage that is
	// not the set's page for that path: that path gets no page, and a
	// request for it 503. The condition is removed once no name is taken.
	NameCollisionCondition = "NameCollision"
	// ReasonNameTaken (NameCollision=True, bad): the message lists the
	// paths whose page names are taken.
	ReasonNameTaken = "NameTaken"

	// MaxBytesExceededCondition (abnormal-true) is present, and True,
	// while the set's prerendered and sitemap pages alone take more than
	// spec.maxBytes: they are never removed for bytes, so the set stays
	// over its budget until maxBytes is raised or prerender paths go. The
	// condition is removed once they fit.
	MaxBytesExceededCondition = "MaxBytesExceeded"
	// ReasonPrerenderedOverMaxBytes (MaxBytesExceeded=True, bad): the
	// message says how many bytes the prerendered pages take.
	ReasonPrerenderedOverMaxBytes = "PrerenderedOverMaxBytes"

	// PrerenderedCondition is True when every prerender path (listed or
	// from the sitemap) has a page.
	PrerenderedCondition = "Prerendered"
	// ReasonPrerendered (Prerendered=True, good): every prerender path has
	// a page.
	ReasonPrerendered = "Prerendered"
	// ReasonSitemapError (Prerendered=False, bad, retried): the sitemap
	// could not be fetched or read; pages made from it before stay.
	ReasonSitemapError = "SitemapError"
)

// Event reasons of a StaticPageSet that are not condition reasons.
const (
	// EventPagesCreated: child pages were created for prerender paths.
	EventPagesCreated = "PagesCreated"
	// EventPagesRemoved: prerendered child pages were deleted because their
	// paths left spec.prerender (or an explicit StaticPage took them).
	EventPagesRemoved = "PagesRemoved"
	// EventPagesExpired: child pages created by requests were deleted
	// because no server served them for spec.expireAfter.
	EventPagesExpired = "PagesExpired"
	// EventPagesEvicted: child pages created by requests were deleted,
	// least recently requested first, because the set held more than
	// spec.maxPages or spec.maxBytes, or prerender paths needed their room.
	EventPagesEvicted = "PagesEvicted"
	// EventMisnamedPagesRemoved (Warning): pages created by requests under
	// a name that is not the one the set gives their route (IsChildName)
	// were deleted: such a page is never rendered, and would keep the path
	// whose name it holds from having its page.
	EventMisnamedPagesRemoved = "MisnamedPagesRemoved"
	// EventNameCollision: a server answered 503 to requests for paths of
	// the set whose page's name a StaticPage that is not the set's page
	// for the path has taken (prerender paths are reported by the
	// NameCollision condition instead); at most one per set and server
	// replica every few seconds, naming the last path and the page.
	EventNameCollision = "NameCollision"
	// EventPathsSkipped: listed prerender paths that do not match the
	// set's route pattern; they get no page.
	EventPathsSkipped = "PathsSkipped"
)

// Reasons of a CDN's Ready condition, and of the Events a page gets when it
// is purged from a CDN.
const (
	// ReasonPurged (Ready=True, good): the CDN acknowledged the last purge.
	ReasonPurged = "Purged"
	// ReasonPurgeFailed (Ready=False, bad, retried with backoff): the CDN
	// refused or did not answer the last purge.
	ReasonPurgeFailed = "PurgeFailed"
	// ReasonUnsupported (Ready=False, bad): the CDN's spec asks for what
	// this manager does not do; nothing is purged.
	ReasonUnsupported = "Unsupported"
	// ReasonPurgePending (a page's status.lastPurge.result, transient): the
	// page's new content is published and a CDN of its namespace covers
	// it; the purge is queued and not acknowledged yet.
	ReasonPurgePending = "PurgePending"
)

// Reasons of a WebhookReceiver's Ready condition. Ready=True (good): its
// deliveries are verified and served; False: each is answered 503 until
// the reason is fixed.
const (
	// ReasonReceiverReady (Ready=True, good): every rule compiles and the
	// Secret holds the keys the type needs.
	ReasonReceiverReady = "Ready"
	// ReasonInvalidRule (Ready=False, bad): a rule's expression does not
	// compile or has the wrong type; the message is the compiler's.
	ReasonInvalidRule = "InvalidRule"
	// ReasonSecretNotFound (Ready=False, bad): spec.secretRef names no
	// Secret in the receiver's namespace.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretInvalid (Ready=False, bad): the Secret lacks the key the
	// type needs (secret; username and password for basic), or it is empty.
	ReasonSecretInvalid = "SecretInvalid"
)

// EventDeliveryRefused is the reason of the Event a WebhookReceiver gets
// when it refused deliveries (the Event says why, never what a body held).
const EventDeliveryRefused = "DeliveryRefused"
