# Varnish in front of the isr-operator server, purged by the manager's CDN
# objects (provider varnish). The purge handling follows the xkey module's
# documented VCL example (vmod_xkey(3), varnish-modules): PURGE with an
# xkey-purge header purges every object carrying any of its space-separated
# keys; PURGE without it purges the URL (Host and path).
vcl 4.1;

import std;
import xkey;

# The server's page port. hack/demo.sh (CDN=varnish) and the tests write
# the address they serve on here.
backend default {
    .host = "127.0.0.1";
    .port = "8000";
}

# Who may purge: the manager's address. Widen it to the manager pods'
# network in a cluster.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            if (xkey.purge(req.http.xkey-purge) != 0) {
                return (synth(200, "Purged"));
            } else {
                return (synth(404, "Key not found"));
            }
        }
        return (purge);
    }
}

sub vcl_backend_response {
    # The CDN's own lifetime (the server's --cdn-cache-control), as RFC 9213
    # says: CDN-Cache-Control's max-age over Cache-Control's, for this
    # cache only; browsers keep the page's Cache-Control.
    if (beresp.http.CDN-Cache-Control ~ "(^|[ ,])max-age=[0-9]+") {
        set beresp.ttl = std.duration(regsub(beresp.http.CDN-Cache-Control, "^(.*[ ,])?max-age=([0-9]+).*$", "\2") + "s", beresp.ttl);
    }
}

sub vcl_deliver {
    # The tags and the CDN's lifetime are for this cache, not visitors.
    unset resp.http.xkey;
    unset resp.http.CDN-Cache-Control;
}
