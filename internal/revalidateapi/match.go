package revalidateapi

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
)

// match finds the pages a request names, in a stable order. A path with a
// host names the page the server routes that URL to (the page for that
// host, else the page for any host) and the page it serves there now,
// which differ only while the first is unrendered or withdrawn; a path
// without a host names every page at that route.
func (h *Handler) match(ctx context.Context, req *parsed) ([]*pagesv1alpha1.StaticPage, *Unmatched, error) {
	unmatched := &Unmatched{}
	if req.Namespace != "" && len(h.Namespaces) > 0 && !slices.Contains(h.Namespaces, req.Namespace) {
		// Not a namespace this server sees: its pages are not served here.
		unmatched.Paths, unmatched.Names, unmatched.Selector, unmatched.Tags = req.Paths, req.Names, strings.Join(req.selectorSrc, "; "), req.Tags
		return nil, unmatched, nil
	}
	list := &pagesv1alpha1.StaticPageList{}
	var opts []client.ListOption
	if req.Namespace != "" {
		opts = append(opts, client.InNamespace(req.Namespace))
	}
	if err := h.Reader.List(ctx, list, opts...); err != nil {
		return nil, nil, err
	}
	items := slices.DeleteFunc(list.Items, func(p pagesv1alpha1.StaticPage) bool { return !p.DeletionTimestamp.IsZero() })
	found := map[types.NamespacedName]*pagesv1alpha1.StaticPage{}
	// One pass over the pages serves every path and name of the request.
	byRoute := map[string][]*pagesv1alpha1.StaticPage{}
	byName := map[string]*pagesv1alpha1.StaticPage{}
	idx := route.NewIndex[*route.Claim]()
	for j := range items {
		p := &items[j]
		byRoute[p.Spec.Route] = append(byRoute[p.Spec.Route], p)
		if p.Namespace == req.Namespace {
			byName[p.Name] = p
		}
		if req.host != "" {
			since, _ := p.ClaimSince()
			idx.Put(&route.Claim{Page: client.ObjectKeyFromObject(p), Host: p.Spec.Host, Route: p.Spec.Route, Created: since})
		}
	}
	for i, path := range req.routes {
		var owner, current types.NamespacedName
		if req.host != "" {
			owner, _ = idx.Owner(req.host, path)
			current, _ = h.Serving.PageName(req.host, path)
		}
		any := false
		for _, p := range byRoute[path] {
			if key := client.ObjectKeyFromObject(p); req.host == "" || key == owner || key == current {
				found[key] = p
				any = true
			}
		}
		if !any {
			unmatched.Paths = append(unmatched.Paths, req.Paths[i])
		}
	}
	for _, name := range req.Names {
		if p, ok := byName[name]; ok {
			found[client.ObjectKeyFromObject(p)] = p
		} else {
			unmatched.Names = append(unmatched.Names, name)
		}
	}
	var unmatchedSelectors []string
	for j, sel := range req.selectors {
		any := false
		for i := range items {
			if p := &items[i]; sel.Matches(labels.Set(p.Labels)) {
				found[client.ObjectKeyFromObject(p)] = p
				any = true
			}
		}
		if !any {
			unmatchedSelectors = append(unmatchedSelectors, req.selectorSrc[j])
		}
	}
	// A request has one selector; a Call's unmatched ones are listed
	// apart by "; ", which no selector contains.
	unmatched.Selector = strings.Join(unmatchedSelectors, "; ")
	// A tag names the pages carrying it in the namespaces the request
	// reaches (its namespace, else every namespace this server serves):
	// the same tag in another namespace is another tenant's.
	if len(req.Tags) > 0 {
		hit := make(map[string]bool, len(req.Tags))
		for _, t := range req.Tags {
			hit[t] = false
		}
		for i := range items {
			p := &items[i]
			for _, t := range p.Status.Tags {
				if _, ok := hit[t]; ok {
					hit[t] = true
					found[client.ObjectKeyFromObject(p)] = p
				}
			}
		}
		for _, t := range req.Tags {
			if !hit[t] && !slices.Contains(unmatched.Tags, t) {
				unmatched.Tags = append(unmatched.Tags, t)
			}
		}
	}
	pages := make([]*pagesv1alpha1.StaticPage, 0, len(found))
	for _, p := range found {
		pages = append(pages, p)
	}
	slices.SortFunc(pages, func(a, b *pagesv1alpha1.StaticPage) int {
		if a.Namespace != b.Namespace {
			return cmp.Compare(a.Namespace, b.Namespace)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(unmatched.Paths) == 0 && len(unmatched.Names) == 0 && unmatched.Selector == "" && len(unmatched.Tags) == 0 {
		unmatched = nil
	}
	return pages, unmatched, nil
}
