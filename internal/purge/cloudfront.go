package purge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
)

// CloudFrontMaxPaths is the most paths one invalidation names: CloudFront
// allows 3,000 file paths in progress per distribution
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
const CloudFrontMaxPaths = 3000

// CloudFrontCompleteWithin bounds the wait for an invalidation to be
// Completed; after it the purge is reported failed and tried again.
const CloudFrontCompleteWithin = 10 * time.Minute

// CloudFront invalidates paths of one distribution with the AWS SDK's
// CloudFront client: CreateInvalidation, then GetInvalidation until the
// invalidation is Completed, so that an acknowledged purge is one visitors
// see. CloudFront invalidates by path only; a CDN of provider cloudfront
// purges by URL (its API rule), and the host is not part of the path.
type CloudFront struct {
	client *cloudfront.Client
	dist   string
	poll   time.Duration
}

// NewCloudFront is the client of distribution with cfg's credentials (the
// standard chain: environment, shared files, web identity, the pod's
// role), sending with hc to endpoint ("" for CloudFront's), asking how an
// invalidation goes every poll. The SDK does not retry: the Purger does,
// as the answers say.
func NewCloudFront(cfg aws.Config, hc *http.Client, endpoint, distribution string, poll time.Duration) *CloudFront {
	client := cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) {
		o.HTTPClient = hc
		o.Retryer = aws.NopRetryer{}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &CloudFront{client: client, dist: distribution, poll: poll}
}

// Limits are CloudFrontMaxPaths paths (and a tag, which Tags refuses).
func (c *CloudFront) Limits() (tags, urls int) { return 1, CloudFrontMaxPaths }

// Tags is refused: CloudFront has no purge by tag.
func (c *CloudFront) Tags(context.Context, []string) error {
	return errors.New("cloudfront invalidates by path only: set spec.purgeBy to urls")
}

// URLs invalidates the paths of hps (their hosts all share the
// distribution) and waits until CloudFront completed it.
func (c *CloudFront) URLs(ctx context.Context, hps []HostPath) error {
	paths := make([]string, 0, len(hps))
	for _, hp := range hps {
		paths = append(paths, (&url.URL{Path: hp.Path}).EscapedPath())
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	ref := make([]byte, 8)
	_, _ = rand.Read(ref)
	out, err := c.client.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(c.dist),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(fmt.Sprintf("isr-%d-%s", time.Now().UnixNano(), hex.EncodeToString(ref))),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths},
		},
	})
	if err != nil {
		return c.error("creating an invalidation", err)
	}
	id := aws.ToString(out.Invalidation.Id)
	ctx, cancel := context.WithTimeout(ctx, CloudFrontCompleteWithin)
	defer cancel()
	for aws.ToString(out.Invalidation.Status) != "Completed" {
		select {
		case <-ctx.Done():
			return &Error{Retryable: true, Err: fmt.Errorf("invalidation %s of CloudFront distribution %s not completed: %w", id, c.dist, ctx.Err())}
		case <-time.After(c.poll):
		}
		got, err := c.client.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(c.dist), Id: aws.String(id)})
		if err != nil {
			return c.error("reading invalidation "+id, err)
		}
		out.Invalidation = got.Invalidation
	}
	return nil
}

// error is the *Error of a failed call: throttled calls and too many
// invalidations in progress are retried, as are no answer and 5xx.
func (c *CloudFront) error(what string, err error) error {
	msg := fmt.Errorf("%s of CloudFront distribution %s: %w", what, c.dist, err)
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		return &Error{Retryable: true, Err: msg}
	}
	e := answerError(re.Response.Response, msg.Error())
	if api, ok := errors.AsType[smithy.APIError](err); ok {
		switch api.ErrorCode() {
		case "Throttling", "TooManyInvalidationsInProgress":
			e.Retryable = true
		}
	}
	return e
}
