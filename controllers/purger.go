package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/route"
)

// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=cdns,verbs=get;list;watch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=cdns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Purger removes pages whose new content is published from the CDNs in
// front of their namespace: it collects changes for Window, waits until
// every server in ServedBy serves them, then sends one purge per CDN for
// the batch, retried with backoff (honouring 429 and Retry-After), and
// records the outcome on the CDN (Ready condition, status.lastPurge) and
// on each page (an Event, status.lastPurge). It runs on the elected
// manager only.
type Purger struct {
	// Client reads CDNs and writes their and the pages' status.
	Client client.Client
	// Reader reads from the API server, not a cache: a purged page, whose
	// new content a cache may not hold yet, and the EndpointSlices of a
	// spec.varnish.service, current at each purge without a watch on every
	// EndpointSlice of the namespace. nil reads with Client.
	Reader client.Reader
	// Varnish purges the provider varnish.
	Varnish *purge.Varnish
	// HTTP sends the purges of the SaaS providers; nil sends with
	// Varnish's client.
	HTTP *http.Client
	// Served tells when every server replica serves a change; nil purges
	// at once.
	Served *ServedCheck
	// Recorder emits the pages' Events.
	Recorder events.EventRecorder
	// Grants says which hosts each namespace may serve: a CDN's
	// spec.hosts are cut to those granted to its namespace, so that no
	// tenant's CDN purges another tenant's host. Nil grants every host
	// (--host-grants=off).
	Grants *kube.HostGrants
	// Window is how long changes are collected into one purge.
	Window time.Duration
	// Attempts is how many times a purge is tried before it is reported
	// failed and the batch put back for later.
	Attempts int
	// RetryBase and RetryMax bound the backoff between tries and between
	// later rounds of a failing batch.
	RetryBase, RetryMax time.Duration

	mu      sync.Mutex
	pending []purge.Change
	wake    chan struct{}
	// rounds counts the failed rounds of each page, for the backoff.
	rounds map[types.NamespacedName]int
	// aws is the AWS configuration, once loaded, under awsMu.
	awsMu sync.Mutex
	aws   *aws.Config
	// waiting holds the pages whose change is not purged yet, with when
	// their latest change was published.
	waiting map[types.NamespacedName]time.Time
}

// Changed queues c for the next purge. It never blocks.
func (p *Purger) Changed(c purge.Change) {
	if p == nil {
		return
	}
	if c.Published.IsZero() {
		c.Published = time.Now()
	}
	p.mu.Lock()
	p.pending = append(p.pending, c)
	if p.waiting == nil {
		p.waiting = map[types.NamespacedName]time.Time{}
	}
	if at, ok := p.waiting[pageKey(c)]; !ok || c.Published.After(at) {
		p.waiting[pageKey(c)] = c.Published
	}
	purgePendingPages.Set(float64(len(p.waiting)))
	p.mu.Unlock()
	select {
	case p.wakeup() <- struct{}{}:
	default:
	}
}

func (p *Purger) wakeup() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wake == nil {
		p.wake = make(chan struct{}, 1)
	}
	return p.wake
}

// Covers says whether a CDN of page's namespace purges page's changes. A
// nil Purger covers nothing.
func (p *Purger) Covers(ctx context.Context, page *pagesv1alpha1.StaticPage) (bool, error) {
	if p == nil {
		return false, nil
	}
	cdns := &pagesv1alpha1.CDNList{}
	if err := p.Client.List(ctx, cdns, client.InNamespace(page.Namespace)); err != nil {
		return false, fmt.Errorf("listing the CDNs of namespace %s: %w", page.Namespace, err)
	}
	c := []purge.Change{purgeChange(page)}
	for i := range cdns.Items {
		if len(purge.PlanFor(&cdns.Items[i], c).Changes) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// done forgets c's page once its change is purged, or needs no purge,
// unless a later change of the page is queued meanwhile.
func (p *Purger) done(c purge.Change) {
	k := pageKey(c)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rounds, k)
	if at, ok := p.waiting[k]; ok && !at.After(c.Published) {
		delete(p.waiting, k)
	}
	purgePendingPages.Set(float64(len(p.waiting)))
}

func pageKey(c purge.Change) types.NamespacedName {
	return types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
}

// Start purges batches until ctx ends.
func (p *Purger) Start(ctx context.Context) error {
	wake := p.wakeup()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
		// Changes arriving within the window join this batch.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.Window):
		}
		p.mu.Lock()
		batch := dedupe(p.pending)
		p.pending = nil
		p.mu.Unlock()
		if len(batch) > 0 {
			p.purgeBatch(ctx, batch)
		}
	}
}

// dedupe keeps the latest published change of each page (a change put
// back for a retry may come after a newer one), in the order they came.
func dedupe(changes []purge.Change) []purge.Change {
	latest := map[types.NamespacedName]int{}
	for i, c := range changes {
		if j, ok := latest[pageKey(c)]; !ok || !c.Published.Before(changes[j].Published) {
			latest[pageKey(c)] = i
		}
	}
	out := make([]purge.Change, 0, len(latest))
	for i, c := range changes {
		if latest[pageKey(c)] == i {
			out = append(out, c)
		}
	}
	return out
}

// purgeBatch waits until the servers serve the batch, then purges it from
// every CDN of its namespaces, and records each page's outcome once all
// of them answered.
func (p *Purger) purgeBatch(ctx context.Context, batch []purge.Change) {
	logger := log.FromContext(ctx).WithName("purge")
	if err := p.Served.Wait(ctx, batch); err != nil {
		logger.Info("purging although not every server is known to serve the new content", "error", err.Error())
	}
	byNS := map[string][]purge.Change{}
	for _, c := range batch {
		byNS[c.Namespace] = append(byNS[c.Namespace], c)
	}
	for ns, changes := range byNS {
		cdns := &pagesv1alpha1.CDNList{}
		if err := p.Client.List(ctx, cdns, client.InNamespace(ns)); err != nil {
			logger.Error(err, "listing CDNs", "namespace", ns)
			p.retryLater(ctx, changes)
			continue
		}
		outcomes := map[types.NamespacedName][]cdnOutcome{}
		for i := range cdns.Items {
			cdn, err := p.grantedHosts(ctx, &cdns.Items[i])
			if err != nil {
				logger.Error(err, "reading the host grants of a CDN's namespace", "cdn", client.ObjectKeyFromObject(&cdns.Items[i]))
				p.retryLater(ctx, changes)
				continue
			}
			if cdn == nil {
				continue
			}
			plan := purge.PlanFor(cdn, changes)
			if len(plan.Changes) == 0 {
				continue
			}
			err = p.purgeCDN(ctx, cdn, plan)
			observePurge(cdn.Spec.Provider, plan, err, time.Now())
			p.recordCDN(ctx, cdn, plan, err)
			for _, c := range plan.Changes {
				outcomes[pageKey(c)] = append(outcomes[pageKey(c)], cdnOutcome{cdn: cdn, err: err})
			}
		}
		var again []purge.Change
		for _, c := range changes {
			out := outcomes[pageKey(c)]
			if len(out) > 0 {
				p.recordPage(ctx, c, out)
			}
			if retryable(out) {
				again = append(again, c)
			} else {
				p.done(c)
			}
		}
		if len(again) > 0 {
			p.retryLater(ctx, again)
		}
	}
}

// grantedHosts is cdn with spec.hosts cut to the hosts granted to its
// namespace, or nil when it names hosts and none is granted: a CDN never
// purges a host its namespace may not serve. Each host left out is
// reported with a Warning Event on the CDN.
func (p *Purger) grantedHosts(ctx context.Context, cdn *pagesv1alpha1.CDN) (*pagesv1alpha1.CDN, error) {
	if !p.Grants.Enabled() || len(cdn.Spec.Hosts) == 0 {
		return cdn, nil
	}
	// The namespace's grants, read once for all the hosts.
	grants, err := p.Grants.Of(ctx, cdn.Namespace)
	if err != nil {
		return nil, err
	}
	var granted []string
	for _, h := range cdn.Spec.Hosts {
		if route.HostGranted(grants, h) {
			granted = append(granted, h)
			continue
		}
		if p.Recorder != nil {
			p.Recorder.Eventf(cdn, nil, corev1.EventTypeWarning, pagesv1alpha1.ReasonHostNotAllowed, "Purge",
				"not purging host %s: %s", h, route.NotGrantedMessage(cdn.Namespace, grants, h))
		}
	}
	if len(granted) == len(cdn.Spec.Hosts) {
		return cdn, nil
	}
	if len(granted) == 0 {
		return nil, nil
	}
	cut := cdn.DeepCopy()
	cut.Spec.Hosts = granted
	return cut, nil
}

// cdnOutcome is how one CDN answered the purge of a page.
type cdnOutcome struct {
	cdn *pagesv1alpha1.CDN
	err error
}

// retryable is true when a CDN failed a purge that a later round may get
// through: anything but what the manager does not support.
func retryable(out []cdnOutcome) bool {
	for _, o := range out {
		if o.err != nil && !errors.Is(o.err, errUnsupported) {
			return true
		}
	}
	return false
}

var errUnsupported = errors.New("not supported by this manager")

// purgeCDN sends plan to cdn: for Varnish, one request per server and
// batch of tags, or per URL; for a SaaS provider, one request per batch
// within its per-request limits. Each request is tried Attempts times
// with backoff.
func (p *Purger) purgeCDN(ctx context.Context, cdn *pagesv1alpha1.CDN, plan purge.Plan) error {
	if cdn.Spec.Provider != pagesv1alpha1.ProviderVarnish {
		return p.purgeProvider(ctx, cdn, plan)
	}
	servers, err := p.varnishServers(ctx, cdn)
	if err != nil {
		return err
	}
	var errs []error
	for _, base := range servers {
		for _, tags := range purge.Batches(plan.Tags, purge.MaxTagsPerRequest) {
			errs = append(errs, p.try(ctx, cdn.Spec.Provider, func(ctx context.Context) error { return p.Varnish.Tags(ctx, base, tags) }))
		}
		for _, u := range plan.URLs {
			errs = append(errs, p.try(ctx, cdn.Spec.Provider, func(ctx context.Context) error { return p.Varnish.URL(ctx, base, u.Host, u.Path) }))
		}
	}
	return errors.Join(errs...)
}

// purgeProvider sends plan to a SaaS CDN: its tags, or its URLs made
// absolute, in batches of at most the provider's per-request limits.
func (p *Purger) purgeProvider(ctx context.Context, cdn *pagesv1alpha1.CDN, plan purge.Plan) error {
	provider, err := p.provider(ctx, cdn)
	if err != nil {
		return err
	}
	maxTags, maxURLs := provider.Limits()
	var errs []error
	for _, tags := range purge.Batches(plan.Tags, maxTags) {
		errs = append(errs, p.try(ctx, cdn.Spec.Provider, func(ctx context.Context) error { return provider.Tags(ctx, tags) }))
	}
	for _, batch := range purge.Batches(plan.URLs, maxURLs) {
		errs = append(errs, p.try(ctx, cdn.Spec.Provider, func(ctx context.Context) error { return provider.URLs(ctx, batch) }))
	}
	err = errors.Join(errs...)
	if errors.Is(err, purge.ErrNoHost) {
		return fmt.Errorf("%w: %w", errUnsupported, err)
	}
	return err
}

// provider is the client of cdn's provider, with the credentials its
// Secret holds now (read from the API server at each purge, so a rotated
// token is used at once and no Secret is cached).
func (p *Purger) provider(ctx context.Context, cdn *pagesv1alpha1.CDN) (purge.Provider, error) {
	var secret map[string][]byte
	if name := cdn.Spec.SecretRef.Name; name != "" {
		reader := p.Reader
		if reader == nil {
			reader = p.Client
		}
		s := &corev1.Secret{}
		if err := reader.Get(ctx, types.NamespacedName{Namespace: cdn.Namespace, Name: name}, s); err != nil {
			return nil, fmt.Errorf("reading the CDN's Secret %s/%s: %w", cdn.Namespace, name, err)
		}
		secret = s.Data
	}
	hc := p.HTTP
	if hc == nil {
		hc = p.Varnish.HTTP
	}
	switch cdn.Spec.Provider {
	case pagesv1alpha1.ProviderCloudflare:
		cf := cdn.Spec.Cloudflare
		return purge.NewCloudflare(hc, cf.Endpoint, cf.ZoneID, secret, pagesv1alpha1.SecretKeyCloudflareToken)
	case pagesv1alpha1.ProviderFastly:
		f := cdn.Spec.Fastly
		return purge.NewFastly(hc, f.Endpoint, f.ServiceID, f.SoftPurge == nil || *f.SoftPurge, secret, pagesv1alpha1.SecretKeyFastlyKey)
	case pagesv1alpha1.ProviderAkamai:
		ak := cdn.Spec.Akamai
		base := ak.Endpoint
		if base == "" {
			base = "https://" + ak.Host
		}
		network := string(ak.Network)
		if network == "" {
			network = "production"
		}
		return purge.NewAkamai(hc, base, network, secret)
	case pagesv1alpha1.ProviderCloudFront:
		cfg, err := p.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		cf := cdn.Spec.CloudFront
		return purge.NewCloudFront(cfg, hc, cf.Endpoint, cf.DistributionID, time.Second), nil
	case pagesv1alpha1.ProviderBunny:
		b := cdn.Spec.Bunny
		return purge.NewBunny(hc, b.Endpoint, b.PullZoneID, secret, pagesv1alpha1.SecretKeyBunnyAccessKey)
	case pagesv1alpha1.ProviderHTTP:
		return purge.NewGeneric(hc, cdn.Spec.HTTP.URL, secret, pagesv1alpha1.SecretKeyHTTPToken), nil
	default:
		return nil, fmt.Errorf("%w: provider %s", errUnsupported, cdn.Spec.Provider)
	}
}

// awsConfig is the AWS configuration of the standard credential chain,
// loaded at the first CloudFront purge and kept (its credentials refresh
// themselves). CloudFront is global; its API is signed for us-east-1.
func (p *Purger) awsConfig(ctx context.Context) (aws.Config, error) {
	p.awsMu.Lock()
	defer p.awsMu.Unlock()
	if p.aws != nil {
		return *p.aws, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS credentials: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	p.aws = &cfg
	return cfg, nil
}

// varnishServers are the base URLs of cdn's Varnish servers:
// spec.varnish.urls, or every ready endpoint of spec.varnish.service at
// this moment. A Service with no ready endpoint is an error, retried: a
// Varnish that comes back may still hold the old page.
func (p *Purger) varnishServers(ctx context.Context, cdn *pagesv1alpha1.CDN) ([]string, error) {
	if len(cdn.Spec.Varnish.URLs) > 0 {
		return cdn.Spec.Varnish.URLs, nil
	}
	svc := cdn.Spec.Varnish.Service
	if svc.Name == "" {
		return nil, fmt.Errorf("%w: spec.varnish names no server", errUnsupported)
	}
	reader := p.Reader
	if reader == nil {
		reader = p.Client
	}
	list := &discoveryv1.EndpointSliceList{}
	if err := reader.List(ctx, list, client.InNamespace(cdn.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return nil, fmt.Errorf("listing the EndpointSlices of Service %s/%s: %w", cdn.Namespace, svc.Name, err)
	}
	urls := purge.ServiceURLs(list.Items, svc.Port)
	if len(urls) == 0 {
		return nil, fmt.Errorf("service %s/%s has no ready endpoint on port %d", cdn.Namespace, svc.Name, svc.Port)
	}
	return urls, nil
}

// try runs send, one request to a CDN of provider, up to Attempts times,
// waiting between tries as the error and purge.Backoff say.
func (p *Purger) try(ctx context.Context, provider pagesv1alpha1.CDNProvider, send func(context.Context) error) error {
	var err error
	for attempt := 1; attempt <= max(p.Attempts, 1); attempt++ {
		err = send(ctx)
		countPurgeRequest(provider, err)
		if err == nil {
			return nil
		}
		var perr *purge.Error
		if !errors.As(err, &perr) || !perr.Retryable || attempt == p.Attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(purge.Backoff(attempt, p.RetryBase, p.RetryMax, perr.RetryAfter)):
		}
	}
	return err
}

// retryLater puts changes back once the backoff of their failed rounds
// has passed, unless a newer change of the page came meanwhile.
func (p *Purger) retryLater(ctx context.Context, changes []purge.Change) {
	p.mu.Lock()
	if p.rounds == nil {
		p.rounds = map[types.NamespacedName]int{}
	}
	round := 0
	for _, c := range changes {
		k := types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
		p.rounds[k]++
		round = max(round, p.rounds[k])
	}
	p.mu.Unlock()
	time.AfterFunc(purge.Backoff(round, p.RetryBase, p.RetryMax, 0), func() {
		if ctx.Err() != nil {
			return
		}
		for _, c := range changes {
			p.Changed(c)
		}
	})
}

// recordCDN writes the outcome of a purge on its CDN: its Ready
// condition and status.lastPurge.
func (p *Purger) recordCDN(ctx context.Context, cdn *pagesv1alpha1.CDN, plan purge.Plan, err error) {
	now := metav1.Now()
	reason, msg := pagesv1alpha1.ReasonPurged, fmt.Sprintf("purged %d pages by %s", len(plan.Changes), cdn.Mode())
	status := metav1.ConditionTrue
	if err != nil {
		reason, status, msg = purgeResult(err), metav1.ConditionFalse, truncate(err.Error(), 1024)
	}
	base := cdn.DeepCopy()
	meta.SetStatusCondition(&cdn.Status.Conditions, metav1.Condition{
		Type: pagesv1alpha1.ReadyCondition, Status: status, Reason: reason, Message: msg, ObservedGeneration: cdn.Generation,
	})
	cdn.Status.ObservedGeneration = cdn.Generation
	cdn.Status.LastPurge = pagesv1alpha1.PurgeStatus{Time: &now, Result: pagesv1alpha1.ReasonPurged, Pages: int32(len(plan.Changes))}
	if err != nil {
		cdn.Status.LastPurge.Result, cdn.Status.LastPurge.Message = pagesv1alpha1.ReasonPurgeFailed, msg
	}
	if perr := p.Client.Status().Patch(ctx, cdn, client.MergeFrom(base)); perr != nil {
		log.FromContext(ctx).WithName("purge").Error(perr, "recording a purge on its CDN", "cdn", client.ObjectKeyFromObject(cdn))
	}
}

// purgeResult is the reason a failed purge is reported with.
func purgeResult(err error) string {
	if errors.Is(err, errUnsupported) {
		return pagesv1alpha1.ReasonUnsupported
	}
	return pagesv1alpha1.ReasonPurgeFailed
}

// recordPage writes on c's page how every CDN covering it answered: an
// Event per CDN, and status.lastPurge Purged once all of them
// acknowledged (naming the last), else PurgeFailed naming the first that
// did not. The status is written only while the page still holds c's
// content: a newer change is queued and owns status.lastPurge.
func (p *Purger) recordPage(ctx context.Context, c purge.Change, out []cdnOutcome) {
	now := metav1.Now()
	last := pagesv1alpha1.PurgeStatus{Time: &now, CDN: out[len(out)-1].cdn.Name, Result: pagesv1alpha1.ReasonPurged, Digest: c.Digest}
	for _, o := range out {
		if o.err != nil {
			last.CDN, last.Result, last.Message = o.cdn.Name, pagesv1alpha1.ReasonPurgeFailed, truncate(o.err.Error(), 1024)
			break
		}
	}
	reader := p.Reader
	if reader == nil {
		reader = p.Client
	}
	page := &pagesv1alpha1.StaticPage{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := reader.Get(ctx, pageKey(c), page); err != nil {
			return err
		}
		if page.Status.Digest != c.Digest {
			return nil
		}
		base := page.DeepCopy()
		page.Status.LastPurge = last
		return p.Client.Status().Patch(ctx, page, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			log.FromContext(ctx).WithName("purge").Error(err, "recording a purge on its page", "page", pageKey(c))
		}
		return
	}
	if p.Recorder == nil {
		return
	}
	for _, o := range out {
		if o.err != nil {
			p.Recorder.Eventf(page, o.cdn, corev1.EventTypeWarning, pagesv1alpha1.ReasonPurgeFailed, "Purge", "purging CDN %s failed: %s", o.cdn.Name, truncate(o.err.Error(), 1024))
		} else {
			p.Recorder.Eventf(page, o.cdn, corev1.EventTypeNormal, pagesv1alpha1.ReasonPurged, "Purge", "purged from CDN %s: %s visible", o.cdn.Name, c.Digest)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ServedCheck tells when every server replica serves a change, by asking
// each of them: a HEAD of the page's route with its host and an
// If-None-Match of the new content's ETag, answered 304 once it serves the
// new content (404 once it serves a withdrawn page as gone).
type ServedCheck struct {
	// Servers are the base URLs of the server replicas' page ports.
	Servers []string
	// HTTP asks them; it must time out.
	HTTP *http.Client
	// Timeout bounds the wait for one batch.
	Timeout time.Duration
	// Poll is how often a replica that does not serve a change yet is
	// asked again.
	Poll time.Duration
}

// Wait returns once every server serves every change, or with an error
// naming what it did not see served within Timeout. A nil check waits for
// nothing.
func (s *ServedCheck) Wait(ctx context.Context, changes []purge.Change) error {
	if s == nil || len(s.Servers) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	for _, srv := range s.Servers {
		for _, c := range changes {
			for !s.serves(ctx, srv, c) {
				select {
				case <-ctx.Done():
					return fmt.Errorf("server %s does not serve %s/%s at %s yet", srv, c.Namespace, c.Name, c.Digest)
				case <-time.After(s.Poll):
				}
			}
		}
	}
	return nil
}

// serves asks srv whether it serves change c.
func (s *ServedCheck) serves(ctx context.Context, srv string, c purge.Change) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, strings.TrimRight(srv, "/")+c.Route, nil)
	if err != nil {
		return false
	}
	if c.Host != "" {
		req.Host = c.Host
	}
	if c.Digest != "" {
		req.Header.Set("If-None-Match", `"`+digest.Hex(c.Digest)+`"`)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	if c.Digest == "" {
		return resp.StatusCode == http.StatusNotFound
	}
	return resp.StatusCode == http.StatusNotModified
}
