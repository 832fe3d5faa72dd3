package testenv

import (
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/storage/s3test"
)

// StartStore starts a versitygw for the spec or container it is called in
// and puts its credentials in the environment, where the standard chain
// finds them, as in a pod; both go when that spec or container ends.
func StartStore() *s3test.Server {
	ginkgo.GinkgoHelper()
	store, err := s3test.Start(s3test.Options{})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ginkgo.DeferCleanup(func() { gomega.Expect(store.Close()).To(gomega.Succeed()) })
	ginkgo.DeferCleanup(store.ExportEnv())
	return store
}
