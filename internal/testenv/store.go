package testenv

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive // the suites' DSL
	. "github.com/onsi/gomega"    //nolint:revive // the suites' DSL

	"github.com/isr-operator/isr-operator/internal/storage/s3test"
)

// StartStore starts a versitygw for the spec or container it is called in
// and puts its credentials in the environment, where the standard chain
// finds them, as in a pod; both go when that spec or container ends.
func StartStore() *s3test.Server {
	GinkgoHelper()
	store, err := s3test.Start(s3test.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(store.Close()).To(Succeed()) })
	DeferCleanup(store.ExportEnv())
	return store
}
