package controllers

import "github.com/isr-operator/isr-operator/internal/render"

// ReadyCondition is True while the page's latest render succeeded and it is
// being served; its reason says why not otherwise.
const ReadyCondition = "Ready"

// Reasons of the Ready condition, also used as Event reasons.
const (
	// ReasonRendered: the origin answered and the page is served.
	ReasonRendered = "Rendered"
	// ReasonWithdrawn: the origin answered 404 or 410; the route serves 404.
	ReasonWithdrawn = "Withdrawn"
	// ReasonRendering: the first render has not finished yet.
	ReasonRendering = "Rendering"
	// ReasonSuspended: spec.suspend is set; nothing is rendered.
	ReasonSuspended = "Suspended"
	// ReasonStorageTooLarge: the page does not fit in storage.
	ReasonStorageTooLarge = "StorageTooLarge"
	// ReasonStorageConflict: the page's ConfigMap name is taken by an object
	// this operator does not own.
	ReasonStorageConflict = "StorageConflict"
	// ReasonStorageError: storage refused or failed the write.
	ReasonStorageError = "StorageError"

	// ReasonOriginUnreachable: the connection to the origin failed.
	ReasonOriginUnreachable = string(render.Unreachable)
	// ReasonOriginTimeout: the origin did not answer within the timeout.
	ReasonOriginTimeout = string(render.Timeout)
	// ReasonOriginError: the origin answered with an error status.
	ReasonOriginError = string(render.BadStatus)
	// ReasonBodyTooLarge: the origin's body is over --max-body-size.
	ReasonBodyTooLarge = string(render.TooLarge)
	// ReasonInvalidBody: the origin's body cannot be a page.
	ReasonInvalidBody = string(render.InvalidBody)
	// ReasonOriginRefused: the origin or one of its redirects leads to an
	// address the origin guard refuses (loopback, link-local, unspecified)
	// or to a scheme other than http(s).
	ReasonOriginRefused = string(render.Refused)
	// ReasonContentTypeRefused: the origin's content type is not in
	// --allowed-content-types.
	ReasonContentTypeRefused = string(render.ContentTypeRefused)
)

// Event reasons that are not condition reasons.
const (
	// EventRecovered: a page renders again after failures.
	EventRecovered = "Recovered"
)
