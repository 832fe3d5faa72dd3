package revalidateapi

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/isr-operator/isr-operator/internal/cli"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// Options configure the revalidate API. cmd/server binds them to flags and
// the test suites fill them in code; Setup is the one place that assembles
// the API from them.
type Options struct {
	// BindAddress is where the API listens, apart from the pages
	// (--revalidate-bind-address); empty serves nothing, for tests that
	// call the Handler directly.
	BindAddress string
	// Secret is the credentials Secret, "namespace/name" or a name in
	// POD_NAMESPACE (--revalidate-secret); empty turns the API off.
	Secret string
	// RateLimit is calls per second per client address
	// (--revalidate-rate-limit); 0 means no limit.
	RateLimit float64
	// Burst is how many calls a client address may send at once
	// (--revalidate-burst).
	Burst int
	// MaxBodyBytes caps a request body (--revalidate-max-body-size).
	MaxBodyBytes int64
	// MaxUnauthenticated caps the calls in flight that are not yet
	// authenticated; more are answered 503 (--revalidate-max-unauthenticated).
	MaxUnauthenticated int
	// SignatureWindow is how far a signed call's timestamp may be from now
	// (--revalidate-signature-window).
	SignatureWindow time.Duration
	// TrustedProxies are CIDRs or addresses whose X-Forwarded-For is
	// believed (--trusted-proxies); empty trusts none.
	TrustedProxies cli.StringList
	// Namespaces limit matches to the namespaces the server serves.
	Namespaces []string
	// PollInterval is how often `wait` looks; 0 means 100ms.
	PollInterval time.Duration
	// SweepInterval is how often the Leases of used signatures are swept,
	// each sweep bounded by the interval; 0 means half of SignatureWindow,
	// and never more often than every 10s.
	SweepInterval time.Duration
	// Clock is the time source; nil means the real clock.
	Clock clock.PassiveClock
}

// DefaultOptions are the flags' defaults.
func DefaultOptions() Options {
	return Options{BindAddress: ":8001", RateLimit: 5, Burst: 10, MaxBodyBytes: 64 << 10, MaxUnauthenticated: 64, SignatureWindow: 5 * time.Minute}
}

// BindFlags registers the API's flags on fs, with o's values as defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.BindAddress, "revalidate-bind-address", o.BindAddress, "Address of the revalidate API (POST /revalidate), apart from the pages so it can be exposed separately.")
	fs.StringVar(&o.Secret, "revalidate-secret", o.Secret, "Secret holding the revalidate API's credentials (keys token, hmac-secret), as namespace/name or a name in POD_NAMESPACE; empty turns the API off.")
	fs.Float64Var(&o.RateLimit, "revalidate-rate-limit", o.RateLimit, "Revalidate API calls per second allowed from one client address.")
	fs.IntVar(&o.Burst, "revalidate-burst", o.Burst, "Revalidate API calls one client address may send in a burst.")
	fs.Int64Var(&o.MaxBodyBytes, "revalidate-max-body-size", o.MaxBodyBytes, "Largest revalidate API request body, in bytes.")
	fs.IntVar(&o.MaxUnauthenticated, "revalidate-max-unauthenticated", o.MaxUnauthenticated, "Revalidate API calls in flight that are not yet authenticated (a signed call's body is read before its signature is checked); more are answered 503 with Retry-After.")
	fs.DurationVar(&o.SignatureWindow, "revalidate-signature-window", o.SignatureWindow, "How far a signed call's X-Isr-Timestamp may be from now; older signatures are refused as replays.")
	fs.Var(&o.TrustedProxies, "trusted-proxies", "CIDRs or addresses of reverse proxies (an ingress controller) whose X-Forwarded-For the revalidate API believes for its rate limit and logs: the rightmost address that is not one of them is the client; repeatable and comma-separated; default trusts none.")
}

// Enabled is true when a Secret is named.
func (o Options) Enabled() bool { return o.Secret != "" }

// Validate says, in terms of the flags, what is wrong with o.
func (o Options) Validate() error {
	if !o.Enabled() {
		return nil
	}
	var errs []error
	if _, err := ParseSecretRef(o.Secret); err != nil {
		errs = append(errs, fmt.Errorf("--revalidate-secret: %w", err))
	}
	if o.RateLimit < 0 || o.Burst < 1 || o.MaxBodyBytes < 1 || o.MaxUnauthenticated < 1 || o.SignatureWindow <= 0 {
		errs = append(errs, errors.New("--revalidate-rate-limit must not be negative, and --revalidate-burst, --revalidate-max-body-size, --revalidate-max-unauthenticated and --revalidate-signature-window must be positive"))
	}
	if _, err := ParseProxies(o.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
	}
	return errors.Join(errs...)
}

// CacheOptions adds what the API watches (its one Secret) to a manager's
// cache options; unchanged when the API is off.
func (o Options) CacheOptions(c cache.Options) (cache.Options, error) {
	if !o.Enabled() {
		return c, nil
	}
	secret, err := ParseSecretRef(o.Secret)
	if err != nil {
		return c, fmt.Errorf("--revalidate-secret: %w", err)
	}
	return WatchSecret(c, secret), nil
}

// Setup assembles the API from o and registers it with mgr: its Secret
// informer (so the server is ready only once it is synced), the listener
// with listen's shutdown phases (unless o.BindAddress is empty) and the
// sweep of used signatures. It returns nil, nil when the API is off.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options, serving Serving,
	listen func(addr string, h http.Handler) manager.Runnable) (*Handler, error) {
	if !o.Enabled() {
		return nil, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	secret, _ := ParseSecretRef(o.Secret)
	proxies, _ := ParseProxies(o.TrustedProxies)
	if _, err := mgr.GetCache().GetInformer(ctx, &corev1.Secret{}); err != nil {
		return nil, fmt.Errorf("watching Secret %s: %w", secret, err)
	}
	replays := &LeaseReplays{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: secret.Namespace, Clock: o.Clock}
	h := &Handler{
		Reader: mgr.GetClient(), Writer: mgr.GetClient(), Serving: serving, Secret: secret,
		Verifier: &Verifier{Window: o.SignatureWindow}, Replays: replays,
		Limiter: &Limiter{Rate: o.RateLimit, Burst: o.Burst}, Proxies: proxies,
		Unauthenticated: &Gate{Max: int64(o.MaxUnauthenticated)},
		Namespaces:      o.Namespaces, MaxBodyBytes: o.MaxBodyBytes, PollInterval: o.PollInterval,
		Clock: o.Clock, Log: ctrl.Log.WithName("revalidate-api"),
	}
	if o.BindAddress != "" && listen != nil {
		if err := mgr.Add(listen(o.BindAddress, h)); err != nil {
			return nil, err
		}
	}
	sweepEvery := o.SweepInterval
	if sweepEvery <= 0 {
		sweepEvery = max(o.SignatureWindow/2, 10*time.Second)
	}
	if err := mgr.Add(kube.EveryReplica(func(ctx context.Context) error {
		replays.Start(ctx, sweepEvery)
		return nil
	})); err != nil {
		return nil, err
	}
	return h, nil
}

// ParseSecretRef reads --revalidate-secret: "namespace/name", or a bare name
// in the pod's namespace (the POD_NAMESPACE environment variable).
func ParseSecretRef(v string) (types.NamespacedName, error) {
	ns, name, found := strings.Cut(v, "/")
	if !found {
		ns, name = os.Getenv("POD_NAMESPACE"), v
		if ns == "" {
			return types.NamespacedName{}, fmt.Errorf("secret %q has no namespace: write namespace/name or set POD_NAMESPACE", v)
		}
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return types.NamespacedName{}, fmt.Errorf("secret namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return types.NamespacedName{}, fmt.Errorf("secret name %q: %s", name, strings.Join(errs, "; "))
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// WatchSecret adds the credentials Secret, and no other Secret, to a cache's
// options: the server may then be granted that one Secret by name, and a
// rotated Secret reaches it without a restart.
func WatchSecret(opts cache.Options, secret types.NamespacedName) cache.Options {
	if opts.ByObject == nil {
		opts.ByObject = map[client.Object]cache.ByObject{}
	}
	opts.ByObject[&corev1.Secret{}] = cache.ByObject{
		Namespaces: map[string]cache.Config{
			secret.Namespace: {FieldSelector: fields.OneTermEqualSelector("metadata.name", secret.Name)},
		},
	}
	return opts
}
