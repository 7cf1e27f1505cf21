/*
 * The web console: a few static files built into the binary (auto/embed)
 * served below context_path, "/" and "/index.html" being the page.  The
 * page is plain HTML, CSS and JavaScript that calls the same HTTP API as
 * the SDKs; see docs/console.md.
 */
#include <nd_http_internal.h>

/* the files, from src/modules/http/config (nd_module_embeds) */
extern const char           nd_http_console_html[];
extern const unsigned long  nd_http_console_html_len;
extern const char           nd_http_console_css[];
extern const unsigned long  nd_http_console_css_len;
extern const char           nd_http_console_js[];
extern const unsigned long  nd_http_console_js_len;
extern const char           nd_http_console_diff_js[];
extern const unsigned long  nd_http_console_diff_js_len;

typedef struct {
    const char           *route;
    const char           *type;
    const char           *data;
    const unsigned long  *len;
} nd_http_console_file_t;

static const nd_http_console_file_t  nd_http_console_files[] = {
    { "/", "text/html;charset=UTF-8",
      nd_http_console_html, &nd_http_console_html_len },
    { "/index.html", "text/html;charset=UTF-8",
      nd_http_console_html, &nd_http_console_html_len },
    { "/console.css", "text/css;charset=UTF-8",
      nd_http_console_css, &nd_http_console_css_len },
    { "/console.js", "text/javascript;charset=UTF-8",
      nd_http_console_js, &nd_http_console_js_len },
    { "/diff.js", "text/javascript;charset=UTF-8",
      nd_http_console_diff_js, &nd_http_console_diff_js_len },
    { NULL, NULL, NULL, NULL }
};

/* nothing but our own files: no inline script or style, no framing */
#define ND_HTTP_CONSOLE_CSP                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; "               \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "           \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static nd_int_t nd_http_console_file(nd_http_request_t *r);

static const nd_http_route_t  nd_http_console_routes[] = {
    { ND_HTTP_GET, nd_string("/"), nd_http_console_file },
    { ND_HTTP_GET, nd_string("/index.html"), nd_http_console_file },
    { ND_HTTP_GET, nd_string("/console.css"), nd_http_console_file },
    { ND_HTTP_GET, nd_string("/console.js"), nd_http_console_file },
    { ND_HTTP_GET, nd_string("/diff.js"), nd_http_console_file },
    nd_http_null_route
};


nd_int_t
nd_http_console_init(nd_cycle_t *cycle)
{
    if (!nd_http_conf(cycle)->console) {
        return ND_OK;
    }

    return nd_http_add_routes(cycle, nd_http_console_routes);
}


/* the context path without its "/": where the page is, as Nacos does */
void
nd_http_console_redirect(nd_http_request_t *r)
{
    nd_str_t  *cp;
    u_char    *loc;

    cp = &nd_http_conf(nd_cycle)->context_path;
    loc = nd_pnalloc(r->pool, cp->len + 1);
    if (loc == NULL) {
        nd_http_finalize(r, ND_ERROR);
        return;
    }
    memcpy(loc, cp->data, cp->len);
    loc[cp->len] = '/';

    if (nd_http_add_header(r, "Location", (char *) loc, cp->len + 1)
        != ND_OK)
    {
        nd_http_finalize(r, ND_ERROR);
        return;
    }

    nd_http_send(r, 302, NULL, NULL, 0);
}


static nd_int_t
nd_http_console_file(nd_http_request_t *r)
{
    char                           etag[40], md5[33];
    size_t                         n;
    nd_str_t                      *inm;
    const nd_http_console_file_t  *f;

    for (f = nd_http_console_files; f->route; f++) {
        if (r->route.len == strlen(f->route)
            && memcmp(r->route.data, f->route, r->route.len) == 0)
        {
            break;
        }
    }

    if (f->route == NULL) {
        return 404;
    }

    /* a strong validator: the file is fixed for the binary's lifetime */
    if (nd_md5_hex(f->data, *f->len, md5) != ND_OK) {
        return ND_ERROR;
    }
    n = (size_t) snprintf(etag, sizeof(etag), "\"%.16s\"", md5);

    if (nd_http_add_header(r, "ETag", etag, n) != ND_OK
        || nd_http_add_header(r, "Cache-Control", "no-cache",
                              sizeof("no-cache") - 1) != ND_OK
        || nd_http_add_header(r, "Content-Security-Policy",
                              ND_HTTP_CONSOLE_CSP,
                              sizeof(ND_HTTP_CONSOLE_CSP) - 1) != ND_OK
        || nd_http_add_header(r, "X-Content-Type-Options", "nosniff",
                              sizeof("nosniff") - 1) != ND_OK
        || nd_http_add_header(r, "X-Frame-Options", "DENY",
                              sizeof("DENY") - 1) != ND_OK
        || nd_http_add_header(r, "Referrer-Policy", "no-referrer",
                              sizeof("no-referrer") - 1) != ND_OK)
    {
        return ND_ERROR;
    }

    /* If-None-Match: "*" or a list holding our tag; 304 has the length
     * the 200 would have, and no body */
    inm = nd_http_header_in(r, "If-None-Match");
    if (inm && ((inm->len == 1 && inm->data[0] == '*')
                || memmem(inm->data, inm->len, etag, n) != NULL))
    {
        r->header_only = 1;
        return nd_http_send(r, 304, f->type, f->data, *f->len);
    }

    return nd_http_send(r, 200, f->type, f->data, *f->len);
}
