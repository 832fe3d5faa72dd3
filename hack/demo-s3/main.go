// Command demo-s3 is a small S3 client for `make demo STORAGE=s3`: it
// creates the demo's bucket and lists what the manager wrote there, so
// that no other S3 tool is needed. Credentials come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as for the manager.
//
//	demo-s3 --endpoint http://127.0.0.1:9000 --bucket pages mb
//	demo-s3 --endpoint http://127.0.0.1:9000 --bucket pages ls [prefix]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:9000", "URL of the S3-compatible store.")
	bucket := flag.String("bucket", "pages", "Bucket to create or list.")
	region := flag.String("region", "us-east-1", "Region of the bucket.")
	wait := flag.Duration("wait", 15*time.Second, "How long mb waits for the store to answer.")
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] mb | ls [prefix]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*endpoint, *bucket, *region, *wait, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "demo-s3:", err)
		os.Exit(1)
	}
}

func run(endpoint, bucket, region string, wait time.Duration, args []string) error {
	if len(args) == 0 {
		flag.Usage()
		return errors.New("no command")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--endpoint %q is not a URL", endpoint)
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewEnvAWS(),
		Secure:       u.Scheme == "https",
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "mb":
		return makeBucket(ctx, client, bucket, region, wait)
	case "ls":
		prefix := ""
		if len(args) > 1 {
			prefix = args[1]
		}
		return list(ctx, client, bucket, prefix)
	default:
		flag.Usage()
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// makeBucket creates the bucket, waiting for the store to answer; a bucket
// that exists already is fine.
func makeBucket(ctx context.Context, c *minio.Client, bucket, region string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		exists, err := c.BucketExists(ctx, bucket)
		if err == nil {
			if exists {
				return nil
			}
			return c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the store did not answer within %s: %w", wait, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// list prints every object under prefix: size, time, key.
func list(ctx context.Context, c *minio.Client, bucket, prefix string) error {
	n := 0
	for info := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return info.Err
		}
		n++
		fmt.Printf("%10d  %s  %s\n", info.Size, info.LastModified.UTC().Format(time.RFC3339), info.Key)
	}
	_, err := fmt.Printf("%d objects in s3://%s/%s\n", n, bucket, prefix)
	return err
}
