/* net.c - see net.h. */
#include "net.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "upstream.h"

struct cdl_net {
    uv_loop_t *loop;
    struct lws_context *ctx;
    struct lws_vhost *client;
    void *foreign_loops[1];
    int shut;
    struct cdl_circuits *circuits;
};

static const struct lws_protocols client_protocols[] = {
    { "cdl-upstream", cdl_upstream_lws_callback, 0, 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

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
    cdl_log(level == LLL_ERR ? CDL_LOG_ERROR : CDL_LOG_WARN, "libwebsockets", "detail", buf, NULL);
}

struct cdl_net *cdl_net_create(uv_loop_t *loop, const char *ca_file)
{
    struct cdl_net *n = calloc(1, sizeof *n);
    if (!n)
        abort();
    n->loop = loop;
    n->foreign_loops[0] = loop;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_LIBUV;
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
    info.extensions = NULL; /* no client permessage-deflate on lws 4.1.6 (lws #2794) */
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
    free(n);
}

void cdl_net_set_circuits(struct cdl_net *n, struct cdl_circuits *cs) { n->circuits = cs; }
struct cdl_circuits *cdl_net_circuits(struct cdl_net *n) { return n->circuits; }
