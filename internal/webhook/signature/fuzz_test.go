package signature

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary headers, bodies, paths and secrets to every
// type: Verify and Precheck must never panic; what Precheck refuses,
// Verify refuses too, with an error of the package's; and a delivery Sign
// produced verifies, whatever its body and path.
func FuzzVerify(f *testing.F) {
	for _, v := range vectors() {
		for name, value := range v.header {
			f.Add(uint8(typeIndex(v.typ)), name, value, v.path, v.body, string(v.secret.Value), v.now.UnixMilli())
		}
	}
	f.Add(uint8(0), "X-Contentful-Signed-Headers", ",", "/?", "", "s", int64(0))
	f.Add(uint8(1), "Sanity-Webhook-Signature", "t=99999999999999999999,v1=x", "/", "{}", "s", int64(1))
	f.Add(uint8(3), "Gcms-Signature", "sign=, env=, t=", "/", "\xff", "s", int64(1))
	f.Add(uint8(5), "Webhook-Signature", "v1, v1,AAAA", "/", "{}", "whsec_", int64(1))
	f.Fuzz(func(t *testing.T, ti uint8, name, value, path, body, secret string, nowMilli int64) {
		typ := Types[int(ti)%len(Types)]
		s := Secret{Value: []byte(secret), Username: []byte(secret), Password: []byte(body)}
		now := time.UnixMilli(nowMilli)
		d := Delivery{Method: http.MethodPost, Path: path, Header: http.Header{}, Body: []byte(body)}
		// An arbitrary header next to a valid delivery's, and alone.
		for _, vec := range vectors() {
			if vec.typ != typ {
				continue
			}
			d.Header = vec.delivery().Header
			break
		}
		d.Header[name] = []string{value}
		for _, h := range []http.Header{d.Header, {name: {value}}} {
			d.Header = h
			pre := Precheck(typ, s, h, now, time.Minute)
			_, err := Verify(typ, s, d, now, time.Minute)
			if pre != nil && err == nil {
				t.Fatalf("%s: Precheck refused (%v) what Verify accepted", typ, pre)
			}
			for _, e := range []error{pre, err} {
				if e != nil && !isOurs(e) {
					t.Fatalf("%s: error %v is none of the package's", typ, e)
				}
			}
		}

		if CheckSecret(typ, s) != nil {
			return
		}
		signed := Delivery{Method: http.MethodPost, Path: "/" + path, Body: []byte(body)}
		h, err := Sign(typ, s, signed, now)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: Sign: %v", typ, err)
			}
			return
		}
		signed.Header = h
		if _, err := Verify(typ, s, signed, now, time.Minute); err != nil {
			t.Fatalf("%s: a signed delivery was refused: %v", typ, err)
		}
	})
}

func typeIndex(typ Type) int {
	for i, t := range Types {
		if t == typ {
			return i
		}
	}
	return 0
}

func isOurs(err error) bool {
	for _, e := range []error{ErrMissing, ErrMalformed, ErrBadSignature, ErrStale, ErrSecret, ErrUnknownType} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
