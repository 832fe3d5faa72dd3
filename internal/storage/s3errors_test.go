package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestClassify covers the store's answers versitygw cannot be made to give
// (a full disk, throttling, a 500) beside those it gives in s3_test.go.
func TestClassify(t *testing.T) {
	s := &S3{opts: S3Options{Endpoint: "https://s3.example", Bucket: "pages", Timeout: time.Second}}
	resp := func(code string, status int) error {
		return minio.ErrorResponse{Code: code, StatusCode: status, Message: "the store says " + code}
	}
	netErr := &url.Error{Op: "Get", URL: "https://s3.example/pages/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	for _, tt := range []struct {
		err  error
		want []error
		not  []error
		says string
	}{
		{resp("NoSuchKey", 404), []error{ErrNotStored}, []error{ErrUnavailable}, "page not stored"},
		{resp("NoSuchBucket", 404), []error{ErrNoBucket, ErrUnavailable}, []error{ErrNotStored}, "bucket pages does not exist"},
		{resp("AccessDenied", 403), []error{ErrDenied, ErrUnavailable}, nil, "AWS_ACCESS_KEY_ID"},
		{resp("InvalidAccessKeyId", 403), []error{ErrDenied, ErrUnavailable}, nil, "InvalidAccessKeyId"},
		{resp("SignatureDoesNotMatch", 403), []error{ErrDenied, ErrUnavailable}, nil, "SignatureDoesNotMatch"},
		{resp("ExpiredToken", 400), []error{ErrDenied, ErrUnavailable}, nil, "ExpiredToken"},
		{resp("", 401), []error{ErrDenied, ErrUnavailable}, nil, "denied"},
		{resp("InternalError", 500), []error{ErrUnavailable}, []error{ErrDenied, ErrNoBucket}, "answered 500"},
		{resp("ServiceUnavailable", 503), []error{ErrUnavailable}, nil, "answered 503"},
		{resp("SlowDown", 503), []error{ErrUnavailable}, nil, "SlowDown"},
		{resp("XMinioStorageFull", 507), []error{ErrUnavailable}, nil, "answered 507"},
		{resp("TooManyRequests", 429), []error{ErrUnavailable}, nil, "answered 429"},
		{resp("EntityTooLarge", 400), []error{ErrTooLarge}, []error{ErrUnavailable}, "EntityTooLarge"},
		{resp("InvalidArgument", 400), nil, []error{ErrUnavailable, ErrNotStored, ErrTooLarge}, "InvalidArgument"},
		{fmt.Errorf("wrapped: %w", resp("AccessDenied", 403)), []error{ErrDenied}, nil, "denied"},
		{netErr, []error{ErrUnavailable}, []error{ErrDenied}, "https://s3.example unreachable"},
	} {
		err := s.classify(context.Background(), context.Background(), "reading k", tt.err)
		for _, w := range tt.want {
			if !errors.Is(err, w) {
				t.Errorf("%v: classified as %v, want it to wrap %v", tt.err, err, w)
			}
		}
		for _, n := range tt.not {
			if errors.Is(err, n) {
				t.Errorf("%v: classified as %v, which wraps %v", tt.err, err, n)
			}
		}
		if !strings.Contains(err.Error(), tt.says) || !strings.HasPrefix(err.Error(), "reading k: ") {
			t.Errorf("%v: message %q does not start with the operation and say %q", tt.err, err, tt.says)
		}
	}

	// Timeouts: the request's own bound is the store's fault; the caller's
	// is not.
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	if err := s.classify(context.Background(), expired, "reading k", context.DeadlineExceeded); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no answer from https://s3.example within 1s") {
		t.Errorf("request timeout classified as %v", err)
	}
	if err := s.classify(expired, expired, "reading k", context.DeadlineExceeded); errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's timeout classified as %v", err)
	}
}
