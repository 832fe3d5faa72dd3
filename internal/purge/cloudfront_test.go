package purge

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The CloudFront contract, from the CloudFront API reference:
//   - https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html :
//     POST /2020-05-31/distribution/{Id}/invalidation with an
//     InvalidationBatch XML body (Paths: Quantity and Items, a unique
//     CallerReference), answered 201 with the Invalidation (Id, Status
//     InProgress); errors TooManyInvalidationsInProgress (400) and
//     Throttling;
//   - https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetInvalidation.html :
//     GET /2020-05-31/distribution/{Id}/invalidation/{Id}, Status
//     Completed once done;
//   - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html :
//     3,000 file paths in progress per distribution;
//   - requests signed with AWS Signature Version 4 for service cloudfront.
const cfDistribution = "E2QWRUHAPOMQZL"

type invalidationBatch struct {
	Paths struct {
		Quantity int      `xml:"Quantity"`
		Items    []string `xml:"Items>Path"`
	} `xml:"Paths"`
	CallerReference string `xml:"CallerReference"`
}

func cloudFrontAPI(t *testing.T, polls *atomic.Int32, throttle *atomic.Int32) *contract {
	invalidation := func(status string) string {
		return `<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id><Status>` + status +
			`</Status><CreateTime>2026-12-07T10:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>x</CallerReference></InvalidationBatch></Invalidation>`
	}
	failure := func(code string) string {
		return `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + code + `</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`
	}
	c := &contract{t: t}
	c.check = func(r *http.Request) (int, any) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/us-east-1/cloudfront/aws4_request") {
			return http.StatusForbidden, rawXML(failure("InvalidClientTokenId"))
		}
		prefix := "/2020-05-31/distribution/" + cfDistribution + "/invalidation"
		switch {
		case r.Method == http.MethodPost && r.URL.Path == prefix:
			if throttle.Load() > 0 {
				throttle.Add(-1)
				return http.StatusBadRequest, rawXML(failure("TooManyInvalidationsInProgress"))
			}
			var b invalidationBatch
			if err := xml.NewDecoder(r.Body).Decode(&b); err != nil || b.CallerReference == "" ||
				b.Paths.Quantity != len(b.Paths.Items) || b.Paths.Quantity == 0 || b.Paths.Quantity > 3000 {
				return http.StatusBadRequest, rawXML(failure("InvalidArgument"))
			}
			return http.StatusCreated, rawXML(invalidation("InProgress"))
		case r.Method == http.MethodGet && r.URL.Path == prefix+"/I2J0I21PCUYOIK":
			if polls.Add(1) < 2 {
				return http.StatusOK, rawXML(invalidation("InProgress"))
			}
			return http.StatusOK, rawXML(invalidation("Completed"))
		}
		return http.StatusNotFound, rawXML(failure("NoSuchDistribution"))
	}
	return c
}

// rawXML is a body the contract server writes as it is.
type rawXML string

func TestCloudFrontInvalidation(t *testing.T) {
	ctx := context.Background()
	var polls, throttle atomic.Int32
	api := cloudFrontAPI(t, &polls, &throttle)
	srv := api.start()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	cf := NewCloudFront(cfg, srv.Client(), srv.URL, cfDistribution, time.Millisecond)
	if _, urls := cf.Limits(); urls != 3000 {
		t.Fatalf("Limits = %d paths, CloudFront takes 3000", urls)
	}

	hps := []HostPath{{Host: "a.example.com", Path: "/p"}, {Host: "b.example.com", Path: "/p"}, {Path: "/q r"}}
	if err := cf.URLs(ctx, hps); err != nil {
		t.Fatal(err)
	}
	if polls.Load() < 2 {
		t.Fatal("the purge returned before the invalidation was Completed")
	}
	var b invalidationBatch
	_, body := firstPost(t, api)
	if err := xml.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(b.Paths.Items) != "[/p /q%20r]" {
		t.Fatalf("paths = %v: each path once, escaped, without hosts", b.Paths.Items)
	}

	t.Run("too many invalidations in progress is retried", func(t *testing.T) {
		throttle.Store(1)
		perr := asError(t, cf.URLs(ctx, hps[:1]))
		if !perr.Retryable || perr.Code != http.StatusBadRequest {
			t.Fatalf("error = %+v, want a retryable 400", perr)
		}
	})
	t.Run("tags are refused", func(t *testing.T) {
		if err := cf.Tags(ctx, []string{"a"}); err == nil {
			t.Fatal("CloudFront has no purge by tag")
		}
	})
	t.Run("wrong credentials are refused, not retried", func(t *testing.T) {
		bad := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("OTHER", "secret", "")}
		perr := asError(t, NewCloudFront(bad, srv.Client(), srv.URL, cfDistribution, time.Millisecond).URLs(ctx, hps[:1]))
		if perr.Retryable || perr.Code != http.StatusForbidden {
			t.Fatalf("error = %+v, want a 403 that is not retried", perr)
		}
	})
}

// firstPost is the first POST the contract server saw, and its body.
func firstPost(t *testing.T, c *contract) (*http.Request, string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.seen {
		if r.Method == http.MethodPost {
			return r, c.bodies[i]
		}
	}
	t.Fatal("no POST reached the contract server")
	return nil, ""
}
