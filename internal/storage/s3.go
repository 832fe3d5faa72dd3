package storage

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/render"
)

// S3Options say which bucket of which S3-compatible store keeps the pages.
// Credentials are not among them: they come from the standard chain only
// (see NewS3).
type S3Options struct {
	// Endpoint is the store's URL, "https://host[:port]"; "http://" only
	// with AllowHTTP (--s3-endpoint).
	Endpoint string
	// Bucket keeps the pages; it must exist (--s3-bucket).
	Bucket string
	// Prefix is the key prefix every object is written under, so that one
	// bucket can serve several installs (--s3-prefix).
	Prefix string
	// Region is the bucket's region; empty asks the store once (--s3-region).
	Region string
	// PathStyle addresses the bucket in the URL path (host/bucket/key)
	// rather than as a host name (bucket.host/key), as most self-hosted
	// stores need (--s3-path-style).
	PathStyle bool
	// CAFile is a PEM bundle of certificate authorities trusted for the
	// endpoint besides the system's (--s3-ca-file).
	CAFile string
	// AllowHTTP allows an http:// Endpoint, meant for a store on the same
	// host or pod; requests and bodies then travel unencrypted
	// (--s3-allow-http).
	AllowHTTP bool
	// Timeout bounds every request to the store (--s3-timeout).
	Timeout time.Duration
	// MaxBodyBytes is the largest page body Get loads; 0 means no limit.
	// The server sets it from its --max-body-size.
	MaxBodyBytes int64
}

// DefaultS3Options are the S3 flags' defaults.
func DefaultS3Options() S3Options {
	return S3Options{Timeout: 10 * time.Second}
}

// BindFlags registers the S3 flags on fs, with o's values as defaults.
func (o *S3Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Endpoint, "s3-endpoint", o.Endpoint, "URL of the S3-compatible store, https://host[:port] (http:// only with --s3-allow-http). Credentials come from the environment's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, shared credentials file, web identity, instance role), never from a flag.")
	fs.StringVar(&o.Bucket, "s3-bucket", o.Bucket, "Bucket that keeps the pages; it must exist.")
	fs.StringVar(&o.Prefix, "s3-prefix", o.Prefix, "Key prefix under which pages are kept (<prefix>/pages/sha256/<hex>/...), so one bucket can serve several installs.")
	fs.StringVar(&o.Region, "s3-region", o.Region, "Region of the bucket; empty asks the store.")
	fs.BoolVar(&o.PathStyle, "s3-path-style", o.PathStyle, "Address the bucket in the URL path (host/bucket/key) instead of as a host name (bucket.host/key); most self-hosted stores need it.")
	fs.StringVar(&o.CAFile, "s3-ca-file", o.CAFile, "PEM file of certificate authorities trusted for --s3-endpoint, besides the system's.")
	fs.BoolVar(&o.AllowHTTP, "s3-allow-http", o.AllowHTTP, "Allow an http:// --s3-endpoint (unencrypted), meant for a store on the same host or pod.")
	fs.DurationVar(&o.Timeout, "s3-timeout", o.Timeout, "Longest wait for any one request to the store; a store slower than this counts as unavailable.")
}

// Validate says, in terms of the flags, what is wrong with o.
func (o S3Options) Validate() error {
	var errs []error
	if o.Endpoint == "" {
		errs = append(errs, errors.New("--s3-endpoint is required with S3 storage, e.g. https://s3.eu-west-1.amazonaws.com"))
	} else if _, err := o.endpoint(); err != nil {
		errs = append(errs, err)
	}
	if o.Bucket == "" {
		errs = append(errs, errors.New("--s3-bucket is required with S3 storage"))
	} else if err := s3utils.CheckValidBucketNameStrict(o.Bucket); err != nil {
		errs = append(errs, fmt.Errorf("--s3-bucket %q is not a valid bucket name: %w", o.Bucket, err))
	}
	if _, err := cleanPrefix(o.Prefix); err != nil {
		errs = append(errs, err)
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--s3-timeout must be positive, got %s", o.Timeout))
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("the S3 body limit must not be negative, got %d", o.MaxBodyBytes))
	}
	return errors.Join(errs...)
}

// endpoint parses Endpoint into what minio-go takes: a host[:port] and
// whether to use TLS.
func (o S3Options) endpoint() (*url.URL, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("--s3-endpoint %q is not a URL: %w", o.Endpoint, err)
	}
	switch {
	case u.Scheme == "http" && !o.AllowHTTP:
		return nil, fmt.Errorf("--s3-endpoint %q is http://: pages and request signatures would travel unencrypted; use https://, or add --s3-allow-http for a store on the same host", o.Endpoint)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("--s3-endpoint %q must be an https:// URL (host and optional port)", o.Endpoint)
	case u.User != nil:
		return nil, fmt.Errorf("--s3-endpoint must not carry credentials; they come from the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, shared credentials file, web identity, instance role)")
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("--s3-endpoint %q has no host", o.Endpoint)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("--s3-endpoint %q must be scheme://host[:port] only; put the bucket in --s3-bucket and key prefixes in --s3-prefix", o.Endpoint)
	case u.Scheme == "http" && o.CAFile != "":
		return nil, fmt.Errorf("--s3-ca-file is for https:// endpoints, but --s3-endpoint is %q", o.Endpoint)
	}
	return u, nil
}

// cleanPrefix trims slashes off a key prefix and refuses empty, "." and ".."
// segments, which stores treat differently.
func cleanPrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("--s3-prefix %q must be key segments separated by single slashes, without \".\" or \"..\"", p)
		}
	}
	return p + "/", nil
}

// maxRetries is how often minio-go tries a request that failed on the
// network or with a retryable status; the per-request timeout bounds the
// whole.
const maxRetries = 3

// Codings as stored: each representation's key name under a digest, and its
// Content-Encoding.
const (
	codingIdentity = "identity"
	codingGzip     = "gzip"
	codingBrotli   = "br"
	manifestName   = "meta.json"
)

// manifest is meta.json: what a digest's representations are. It is written
// last, so whoever finds it finds every representation it lists.
type manifest struct {
	// Digest is "sha256:<hex>" of the identity body.
	Digest string `json:"digest"`
	// ContentType is served with the page.
	ContentType string `json:"contentType"`
	// StoredAt is when the content was first stored.
	StoredAt time.Time `json:"storedAt"`
	// Representations are the stored codings and their sizes in bytes.
	Representations map[string]int64 `json:"representations"`
}

// bytes is the sum of the representations' sizes.
func (m *manifest) bytes() int64 {
	var n int64
	for _, size := range m.Representations {
		n += size
	}
	return n
}

// S3 keeps pages in an S3-compatible bucket, content-addressed: a page with
// digest sha256:<hex> is <prefix>/pages/sha256/<hex>/{identity,gzip,br}, and
// <prefix>/pages/sha256/<hex>/meta.json, written last, publishes it. Pages
// with the same body share their objects, so removing a page removes
// nothing: Sweep and Delete remove digests no page points to.
type S3 struct {
	// Now stamps stored content and ages digests in Sweep; time.Now when nil.
	Now func() time.Time

	client  *minio.Client
	opts    S3Options
	root    string // "<prefix>/pages/sha256/"
	display string // "s3://bucket/", before keys in messages
	// beforeManifest, when set, runs between the representations and the
	// manifest of a Put; tests stop the store there.
	beforeManifest func()
}

var _ Store = (*S3)(nil)

// NewS3 returns a client of the bucket o names. It sends no request, so it
// succeeds while the store is down; Check probes it. Credentials come from
// the standard chain, tried in order on first use and refreshed when they
// expire: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN);
// the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE);
// then IAM: web identity (IRSA's AWS_WEB_IDENTITY_TOKEN_FILE and
// AWS_ROLE_ARN), container credentials, the EC2 instance role. With none,
// requests go unsigned and the store refuses them (ErrDenied).
func NewS3(_ context.Context, o S3Options) (*S3, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	u, _ := o.endpoint()
	prefix, _ := cleanPrefix(o.Prefix)
	secure := u.Scheme == "https"

	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("building the S3 transport: %w", err)
	}
	transport.DialContext = (&net.Dialer{Timeout: min(o.Timeout, 5*time.Second), KeepAlive: 30 * time.Second}).DialContext
	transport.ResponseHeaderTimeout = o.Timeout
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --s3-ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--s3-ca-file %s holds no PEM certificate", o.CAFile)
		}
		transport.TLSClientConfig.RootCAs = pool
	}

	iamTransport := http.DefaultTransport.(*http.Transport).Clone()
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{Client: &http.Client{Transport: iamTransport, Timeout: o.Timeout}},
	})
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Transport:    transport,
		Region:       o.Region,
		BucketLookup: lookup,
		MaxRetries:   maxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("building the S3 client for %s: %w", o.Endpoint, err)
	}
	return &S3{
		client:  client,
		opts:    o,
		root:    prefix + "pages/sha256/",
		display: "s3://" + o.Bucket + "/",
	}, nil
}

func (s *S3) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// key is the object key of a digest's file (a coding or the manifest).
func (s *S3) key(hexDigest, name string) string {
	return s.root + hexDigest + "/" + name
}

// bound gives one request its timeout.
func (s *S3) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.Timeout)
}

// Check probes the bucket with a one-key listing under the prefix (the
// credentials need s3:ListBucket, as for Sweep): nil when the store answers
// and lets them list, otherwise an error wrapping ErrUnavailable (and
// ErrDenied or ErrNoBucket).
func (s *S3) Check(ctx context.Context) error {
	rctx, cancel := s.bound(ctx)
	defer cancel()
	info, ok := <-s.client.ListObjects(rctx, s.opts.Bucket, minio.ListObjectsOptions{Prefix: s.root, MaxKeys: 1})
	if ok && info.Err != nil {
		return s.classify(ctx, rctx, "listing "+s.display+s.root, info.Err)
	}
	return nil
}

// Put implements Writer: it stores every representation of page under its
// digest, then the manifest that publishes them, so that when Put returns
// nil (and only then) the digest may be pointed to. A digest already stored
// completely is not written again (changed=false); one whose objects were
// partly removed is written again. Bytes are the sizes of the
// representations the manifest lists, which are Encode's.
func (s *S3) Put(ctx context.Context, _ *pagesv1alpha1.StaticPage, page *render.Page) (Stored, error) {
	sum, err := digest.Parse(page.Digest)
	if err != nil {
		return Stored{}, fmt.Errorf("storing a page: %w", err)
	}
	h := sum.Hex()
	old, complete, err := s.stored(ctx, h)
	if err != nil {
		return Stored{}, err
	}
	if complete {
		return Stored{Bytes: old.bytes()}, nil
	}
	obj, err := Encode(page)
	if err != nil {
		return Stored{}, err
	}
	m := manifest{
		Digest:          obj.Digest,
		ContentType:     obj.ContentType,
		StoredAt:        s.now().UTC(),
		Representations: map[string]int64{},
	}
	if old != nil { // a repair keeps the first StoredAt
		m.StoredAt = old.StoredAt
	}
	reps := map[string][]byte{codingIdentity: obj.Identity, codingGzip: obj.Gzip, codingBrotli: obj.Brotli}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for coding, body := range reps {
		if body == nil {
			continue
		}
		m.Representations[coding] = int64(len(body))
		wg.Go(func() {
			opts := minio.PutObjectOptions{ContentType: obj.ContentType}
			if coding != codingIdentity {
				opts.ContentEncoding = coding
			}
			if err := s.putObject(ctx, s.key(h, coding), body, opts); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return Stored{}, errs[0]
	}
	if s.beforeManifest != nil {
		s.beforeManifest()
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return Stored{}, fmt.Errorf("encoding manifest of %s: %w", obj.Digest, err)
	}
	if err := s.putObject(ctx, s.key(h, manifestName), meta, minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return Stored{}, err
	}
	return Stored{Changed: true, Bytes: obj.Footprint()}, nil
}

// stored reads a digest's manifest and checks that every representation it
// lists is there with its size: complete is true when nothing needs writing.
// old is the manifest found, if any.
func (s *S3) stored(ctx context.Context, h string) (old *manifest, complete bool, err error) {
	m, err := s.readManifest(ctx, h)
	switch {
	case errors.Is(err, ErrNotStored):
		return nil, false, nil
	case errors.Is(err, errBadManifest):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	complete = true
	for coding, size := range m.Representations {
		wg.Go(func() {
			key := s.key(h, coding)
			rctx, cancel := s.bound(ctx)
			defer cancel()
			info, err := s.client.StatObject(rctx, s.opts.Bucket, key, minio.StatObjectOptions{})
			if err != nil {
				err = s.classify(ctx, rctx, "checking "+s.display+key, err)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && info.Size == size:
			case err == nil || errors.Is(err, ErrNotStored):
				complete = false
			case firstErr == nil:
				firstErr = err
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, false, firstErr
	}
	return m, complete, nil
}

// errBadManifest marks a manifest that cannot be read as one.
var errBadManifest = errors.New("malformed manifest")

// readManifest reads and checks a digest's meta.json: ErrNotStored when
// there is none, errBadManifest when it does not describe the digest.
func (s *S3) readManifest(ctx context.Context, h string) (*manifest, error) {
	key := s.key(h, manifestName)
	raw, err := s.readObject(ctx, key, 64<<10, false)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s%s: %w: %w", s.display, key, errBadManifest, err)
	}
	if m.Digest != digest.Prefix+h {
		return nil, fmt.Errorf("%s%s names digest %q: %w", s.display, key, m.Digest, errBadManifest)
	}
	if _, ok := m.Representations[codingIdentity]; !ok {
		return nil, fmt.Errorf("%s%s lists no identity body: %w", s.display, key, errBadManifest)
	}
	for coding, size := range m.Representations {
		if coding != codingIdentity && coding != codingGzip && coding != codingBrotli || size < 0 {
			return nil, fmt.Errorf("%s%s lists %q of %d bytes: %w", s.display, key, coding, size, errBadManifest)
		}
	}
	return &m, nil
}

// maxSizedRead bounds the buffer readObject makes up front for an object
// of known size; a larger one is read as it comes.
const maxSizedRead = 64 << 20

// readObject reads a whole object of at most limit bytes: ErrNotStored when
// there is none. When sized, limit is the size the manifest gives, and the
// body gets a buffer of that size, not one grown by io.ReadAll, which
// leaves up to half of it unused: a loaded page is held for as long as it
// is cached, and --cache-size counts its length.
func (s *S3) readObject(ctx context.Context, key string, limit int64, sized bool) ([]byte, error) {
	rctx, cancel := s.bound(ctx)
	defer cancel()
	what := "reading " + s.display + key
	obj, err := s.client.GetObject(rctx, s.opts.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.classify(ctx, rctx, what, err)
	}
	defer func() { _ = obj.Close() }()
	var body []byte
	if sized && limit <= maxSizedRead {
		// Exactly the expected size (one byte more would take the next
		// allocation size class, wasting up to its step per page), then a
		// byte on the stack tells a longer object.
		buf := make([]byte, limit)
		n, rerr := io.ReadFull(obj, buf)
		switch {
		case rerr == nil:
			var more [1]byte
			if m, _ := io.ReadFull(obj, more[:]); m > 0 {
				return nil, fmt.Errorf("%s: over %d bytes: %w", what, limit, ErrTooLarge)
			}
		case errors.Is(rerr, io.ErrUnexpectedEOF) || errors.Is(rerr, io.EOF):
			rerr = nil
		}
		body, err = buf[:n], rerr
	} else {
		body, err = io.ReadAll(io.LimitReader(obj, limit+1))
	}
	if err != nil {
		return nil, s.classify(ctx, rctx, what, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s: over %d bytes: %w", what, limit, ErrTooLarge)
	}
	return body, nil
}

// putObject writes one object.
func (s *S3) putObject(ctx context.Context, key string, body []byte, opts minio.PutObjectOptions) error {
	rctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.client.PutObject(rctx, s.opts.Bucket, key, bytes.NewReader(body), int64(len(body)), opts); err != nil {
		return s.classify(ctx, rctx, "writing "+s.display+key, err)
	}
	return nil
}

// Get implements Reader: it reads the digest's manifest, then every
// representation it lists, and checks the body against the digest. A digest
// without a manifest, or with a representation missing, is ErrNotStored; a
// store that cannot answer is ErrUnavailable.
func (s *S3) Get(ctx context.Context, _ *pagesv1alpha1.StaticPage, d string) (*Object, error) {
	sum, err := digest.Parse(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNotStored)
	}
	h := sum.Hex()
	m, err := s.readManifest(ctx, h)
	if errors.Is(err, errBadManifest) {
		return nil, fmt.Errorf("%w: %w", err, ErrNotStored)
	}
	if err != nil {
		return nil, err
	}
	if limit := s.opts.MaxBodyBytes; limit > 0 && m.Representations[codingIdentity] > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d bytes allowed: %w", d, m.Representations[codingIdentity], limit, ErrTooLarge)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		bodies   = map[string][]byte{}
	)
	for coding, size := range m.Representations {
		wg.Go(func() {
			key := s.key(h, coding)
			body, err := s.readObject(ctx, key, size, true)
			if err == nil && int64(len(body)) != size {
				err = fmt.Errorf("%s%s is %d bytes, its manifest says %d: %w", s.display, key, len(body), size, ErrNotStored)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			bodies[coding] = body
		})
	}
	wg.Wait()
	if errors.Is(firstErr, ErrTooLarge) {
		firstErr = fmt.Errorf("%w: %w", firstErr, ErrNotStored)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if digest.Of(bodies[codingIdentity]) != d {
		return nil, fmt.Errorf("%s%s does not hash to %s: %w: %w", s.display, s.key(h, codingIdentity), d, ErrCorrupt, ErrNotStored)
	}
	return &Object{
		Digest:      d,
		ContentType: m.ContentType,
		Identity:    bodies[codingIdentity],
		Gzip:        bodies[codingGzip],
		Brotli:      bodies[codingBrotli],
		StoredAt:    m.StoredAt,
	}, nil
}

// Has implements Store: it reads the manifest and asks for the size of
// each representation, without reading bodies. A digest without a manifest,
// or with a representation missing or of the wrong size, is not stored.
func (s *S3) Has(ctx context.Context, _ *pagesv1alpha1.StaticPage, d string) (bool, error) {
	sum, err := digest.Parse(d)
	if err != nil {
		return false, nil //nolint:nilerr // a malformed digest is not stored
	}
	_, complete, err := s.stored(ctx, sum.Hex())
	return complete, err
}

// Withdraw implements Writer. It removes nothing: other pages may share the
// digest, and a server replica may still be fetching it. Once no page points
// to the digest, Sweep removes it after its grace period.
func (s *S3) Withdraw(context.Context, *pagesv1alpha1.StaticPage) error {
	return nil
}

// Delete removes a digest's objects, the manifest first, so that a digest
// half removed is never served: readers find ErrNotStored from the first
// deletion on. Removing nothing is not an error. The caller makes sure no
// page points to digest.
func (s *S3) Delete(ctx context.Context, d string) error {
	sum, err := digest.Parse(d)
	if err != nil {
		return err
	}
	h := sum.Hex()
	if err := s.removeObject(ctx, s.key(h, manifestName)); err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, coding := range []string{codingIdentity, codingGzip, codingBrotli} {
		wg.Go(func() {
			if err := s.removeObject(ctx, s.key(h, coding)); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeObject removes one object; a missing one is not an error.
func (s *S3) removeObject(ctx context.Context, key string) error {
	rctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.client.RemoveObject(rctx, s.opts.Bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return s.classify(ctx, rctx, "removing "+s.display+key, err)
	}
	return nil
}

// StoredDigest is a digest with objects in the store.
type StoredDigest struct {
	// Digest is "sha256:<hex>".
	Digest string
	// Published is whether its manifest is there, so Get can serve it; a
	// digest without one is a Put that has not finished (or never will), or
	// a Delete that has not.
	Published bool
	// LastModified is when its manifest was written, or, without one, its
	// newest object.
	LastModified time.Time
	// Size is the bytes of all its objects.
	Size int64
}

// listPageSize is how many keys one list request asks for.
var listPageSize = 1000

// List returns every digest with objects in the store, sorted by digest.
// Each list request is bounded by the timeout, not the whole listing.
func (s *S3) List(ctx context.Context) ([]StoredDigest, error) {
	found := map[string]*StoredDigest{}
	manifestTimes := map[string]time.Time{}
	after := ""
	for {
		n, last, err := s.listPage(ctx, after, func(info minio.ObjectInfo) {
			h, name, ok := strings.Cut(strings.TrimPrefix(info.Key, s.root), "/")
			if !ok || strings.Contains(name, "/") || !digest.Valid(digest.Prefix+h) {
				return
			}
			d := found[h]
			if d == nil {
				d = &StoredDigest{Digest: digest.Prefix + h}
				found[h] = d
			}
			d.Size += info.Size
			if info.LastModified.After(d.LastModified) {
				d.LastModified = info.LastModified
			}
			if name == manifestName {
				d.Published = true
				manifestTimes[h] = info.LastModified
			}
		})
		if err != nil {
			return nil, err
		}
		if n < listPageSize {
			break
		}
		after = last
	}
	out := make([]StoredDigest, 0, len(found))
	for h, d := range found {
		if t, ok := manifestTimes[h]; ok {
			d.LastModified = t
		}
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// listPage lists up to listPageSize keys under the root after the key after,
// in one bounded request, and returns how many it saw and the last key.
func (s *S3) listPage(ctx context.Context, after string, each func(minio.ObjectInfo)) (n int, last string, err error) {
	rctx, cancel := s.bound(ctx)
	defer cancel()
	for info := range s.client.ListObjects(rctx, s.opts.Bucket, minio.ListObjectsOptions{
		Prefix:     s.root,
		Recursive:  true,
		MaxKeys:    listPageSize,
		StartAfter: after,
	}) {
		if info.Err != nil {
			return n, last, s.classify(ctx, rctx, "listing "+s.display+s.root, info.Err)
		}
		each(info)
		n++
		last = info.Key
		if n == listPageSize {
			break
		}
	}
	return n, last, nil
}

// Sweep deletes every stored digest older than olderThan (by LastModified)
// for which keep returns false, and returns those it deleted. keep is asked
// about each candidate just before it is deleted, and must answer true for
// any digest a StaticPage points to and any digest a render is publishing
// right now (Put done, status not yet updated). It stops at the first
// failure.
func (s *S3) Sweep(ctx context.Context, keep func(digest string) bool, olderThan time.Duration) ([]string, error) {
	stored, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-olderThan)
	var deleted []string
	for _, d := range stored {
		if ctx.Err() != nil {
			return deleted, fmt.Errorf("sweeping %s: %w", s.display, ctx.Err())
		}
		if d.LastModified.After(cutoff) || keep(d.Digest) {
			continue
		}
		if err := s.Delete(ctx, d.Digest); err != nil {
			return deleted, err
		}
		deleted = append(deleted, d.Digest)
	}
	return deleted, nil
}
