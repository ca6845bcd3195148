/* http.c - candled-sim's REST side: one lws HTTP transaction at a time per connection.
 *
 * A GET is answered when its headers are in, a POST once its body (up to 64 KiB, 413 beyond)
 * has arrived.  The exchange fills a struct sim_http_reply; this file applies the REST faults
 * (--rest-fail-every, --rest-garbage-every), counts requests (and the busiest second), adds the
 * used-weight header and writes the body in chunks.  It owns the reply and the POST body in the
 * connection's struct sim_pss, freed when the transaction completes or the connection closes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

const char *sim_http_arg(const struct sim_http_req *req, const char *name, char *buf, int len)
{
    /* lws copies every argument before the wanted one into the buffer and gives up at the first
     * that does not fit, so a short caller buffer would hide later arguments: use a large one */
    static char frag[SIM_MAX_HEADER];
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    const char *v = lws_get_urlarg_by_name((struct lws *)req->wsi, key, frag, (int)sizeof frag);
    if (!v || strlen(v) >= (size_t)len)
        return NULL;
    memcpy(buf, v, strlen(v) + 1); /* lws leaves "name=" in front of the value */
    return buf;
}

int sim_http_int_arg(const struct sim_http_req *req, const char *name, long long *out)
{
    char buf[64];
    const char *v = sim_http_arg(req, name, buf, sizeof buf);
    if (!v)
        return 0;
    if (!*v || strlen(v) > 19)
        return -1;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    *out = strtoll(v, NULL, 10);
    return 1;
}

void sim_http_free(struct sim_pss *pss)
{
    free(pss->post_path);
    pss->post_path = NULL;
    sim_buf_free(&pss->post_body);
    if (pss->http) {
        sim_buf_free(&pss->http->body);
        free(pss->http);
        pss->http = NULL;
    }
}

/* Used weight of the current minute, after adding `weight`. */
static int sim_weight_add(struct sim_core *core, int weight)
{
    int64_t minute = sim_real_ms() / 60000;
    if (minute != core->weight_minute) {
        core->weight_minute = minute;
        core->weight_used = 0;
    }
    core->weight_used += weight;
    return core->weight_used;
}

static int sim_http_request(struct sim_core *core, struct lws *wsi, struct sim_pss *pss, struct sim_http_req req)
{
    struct sim *sim = &core->sim;
    const char *path = req.path;
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    char val[32];
    pss->http = calloc(1, sizeof *pss->http);
    if (!pss->http)
        abort();
    pss->http_sent = 0;
    struct sim_http_reply *rep = pss->http;
    sim->counters.rest_requests++;
    core->rest_seq++;
    if (sim_real_ms() / 1000 != core->rest_second) {
        core->rest_second = sim_real_ms() / 1000;
        core->rest_in_second = 0;
    }
    if (++core->rest_in_second > sim->counters.rest_peak_per_sec)
        sim->counters.rest_peak_per_sec = core->rest_in_second;
    if (sim->opts.rest_fail_every && core->rest_seq % (uint64_t)sim->opts.rest_fail_every == 0) {
        sim->counters.rest_failures++;
        rep->status = sim->opts.rest_status;
        rep->weight = 1;
        sim->ex->rest_fault_body(sim, rep->status, &rep->body);
    } else if (req.body_len > SIM_RX_MAX) {
        rep->status = 413;
        sim_buf_str(&rep->body, "{\"error\":\"candled-sim: request body over 64 KiB\"}");
    } else if (sim->ex->rest(sim, &req, rep) < 0) {
        rep->status = 404;
        sim_buf_str(&rep->body, "{\"code\":-1,\"msg\":\"candled-sim: no such endpoint\"}");
    } else if (sim->opts.rest_garbage_every && rep->status == 200 &&
               core->rest_seq % (uint64_t)sim->opts.rest_garbage_every == 0) {
        sim->counters.rest_garbage++; /* a body that does not parse: cut in half */
        rep->body.len /= 2;
    }
    if (sim->opts.verbose)
        fprintf(stderr, "candled-sim: %s %s -> %d\n", req.method, path, rep->status);
    snprintf(val, sizeof val, "%d", sim_weight_add(core, rep->weight));
    if (lws_add_http_common_headers(wsi, (unsigned int)rep->status, "application/json", rep->body.len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"X-MBX-USED-WEIGHT-1M:", (const unsigned char *)val,
                                    (int)strlen(val), &p, end))
        return 1;
    if (rep->status == 429 &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"Retry-After:", (const unsigned char *)"1", 1, &p, end))
        return 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* A complete POST body: answered like a GET, with the body (413 if it was over 64 KiB). */
int sim_http_post_done(struct sim_core *core, struct lws *wsi, struct sim_pss *pss)
{
    struct sim_http_req req = { .path = pss->post_path,
                                .method = "POST",
                                .wsi = wsi,
                                .body = pss->post_body.data ? pss->post_body.data : "",
                                .body_len = pss->post_body.len };
    int rc = sim_http_request(core, wsi, pss, req);
    free(pss->post_path);
    pss->post_path = NULL;
    sim_buf_free(&pss->post_body);
    return rc;
}

/* A request's headers are in: a GET is answered now, a POST once its body has arrived. */
int sim_http_begin(struct sim_core *core, struct lws *wsi, struct sim_pss *pss, const char *path)
{
    char clen[24];
    sim_http_free(pss);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
        return sim_http_request(core, wsi, pss,
                                (struct sim_http_req){
                                    .path = path, .method = "GET", .wsi = wsi, .body = "", .body_len = 0 });
    pss->post_path = sim_xstrdup(path);
    if (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 || !strcmp(clen, "0"))
        return sim_http_post_done(core, wsi, pss); /* no body will come */
    return 0;
}

int sim_http_writeable(struct lws *wsi, struct sim_pss *pss)
{
    static unsigned char buf[LWS_PRE + SIM_HTTP_CHUNK];
    if (!pss->http)
        return 0;
    size_t left = pss->http->body.len - pss->http_sent;
    size_t n = left > SIM_HTTP_CHUNK ? SIM_HTTP_CHUNK : left;
    int final = n == left;
    memcpy(buf + LWS_PRE, pss->http->body.data + pss->http_sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return 1;
    pss->http_sent += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    sim_http_free(pss);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}
