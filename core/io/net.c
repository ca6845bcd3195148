/* net.c - see net.h. */
#include "net.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

struct cdl_net {
    uv_loop_t *loop;
    struct lws_context *ctx;
    struct lws_vhost *client;
    void *foreign_loops[1];
    int shut;
};

/* lws's own error and warning lines: a peer can provoke them (bad handshakes, protocol
 * violations), so they are rate-limited like every other error from outside.  lws's log setting
 * is process-wide, and so is this limit. */
static struct cdl_log_limit lws_log_limit = { .burst = 20 };

static void lws_log_bridge(int level, const char *line)
{
    size_t n = strlen(line);
    char buf[512];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, line, n);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    cdl_log_limited(&lws_log_limit, 10000, level == LLL_ERR ? CDL_LOG_ERROR : CDL_LOG_WARN, "libwebsockets", "detail",
                    buf, NULL);
}

struct cdl_net *cdl_net_create(uv_loop_t *loop, const char *ca_file, const struct lws_protocols *client_protocols)
{
    struct cdl_net *n = cdl_xcalloc(1, sizeof *n);
    n->loop = loop;
    n->foreign_loops[0] = loop;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = n->foreign_loops;
    info.pcontext = &n->ctx;
    n->ctx = lws_create_context(&info);
    if (!n->ctx) {
        cdl_log(CDL_LOG_ERROR, "cannot create the libwebsockets context (is libwebsockets-evlib-uv installed?)", NULL);
        free(n);
        return NULL;
    }
    memset(&info, 0, sizeof info);
    info.vhost_name = "client";
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.extensions = NULL;                              /* no client permessage-deflate on lws 4.1.6 (lws #2794) */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* needed on this vhost for client TLS */
    if (ca_file && *ca_file)
        info.client_ssl_ca_filepath = ca_file; /* else the OS CA store */
    n->client = lws_create_vhost(n->ctx, &info);
    if (!n->client) {
        cdl_log(CDL_LOG_ERROR, "cannot create the client vhost", NULL);
        lws_context_destroy(n->ctx);
        free(n);
        return NULL;
    }
    return n;
}

struct lws_vhost *cdl_net_listen(struct cdl_net *n, const char *name, const char *host, int port,
                                 const struct lws_protocols *protocols, void *user, int *bound)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = name;
    info.port = port;
    info.iface = host && *host ? host : NULL;
    info.protocols = protocols;
    info.user = user;
    info.keepalive_timeout = 5;
    struct lws_vhost *vh = lws_create_vhost(n->ctx, &info);
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    if (!vh) {
        cdl_log(CDL_LOG_ERROR, "cannot listen", "vhost", name, "host", host, "port", p, NULL);
        return NULL;
    }
    *bound = lws_get_vhost_listen_port(vh);
    return vh;
}

void cdl_net_write_close(struct lws *wsi, int code, const char *reason)
{
    unsigned char buf[LWS_PRE + 125];
    size_t rl = strlen(reason);
    if (rl > 100)
        rl = 100;
    buf[LWS_PRE] = (unsigned char)(code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(code & 0xff);
    memcpy(buf + LWS_PRE + 2, reason, rl);
    lws_write(wsi, buf + LWS_PRE, 2 + rl, (enum lws_write_protocol)4 /* LWS_WRITE_CLOSE */);
}

int cdl_reasm_feed(struct cdl_reasm *r, struct lws *wsi, size_t max, const char *in, size_t len, const char **msg,
                   size_t *msg_len)
{
    int first = lws_is_first_fragment(wsi);
    int last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (first) {
        r->len = 0;
        r->skip = 0;
        if (last) { /* the common case: the whole message in one piece, no copy */
            *msg = in;
            *msg_len = len;
            return len > max ? CDL_REASM_OVERSIZE : CDL_REASM_DONE;
        }
    }
    if (r->skip || r->len + len > max) { /* over the cap: drop to the end */
        r->skip = 1;
        r->len += len;
        if (!last)
            return CDL_REASM_MORE;
        *msg_len = r->len;
        cdl_reasm_reset(r);
        return CDL_REASM_OVERSIZE;
    }
    r->buf = cdl_xgrow(r->buf, &r->cap, r->len + len);
    memcpy(r->buf + r->len, in, len);
    r->len += len;
    if (!last)
        return CDL_REASM_MORE;
    *msg = r->buf;
    *msg_len = r->len;
    r->len = 0;
    return CDL_REASM_DONE;
}

void cdl_reasm_reset(struct cdl_reasm *r)
{
    r->len = 0;
    r->skip = 0;
}

void cdl_reasm_free(struct cdl_reasm *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

struct lws_context *cdl_net_context(struct cdl_net *n) { return n->ctx; }
struct lws_vhost *cdl_net_client_vhost(struct cdl_net *n) { return n->client; }

void cdl_net_shutdown(struct cdl_net *n)
{
    if (n && !n->shut && n->ctx) {
        n->shut = 1;
        lws_context_destroy(n->ctx);
    }
}

void cdl_net_destroy(struct cdl_net *n)
{
    if (!n)
        return;
    if (!n->shut)
        cdl_net_shutdown(n);
    if (n->ctx) /* lws NULLs it through pcontext once really gone */
        lws_context_destroy(n->ctx);
    cdl_log_limit_flush(&lws_log_limit);
    free(n);
}
