package testenv

import (
	"net/http"
	"net/http/httptest"
)

// Serve asks h for path on host with a GET carrying the header fields
// given as name, value pairs, and returns the answer.
func Serve(h http.Handler, host, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
