// Command demo-origin is a small origin for `make demo`: each page shows
// when it was rendered and how many times, so regeneration is visible.
package main

import (
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8088", "Address to serve the demo pages on.")
	flag.Parse()

	var mu sync.Mutex
	renders := map[string]int{}
	pages := map[string]string{
		"/":            "Home",
		"/products/42": "Product 42",
		"/about":       "About us",
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		title, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
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
	})
	log.Printf("demo origin on http://%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
