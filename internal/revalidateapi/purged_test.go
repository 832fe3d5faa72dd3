package revalidateapi

import (
	"testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func TestPurged(t *testing.T) {
	page := func(digest, result, purgedDigest, msg string) *pagesv1alpha1.StaticPage {
		p := &pagesv1alpha1.StaticPage{}
		p.Status.Digest = digest
		p.Status.LastPurge = pagesv1alpha1.PurgeStatus{Result: result, Digest: purgedDigest, Message: msg}
		return p
	}
	yes, no := true, false
	cases := []struct {
		name   string
		page   *pagesv1alpha1.StaticPage
		want   *bool
		reason string
	}{
		{"no CDN ever purged it", page("sha256:b", "", "", ""), nil, ""},
		{"the last purge was of other content", page("sha256:b", pagesv1alpha1.ReasonPurged, "sha256:a", ""), nil, ""},
		{"a failed purge of other content", page("sha256:b", pagesv1alpha1.ReasonPurgeFailed, "sha256:a", "refused"), nil, ""},
		{"queued", page("sha256:b", pagesv1alpha1.ReasonPurgePending, "sha256:b", ""), &no, pagesv1alpha1.ReasonPurgePending},
		{"refused", page("sha256:b", pagesv1alpha1.ReasonPurgeFailed, "sha256:b", "503"), &no, pagesv1alpha1.ReasonPurgeFailed},
		{"acknowledged", page("sha256:b", pagesv1alpha1.ReasonPurged, "sha256:b", ""), &yes, ""},
		{"withdrawn and queued", page("", pagesv1alpha1.ReasonPurgePending, "", ""), &no, pagesv1alpha1.ReasonPurgePending},
		{"withdrawn and acknowledged", page("", pagesv1alpha1.ReasonPurged, "", ""), &yes, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reason, msg := purged(c.page)
			switch {
			case (got == nil) != (c.want == nil):
				t.Fatalf("purged = %v, want %v", got, c.want)
			case got != nil && *got != *c.want:
				t.Fatalf("purged = %v, want %v", *got, *c.want)
			case reason != c.reason:
				t.Fatalf("reason = %q, want %q", reason, c.reason)
			case reason != "" && msg == "":
				t.Fatal("a page not purged has no message")
			}
		})
	}
}
