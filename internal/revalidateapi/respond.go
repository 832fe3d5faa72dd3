package revalidateapi

import (
	"encoding/json"
	"net/http"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// PageResult is one matched page in a response.
type PageResult struct {
	// Namespace and Name identify the StaticPage.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Host and Route are where the page is served.
	Host  string `json:"host,omitempty"`
	Route string `json:"route"`
	// Live is set with wait: true once this server serves the new render.
	Live *bool `json:"live,omitempty"`
	// Purged is set with wait: true for a page a CDN covers, once every
	// CDN covering it acknowledged the purge of the new render (the page's
	// status.lastPurge); unset for a page no CDN covers.
	Purged *bool `json:"purged,omitempty"`
	// Reason and Message are the page's Ready condition when it is not
	// live, or its status.lastPurge when it is live but not purged.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Unmatched lists what a request named that no page answers to.
type Unmatched struct {
	// Paths are requested paths no page serves.
	Paths []string `json:"paths,omitempty"`
	// Names are requested StaticPage names that do not exist.
	Names []string `json:"names,omitempty"`
	// Selector is the requested selector when it matched no page.
	Selector string `json:"selector,omitempty"`
	// Tags are requested tags no page carries.
	Tags []string `json:"tags,omitempty"`
}

// Response is the JSON body of a successful call.
type Response struct {
	// Token is the annotation value set on every matched page.
	Token string `json:"token"`
	// Pages are the matched pages.
	Pages []PageResult `json:"pages"`
	// Unmatched is what matched nothing.
	Unmatched *Unmatched `json:"unmatched,omitempty"`
}

// errorBody is the JSON body of a refused call.
type errorBody struct {
	Error     string     `json:"error"`
	Unmatched *Unmatched `json:"unmatched,omitempty"`
}

func result(p *pagesv1alpha1.StaticPage) PageResult {
	return PageResult{Namespace: p.Namespace, Name: p.Name, Host: p.Spec.Host, Route: p.Spec.Route}
}

func (h *Handler) fail(w http.ResponseWriter, code int, msg string) int {
	h.write(w, code, errorBody{Error: msg})
	return code
}

func (h *Handler) write(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
