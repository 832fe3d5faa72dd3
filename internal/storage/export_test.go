package storage

// SetListPage sets how many keys one list request asks for, and returns a
// func that restores it.
func SetListPage(n int) (restore func()) {
	old := listPageSize
	listPageSize = n
	return func() { listPageSize = old }
}

// SetBeforeManifest makes every Put of s call f after writing the
// representations, before the manifest.
func SetBeforeManifest(s *S3, f func()) { s.beforeManifest = f }
