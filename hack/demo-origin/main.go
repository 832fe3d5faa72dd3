// Command demo-origin is a small origin for `make demo`: each page shows
// when it was rendered and how many times, so regeneration is visible.
package main

import (
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"
)

var (
	mu sync.Mutex
	// renders counts each path's renders.
	renders = map[string]int{}
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8088", "Address to serve the demo pages on.")
	flag.Parse()

	pages := map[string]string{
		"/":            "Home",
		"/products/42": "Product 42",
		"/about":       "About us",
	}
	// The StaticPageSet sample's template: products 1 to 10000 exist, any
	// other id is 404, as a CMS answers for a product it does not have.
	http.HandleFunc("/render/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || id < 1 || id > 10000 {
			log.Printf("render %s: no such product", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		page(w, r, fmt.Sprintf("Product %d", id))
	})
	// The sample set's sitemap lists three popular products.
	http.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://%[1]s/products/1</loc></url>
  <url><loc>http://%[1]s/products/2</loc></url>
  <url><loc>http://%[1]s/products/3</loc></url>
</urlset>
`, r.Host)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		title, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		page(w, r, title)
	})
	log.Printf("demo origin on http://%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}

// page writes a demo page titled title, counting its renders.
func page(w http.ResponseWriter, r *http.Request, title string) {
	mu.Lock()
	renders[r.URL.Path]++
	n := renders[r.URL.Path]
	mu.Unlock()
	log.Printf("render %s #%d (%s)", r.URL.Path, n, r.UserAgent())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if _, err := fmt.Fprintf(w, "<!doctype html><title>%[1]s</title><h1>%[1]s</h1><p>Rendered at %[2]s (render #%[3]d).</p>\n",
		html.EscapeString(title), time.Now().UTC().Format(time.RFC3339), n); err != nil {
		log.Printf("render %s #%d: writing the page: %v", r.URL.Path, n, err)
	}
}
