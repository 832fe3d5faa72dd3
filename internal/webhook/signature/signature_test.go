package signature

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// vector is a delivery signed by the sender's own code, and what Verify
// must make of it.
type vector struct {
	name   string
	typ    Type
	source string // where the vector comes from
	secret Secret
	method string
	path   string
	header map[string]string
	body   string
	now    time.Time
	wantID string // "" to check only that it is not empty
	wantTS time.Time
}

// headerOf builds an http.Header from a map, canonicalising names.
func headerOf(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func vectors() []vector {
	contentfulTS := time.UnixMilli(1700000000123)
	sanityTS := time.UnixMilli(1633519811129)
	return []vector{
		{
			name: "contentful, from the toolkit's signRequest",
			typ:  Contentful,
			// Produced by signRequest of @contentful/node-apps-toolkit 3.16.1
			// (https://github.com/contentful/node-apps-toolkit, src/requests/sign-request.ts)
			// and accepted by its verifyRequest; request verification is
			// documented at https://www.contentful.com/developers/docs/webhooks/request-verification/.
			source: "@contentful/node-apps-toolkit 3.16.1 signRequest",
			secret: Secret{Value: []byte("qlfkupAwYA4ZkNnmBzmNypFqSRWOwhpGRFwQFn5iPNAGHSYdvwed1C77n0Eiaz19")},
			method: "POST",
			path:   "/hooks/4f2a?x=1&y=a b",
			header: map[string]string{
				"X-Contentful-Topic":           "ContentManagement.Entry.publish",
				"X-Contentful-Idempotency-Key": "abc123",
				"Content-Type":                 "application/vnd.contentful.management.v1+json",
				"X-Contentful-Signature":       "aebf25d03490f57582f4eb05cf5c024273cd7c64bda73a45752acd1080dfdfc6",
				"X-Contentful-Signed-Headers":  "content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
				"X-Contentful-Timestamp":       "1700000000123",
				"User-Agent":                   "not signed",
			},
			body:   `{"sys":{"id":"5KsDBWseXY6QegucYAoacS"},"fields":{"slug":{"en-US":"héllo"}}}`,
			now:    contentfulTS.Add(2 * time.Second),
			wantID: "abc123",
			wantTS: contentfulTS,
		},
		{
			name: "sanity, published in the toolkit's tests",
			typ:  Sanity,
			// https://github.com/sanity-io/webhook-toolkit, test/signature.test.ts.
			source: "sanity-io/webhook-toolkit test/signature.test.ts",
			secret: Secret{Value: []byte("test")},
			header: map[string]string{"sanity-webhook-signature": "t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0"},
			body:   `{"_id":"resume"}`,
			now:    sanityTS,
			wantTS: sanityTS,
		},
		{
			name: "sanity, non-ASCII body, from the toolkit's encodeSignatureHeader",
			typ:  Sanity,
			// Produced by encodeSignatureHeader of @sanity/webhook 4.0.4.
			source: "@sanity/webhook 4.0.4 encodeSignatureHeader",
			secret: Secret{Value: []byte("test")},
			header: map[string]string{"sanity-webhook-signature": "t=1700000000123,v1=pzLSpxhBsiCuTSb4XlSeMA58OM16aG0u72njeU6UOLY"},
			body:   `{"_id":"héllo","_type":"post"}`,
			now:    contentfulTS.Add(-time.Minute),
			wantTS: contentfulTS,
		},
		{
			name: "storyblok, as its documented verifier computes it",
			typ:  Storyblok,
			// The Node.js verifier of
			// https://www.storyblok.com/tp/webhook-secret-with-different-technologies
			// (createHmac('sha1', secret).update(payload).digest('hex')).
			source: "Storyblok's documented Node.js verifier",
			secret: Secret{Value: []byte("hello")},
			header: map[string]string{"webhook-signature": "27108eb5cfba8d5337377655587ebc2b0ed4eb5d"},
			body:   `{"action":"published","text":"The user test@domain.com published the Story XYZ (xyz)","story_id":123,"space_id":123,"full_slug":"blog/xyz"}`,
			now:    contentfulTS,
		},
		{
			name: "hygraph, escapes JSON.stringify leaves as they are, from the SDK",
			typ:  Hygraph,
			// Produced by generateWebhookSignature of @graphcms/utils 1.2.0
			// (https://www.npmjs.com/package/@graphcms/utils) and accepted by
			// its verifyWebhookSignature.
			source: "@graphcms/utils 1.2.0 generateWebhookSignature",
			secret: Secret{Value: []byte("rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx")},
			header: map[string]string{"gcms-signature": "sign=7/fh4QRe1kZ/zgCNVJ6DwnPYc5jTvY2duUjzonZ39qI=, env=master, t=1796649694066"},
			body:   "{\"operation\":\"publish\",\"data\":{\"slug\":\"a<b>&c\u2028d\\né\"}}",
			now:    time.UnixMilli(1796649694066),
			wantTS: time.UnixMilli(1796649694066),
		},
		{
			name:   "hygraph, control characters and a quoted environment, from the SDK",
			typ:    Hygraph,
			source: "@graphcms/utils 1.2.0 generateWebhookSignature",
			secret: Secret{Value: []byte("s3cr3t")},
			header: map[string]string{"gcms-signature": `sign=syySOF35q/95Pmtq2JxcGCsdP2LZVCuaDTyp3bSw0X0=, env=st"age, t=1796649697166`},
			body:   "{\"a\":\"x\ty\u0001z\u007fé😀\"}",
			now:    time.UnixMilli(1796649697166),
			wantTS: time.UnixMilli(1796649697166),
		},
		{
			name: "ghost, as Ghost's WebhookTrigger computes it",
			typ:  Ghost,
			// Computed with Node.js crypto exactly as
			// ghost/core/core/server/services/webhooks/webhook-trigger.js of
			// https://github.com/TryGhost/Ghost does:
			// createHmac('sha256', secret).update(`${reqPayload}${ts}`).digest('hex').
			source: "Ghost's webhook-trigger.js computation",
			secret: Secret{Value: []byte("ghost-secret")},
			header: map[string]string{"x-ghost-signature": "sha256=ede0e94c3b49652c3fbca20806415a2b6b500c27f37f8d3765785af65270c15e, t=1700000000123"},
			body:   `{"post":{"current":{"slug":"welcome","status":"published"}}}`,
			now:    contentfulTS.Add(time.Minute),
			wantTS: contentfulTS,
		},
		{
			name: "standard-webhooks, published in the specification's repository",
			typ:  StandardWebhooks,
			// https://github.com/standard-webhooks/standard-webhooks,
			// libraries/go/webhook_test.go TestWebhookSign.
			source: "standard-webhooks libraries/go/webhook_test.go",
			secret: Secret{Value: []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
			header: map[string]string{
				"webhook-id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
				"webhook-timestamp": "1614265330",
				"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
			},
			body:   `{"test": 2432232314}`,
			now:    time.Unix(1614265330, 0),
			wantID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
			wantTS: time.Unix(1614265330, 0),
		},
		{
			name: "standard-webhooks, Svix's headers and a rotated key first",
			typ:  StandardWebhooks,
			// The same vector, with the svix- names Svix sends and an old
			// key's signature before it.
			source: "standard-webhooks libraries/go/webhook_test.go",
			secret: Secret{Value: []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
			header: map[string]string{
				"svix-id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
				"svix-timestamp": "1614265330",
				"svix-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,ignored v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
			},
			body:   `{"test": 2432232314}`,
			now:    time.Unix(1614265330, 0).Add(-time.Minute),
			wantID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
			wantTS: time.Unix(1614265330, 0),
		},
		{
			name: "github, published in GitHub's documentation",
			typ:  GitHub,
			// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
			// ("Testing the webhook payload validation").
			source: "docs.github.com validating-webhook-deliveries",
			secret: Secret{Value: []byte("It's a Secret to Everybody")},
			header: map[string]string{"x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
			body:   "Hello, World!",
			now:    contentfulTS,
		},
		{
			name:   "bearer",
			typ:    Bearer,
			source: "RFC 6750",
			secret: Secret{Value: []byte("strapi-token")},
			header: map[string]string{"Authorization": "Bearer strapi-token"},
			body:   `{"event":"entry.publish"}`,
			now:    contentfulTS,
		},
		{
			name: "basic",
			typ:  Basic,
			// RFC 7617 section 2's example credentials.
			source: "RFC 7617",
			secret: Secret{Username: []byte("Aladdin"), Password: []byte("open sesame")},
			header: map[string]string{"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="},
			body:   `{"entity":{}}`,
			now:    contentfulTS,
		},
		{
			name: "isr, as openssl computes it",
			typ:  ISR,
			// printf '1800000000.{"paths":["/a"]}' | openssl dgst -sha256 -hmac hmac-key
			source: "openssl dgst -sha256 -hmac",
			secret: Secret{Value: []byte("hmac-key")},
			header: map[string]string{
				"X-Isr-Timestamp": "1800000000",
				"X-Isr-Signature": "sha256=1d6f080503786f03fe8330e7484b273ec3052fc9ef4932913ba609069b07503b",
			},
			body:   `{"paths":["/a"]}`,
			now:    time.Unix(1800000000, 0),
			wantTS: time.Unix(1800000000, 0),
		},
	}
}

func (v vector) delivery() Delivery {
	method := v.method
	if method == "" {
		method = http.MethodPost
	}
	path := v.path
	if path == "" {
		path = "/hooks/receiver"
	}
	return Delivery{Method: method, Path: path, Header: headerOf(v.header), Body: []byte(v.body)}
}

// TestVectors verifies deliveries signed by each sender's own code (or
// documentation), every type covered.
func TestVectors(t *testing.T) {
	covered := map[Type]bool{}
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			covered[v.typ] = true
			got, err := Verify(v.typ, v.secret, v.delivery(), v.now, 5*time.Minute)
			if err != nil {
				t.Fatalf("Verify (vector from %s): %v", v.source, err)
			}
			if err := Precheck(v.typ, v.secret, v.delivery().Header, v.now, 5*time.Minute); err != nil {
				t.Fatalf("Precheck: %v", err)
			}
			if v.wantID != "" && got.ID != v.wantID {
				t.Errorf("ID %q, want %q", got.ID, v.wantID)
			}
			noID := v.typ == Bearer || v.typ == Basic
			if noID != (got.ID == "") {
				t.Errorf("ID %q for %s", got.ID, v.typ)
			}
			if !got.Timestamp.Equal(v.wantTS) {
				t.Errorf("Timestamp %v, want %v", got.Timestamp, v.wantTS)
			}
		})
	}
	for _, typ := range Types {
		if !covered[typ] {
			t.Errorf("no vector for %s", typ)
		}
	}
}

// TestVerifyRefuses alters each vector in the ways an attacker or a
// misconfiguration would, and expects the right error from Verify and,
// where the headers alone tell, from Precheck.
func TestVerifyRefuses(t *testing.T) {
	// What to remove or spoil in each type's headers.
	signatureHeader := map[Type]string{
		Contentful: "X-Contentful-Signature", Sanity: "Sanity-Webhook-Signature", Storyblok: "Webhook-Signature",
		Hygraph: "Gcms-Signature", Ghost: "X-Ghost-Signature", StandardWebhooks: "Webhook-Signature",
		GitHub: "X-Hub-Signature-256", Bearer: "Authorization", Basic: "Authorization", ISR: "X-Isr-Signature",
	}
	wrongSecret := map[Type]Secret{
		StandardWebhooks: {Value: []byte("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")},
		Basic:            {Username: []byte("Aladdin"), Password: []byte("open sesame!")},
	}
	timestamped := map[Type]bool{Contentful: true, Sanity: true, Hygraph: true, Ghost: true, StandardWebhooks: true, ISR: true}
	// Deliveries whose body the scheme does not cover.
	bodyUnsigned := map[Type]bool{Bearer: true, Basic: true}

	type alteration struct {
		name     string
		alter    func(v *vector, d *Delivery)
		want     error
		precheck error // what Precheck returns; nil where it needs the body
		onlyIf   func(Type) bool
	}
	alterations := []alteration{
		{
			name: "wrong secret",
			alter: func(v *vector, _ *Delivery) {
				if s, ok := wrongSecret[v.typ]; ok {
					v.secret = s
					return
				}
				v.secret = Secret{Value: append([]byte("x"), v.secret.Value...)}
			},
			want: ErrBadSignature,
		},
		{
			name: "body altered by one byte",
			alter: func(_ *vector, d *Delivery) {
				d.Body = append([]byte(nil), d.Body...)
				d.Body[len(d.Body)/2] ^= 0x01
			},
			want:   ErrBadSignature,
			onlyIf: func(typ Type) bool { return !bodyUnsigned[typ] },
		},
		{
			name:     "timestamp older than the window",
			alter:    func(v *vector, _ *Delivery) { v.now = v.wantTS.Add(5*time.Minute + time.Millisecond) },
			want:     ErrStale,
			precheck: ErrStale,
			onlyIf:   func(typ Type) bool { return timestamped[typ] },
		},
		{
			name:     "timestamp further ahead than the window",
			alter:    func(v *vector, _ *Delivery) { v.now = v.wantTS.Add(-5*time.Minute - time.Millisecond) },
			want:     ErrStale,
			precheck: ErrStale,
			onlyIf:   func(typ Type) bool { return timestamped[typ] },
		},
		{
			name: "signature header missing",
			alter: func(v *vector, d *Delivery) {
				d.Header.Del(signatureHeader[v.typ])
				d.Header.Del("Svix-Signature")
			},
			want:     ErrMissing,
			precheck: ErrMissing,
		},
		{
			name:     "signature header malformed",
			alter:    func(v *vector, d *Delivery) { d.Header.Set(signatureHeader[v.typ], "sha1=zz, nonsense") },
			want:     ErrMalformed,
			precheck: ErrMalformed,
		},
		{
			name: "signature header sent twice",
			alter: func(v *vector, d *Delivery) {
				d.Header.Add(signatureHeader[v.typ], d.Header.Get(signatureHeader[v.typ]))
			},
			want:     ErrMalformed,
			precheck: ErrMalformed,
		},
		{
			name: "signature header longer than the bound",
			alter: func(v *vector, d *Delivery) {
				d.Header.Set(signatureHeader[v.typ], d.Header.Get(signatureHeader[v.typ])+strings.Repeat(" ", MaxHeaderBytes))
			},
			want:     ErrMalformed,
			precheck: ErrMalformed,
		},
		{
			name:     "no secret configured",
			alter:    func(v *vector, _ *Delivery) { v.secret = Secret{} },
			want:     ErrSecret,
			precheck: ErrSecret,
		},
	}
	for _, v0 := range vectors() {
		if v0.typ == StandardWebhooks && v0.header["svix-id"] != "" {
			continue
		}
		for _, a := range alterations {
			if a.onlyIf != nil && !a.onlyIf(v0.typ) {
				continue
			}
			t.Run(v0.name+"/"+a.name, func(t *testing.T) {
				v := v0
				d := v.delivery()
				a.alter(&v, &d)
				_, err := Verify(v.typ, v.secret, d, v.now, 5*time.Minute)
				if !errors.Is(err, a.want) {
					t.Errorf("Verify: %v, want %v", err, a.want)
				}
				pre := Precheck(v.typ, v.secret, d.Header, v.now, 5*time.Minute)
				want := a.precheck
				if want == nil && (v.typ == Bearer || v.typ == Basic) {
					want = a.want // credentials are checked in full without the body
				}
				if !errors.Is(pre, want) || (want == nil && pre != nil) {
					t.Errorf("Precheck: %v, want %v", pre, want)
				}
			})
		}
	}
}

// TestSignVerifies signs a delivery of every type and verifies it, and
// refuses it once the window has passed: Sign is what other tests and the
// e2e suite sign their deliveries with.
func TestSignVerifies(t *testing.T) {
	now := time.Unix(1800000000, 123e6)
	secrets := map[Type]Secret{
		StandardWebhooks: {Value: []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
		Basic:            {Username: []byte("user"), Password: []byte("pass:word")},
		Contentful:       {Value: []byte(strings.Repeat("a", 64))},
	}
	for _, typ := range Types {
		t.Run(string(typ), func(t *testing.T) {
			s, ok := secrets[typ]
			if !ok {
				s = Secret{Value: []byte("a secret")}
			}
			d := Delivery{
				Method: http.MethodPost,
				Path:   "/hooks/0123abcd?q=a%20b",
				Header: http.Header{"Content-Type": {"application/json"}, "X-Contentful-Topic": {"ContentManagement.Entry.publish"}},
				Body:   []byte(`{"slug":"a\u2028<b>"}`),
			}
			h, err := Sign(typ, s, d, now)
			if err != nil {
				t.Fatal(err)
			}
			d.Header = h
			got, err := Verify(typ, s, d, now.Add(time.Second), time.Minute)
			if err != nil {
				t.Fatalf("Verify of a signed delivery: %v", err)
			}
			if timestamped := !got.Timestamp.IsZero(); timestamped && !got.Timestamp.Equal(now.Truncate(time.Millisecond)) && !got.Timestamp.Equal(now.Truncate(time.Second)) {
				t.Errorf("Timestamp %v, signed at %v", got.Timestamp, now)
			}
			if !got.Timestamp.IsZero() {
				if _, err := Verify(typ, s, d, now.Add(2*time.Minute), time.Minute); !errors.Is(err, ErrStale) {
					t.Errorf("Verify after the window: %v, want ErrStale", err)
				}
			}
		})
	}
}

// TestContentfulIdempotencyKey takes the delivery id from
// X-Contentful-Idempotency-Key only when Contentful signed it: one added
// on the way cannot give a replayed delivery a new id.
func TestContentfulIdempotencyKey(t *testing.T) {
	v := vectors()[0]
	d := v.delivery()
	signed, err := Verify(Contentful, v.secret, d, v.now, time.Minute)
	if err != nil || signed.ID != "abc123" {
		t.Fatalf("signed key: %+v, %v", signed, err)
	}
	d.Header.Set("X-Contentful-Signed-Headers", "content-type,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic")
	if _, err := Verify(Contentful, v.secret, d, v.now, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signed headers list altered: %v, want ErrBadSignature", err)
	}

	s := Secret{Value: []byte(strings.Repeat("b", 64))}
	u := Delivery{Method: "POST", Path: "/hooks/x", Header: http.Header{"X-Contentful-Topic": {"ContentManagement.Entry.publish"}}, Body: []byte("{}")}
	h, err := Sign(Contentful, s, u, v.now)
	if err != nil {
		t.Fatal(err)
	}
	h.Set("X-Contentful-Idempotency-Key", "added-later")
	u.Header = h
	got, err := Verify(Contentful, s, u, v.now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "added-later" || len(got.ID) != 64 {
		t.Errorf("ID %q from an unsigned idempotency key, want the signature's digest", got.ID)
	}
}

// TestContentfulPath follows the toolkit's getNormalizedEncodedURI: the
// query component-escaped, then the whole URI-escaped.
func TestContentfulPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/hooks/abc", "/hooks/abc"},
		{"/a b/é", "/a%20b/%C3%A9"},
		{"/p?x=1&y=a b", "/p?x%253D1%2526y%253Da%2520b"},
		{"/p?", "/p"},
		{"/p?a?b", "/p?a"},
		{"/p%20q", "/p%2520q"},
	} {
		got, err := contentfulPath(c.in)
		if err != nil || got != c.want {
			t.Errorf("contentfulPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "relative", "/\xff"} {
		if _, err := contentfulPath(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("contentfulPath(%q): %v, want ErrMalformed", bad, err)
		}
	}
}

// TestSanityExactHeader refuses what the toolkit refuses: its regular
// expression allows ", " between the fields, but only the header it
// encodes itself compares equal.
func TestSanityExactHeader(t *testing.T) {
	v := vectors()[1]
	d := v.delivery()
	d.Header.Set("Sanity-Webhook-Signature", "t=1633519811129, v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0")
	if _, err := Verify(Sanity, v.secret, d, v.now, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("respelt header: %v, want ErrBadSignature", err)
	}
	d.Body = nil
	d.Header.Set("Sanity-Webhook-Signature", v.header["sanity-webhook-signature"])
	if _, err := Verify(Sanity, v.secret, d, v.now, time.Minute); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty body: %v, want ErrMalformed", err)
	}
}

// TestWindowEdges accepts a timestamp exactly window away, either way.
func TestWindowEdges(t *testing.T) {
	v := vectors()[len(vectors())-1] // isr, Unix seconds
	for _, now := range []time.Time{v.now.Add(5 * time.Minute), v.now.Add(-5 * time.Minute)} {
		if _, err := Verify(ISR, v.secret, v.delivery(), now, 5*time.Minute); err != nil {
			t.Errorf("at %v: %v", now.Sub(v.now), err)
		}
	}
}

// TestUnknownTypeAndSecrets refuses a type not in Types, and secrets a
// type cannot verify with.
func TestUnknownTypeAndSecrets(t *testing.T) {
	if _, err := Verify("gitlab", Secret{Value: []byte("x")}, Delivery{}, time.Now(), time.Minute); !errors.Is(err, ErrUnknownType) {
		t.Errorf("Verify: %v", err)
	}
	if err := Precheck("gitlab", Secret{Value: []byte("x")}, nil, time.Now(), time.Minute); !errors.Is(err, ErrUnknownType) {
		t.Errorf("Precheck: %v", err)
	}
	for _, c := range []struct {
		typ Type
		s   Secret
		ok  bool
	}{
		{Basic, Secret{Username: []byte("u")}, false},
		{Basic, Secret{Username: []byte("u"), Password: []byte("p")}, true},
		{StandardWebhooks, Secret{Value: []byte("whsec_not base64!")}, false},
		{StandardWebhooks, Secret{Value: []byte("whsec_")}, false},
		{StandardWebhooks, Secret{Value: []byte("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}, true},
		{GitHub, Secret{}, false},
		{GitHub, Secret{Value: []byte("x")}, true},
		{"gitlab", Secret{Value: []byte("x")}, false},
	} {
		if err := CheckSecret(c.typ, c.s); (err == nil) != c.ok {
			t.Errorf("CheckSecret(%s, %q): %v", c.typ, c.s, err)
		}
	}
}
