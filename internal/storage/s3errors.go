package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/minio/minio-go/v7"
)

// storeError is a failure of the store itself: unreachable, slow, failing,
// refusing the credentials, or without the bucket. It wraps kind and
// ErrUnavailable, and the client's error.
type storeError struct {
	kind error
	msg  string
	err  error
}

func (e *storeError) Error() string { return e.msg }

func (e *storeError) Unwrap() []error {
	errs := []error{e.kind}
	if e.kind != ErrUnavailable {
		errs = append(errs, ErrUnavailable)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// deniedCodes are the S3 error codes of credentials or permissions the
// store refuses.
var deniedCodes = map[string]bool{
	"AccessDenied":                 true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"ExpiredToken":                 true,
	"InvalidToken":                 true,
	"TokenRefreshRequired":         true,
	"AllAccessDisabled":            true,
	"AccountProblem":               true,
	"InvalidSecurity":              true,
	"AuthorizationHeaderMalformed": true,
	// versitygw's answer (a 404) for an unknown access key.
	"XAdminUserNotFound": true,
}

// unavailableCodes are S3 error codes of a store that cannot serve now,
// whatever their HTTP status.
var unavailableCodes = map[string]bool{
	"SlowDown":                   true,
	"ServiceUnavailable":         true,
	"InternalError":              true,
	"RequestTimeout":             true,
	"XMinioStorageFull":          true,
	"XMinioServerNotInitialized": true,
}

// deniedHint says where credentials come from, for a store that refused
// them.
const deniedHint = "check the credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the shared credentials file, IRSA web identity or the instance role) and that the bucket policy allows this"

// classify turns the client's error for the request what into ErrNotStored
// (no such key), ErrDenied, ErrNoBucket, ErrUnavailable (unreachable, no
// answer within the timeout, 5xx), ErrTooLarge, or a plain wrapped error.
// ctx is the caller's context and rctx the request's bounded one: a caller
// that gave up gets its own context error back, not ErrUnavailable.
func (s *S3) classify(ctx, rctx context.Context, what string, err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code != "" || resp.StatusCode != 0) {
		switch {
		case resp.Code == minio.NoSuchKey:
			return fmt.Errorf("%s: %w", what, ErrNotStored)
		case resp.Code == minio.NoSuchBucket:
			return &storeError{kind: ErrNoBucket, err: err,
				msg: fmt.Sprintf("%s: bucket %s does not exist at %s (create it, or fix --s3-bucket): %v", what, s.opts.Bucket, s.opts.Endpoint, err)}
		case deniedCodes[resp.Code] || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
			return &storeError{kind: ErrDenied, err: err,
				msg: fmt.Sprintf("%s: %s (%s): %v (%s)", what, ErrDenied, deniedHint, err, resp.Code)}
		case unavailableCodes[resp.Code] || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return &storeError{kind: ErrUnavailable, err: err,
				msg: fmt.Sprintf("%s: %s: %s answered %d %s: %v", what, ErrUnavailable, s.opts.Endpoint, resp.StatusCode, resp.Code, err)}
		case resp.Code == "EntityTooLarge":
			return fmt.Errorf("%s: %w: %w", what, ErrTooLarge, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if rctx.Err() != nil {
		return &storeError{kind: ErrUnavailable, err: err,
			msg: fmt.Sprintf("%s: %s: no answer from %s within %s: %v", what, ErrUnavailable, s.opts.Endpoint, s.opts.Timeout, err)}
	}
	return &storeError{kind: ErrUnavailable, err: err,
		msg: fmt.Sprintf("%s: %s: %s unreachable: %v", what, ErrUnavailable, s.opts.Endpoint, err)}
}

// isNotFound reports whether err says the key does not exist.
func isNotFound(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == minio.NoSuchKey
}
