// Package controllers holds the manager's two reconcilers: the StaticPage
// reconciler, the one writer that fetches origins and stores pages, and the
// StaticPageSet reconciler, which keeps each set's child StaticPages in step
// with the set and leaves their rendering to the first.
package controllers
