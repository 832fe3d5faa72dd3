package signature

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sign returns a copy of d.Header with the headers typ's sender adds to
// sign d with s at now, so that Verify accepts d with them. It exists for
// tests and tools (the e2e suite, benchmarks, a curl from the docs) that
// need valid deliveries; a receiver never signs.
//
// For contentful every header in d.Header is signed, as signRequest of
// Contentful's toolkit does; for standard-webhooks a webhook-id already in
// d.Header is kept, else one is derived from the body and now; hygraph
// signs for the environment "master".
func Sign(typ Type, s Secret, d Delivery, now time.Time) (http.Header, error) {
	if err := CheckSecret(typ, s); err != nil {
		return nil, err
	}
	if err := signable(typ, now); err != nil {
		return nil, err
	}
	h := d.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	switch typ {
	case Contentful:
		return signContentful(s, d, h, now)
	case Sanity:
		if len(d.Body) == 0 {
			return nil, fmt.Errorf("%w: sanity cannot sign an empty body", ErrMalformed)
		}
		h.Set(sanitySignature, sanityEncode(s.Value, time.UnixMilli(now.UnixMilli()), d.Body))
	case Storyblok:
		h.Set(storyblokSignature, hex.EncodeToString(storyblokMAC(s.Value, d.Body)))
	case Hygraph:
		if !utf8.Valid(d.Body) {
			return nil, fmt.Errorf("%w: hygraph signs UTF-8 bodies only", ErrMalformed)
		}
		const env = "master"
		t := time.UnixMilli(now.UnixMilli())
		sig := base64.StdEncoding.EncodeToString(hygraphMAC(s.Value, d.Body, env, t))
		h.Set(hygraphSignature, "sign="+sig+", env="+env+", t="+strconv.FormatInt(t.UnixMilli(), 10))
	case Ghost:
		ts := strconv.FormatInt(now.UnixMilli(), 10)
		h.Set(ghostSignature, "sha256="+hex.EncodeToString(ghostMAC(s.Value, d.Body, ts))+", t="+ts)
	case StandardWebhooks:
		key, err := standardWebhooksKey(s)
		if err != nil {
			return nil, err
		}
		names := standardWebhooksHeaderSets[0]
		id := h.Get(names[0])
		if id == "" {
			id = "msg_" + digestID(append(strconv.AppendInt(nil, now.UnixNano(), 10), d.Body...))[:24]
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		h.Set(names[0], id)
		h.Set(names[1], ts)
		h.Set(names[2], standardWebhooksV1+","+base64.StdEncoding.EncodeToString(standardWebhooksMAC(key, id, ts, d.Body)))
	case GitHub:
		h.Set(githubSignature, "sha256="+hex.EncodeToString(githubMAC(s.Value, d.Body)))
	case Bearer:
		h.Set(authorization, "Bearer "+string(s.Value))
	case Basic:
		h.Set(authorization, "Basic "+base64.StdEncoding.EncodeToString(slices.Concat(s.Username, []byte{':'}, s.Password)))
	case ISR:
		ts := strconv.FormatInt(now.Unix(), 10)
		h.Set(ISRTimestampHeader, ts)
		h.Set(ISRSignatureHeader, "sha256="+hex.EncodeToString(ISRMAC(s.Value, ts, d.Body)))
	}
	return h, nil
}

// signable refuses a time the scheme cannot carry: before its sender's
// lower bound, negative, or with more digits than Verify reads.
func signable(typ Type, now time.Time) error {
	ms := now.UnixMilli()
	low := map[Type]int64{Contentful: contentfulMinTimestamp + 1, Sanity: sanityMinTimestamp}[typ]
	if ms < low || ms > 9999999999999999 {
		return fmt.Errorf("%w: %s cannot sign at %s", ErrMalformed, typ, now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// signContentful signs every header of h, as signRequest does with the
// headers it is given.
func signContentful(s Secret, d Delivery, h http.Header, now time.Time) (http.Header, error) {
	for _, name := range []string{contentfulSignature, contentfulSignedHeaders, contentfulTimestamp} {
		h.Del(name)
	}
	signed := make([]string, 0, len(h))
	for name := range h {
		signed = append(signed, strings.ToLower(jsTrim(name)))
	}
	picked := contentfulPick(h, signed)
	t := time.UnixMilli(now.UnixMilli())
	mac, err := contentfulMAC(s.Value, d.Method, d.Path, picked, t, d.Body)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(picked)+2)
	for k := range picked {
		names = append(names, k)
	}
	names = append(names, strings.ToLower(contentfulSignedHeaders), strings.ToLower(contentfulTimestamp))
	slices.Sort(names)
	h.Set(contentfulSignature, hex.EncodeToString(mac))
	h.Set(contentfulSignedHeaders, strings.Join(names, ","))
	h.Set(contentfulTimestamp, strconv.FormatInt(t.UnixMilli(), 10))
	return h, nil
}
