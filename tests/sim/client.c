/* client.c - candled-sim's WebSocket clients: frames, send queues and the write path.
 *
 * A frame is immutable and reference counted, shared by every client it is queued on.  Each
 * client has a bounded ring of frames (past --queue-max it is closed with 1008) written one frame
 * per WRITEABLE (a batch with --flood).  Faults are applied per connection: duplicate, reorder,
 * garbage and oversize as data frames are queued, disconnect and stall as they are sent.  This
 * file also feeds --replay lines into the queue, reassembles client messages for the exchange
 * and counts them against the message-rate limit.  Close frames are written by hand because
 * Debian's lws 4.1.6 on libuv does not send one on `return -1` (stack-notes §2.4).  It owns the
 * clients (core->clients), created on ESTABLISHED and freed on CLOSED. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core.h"

/* --- frames and client queues ------------------------------------------------------------ */

struct sim_frame *sim_frame_new(const char *payload, size_t len, enum sim_frame_kind kind)
{
    struct sim_frame *f = sim_xmalloc(sizeof *f + LWS_PRE + len + 1);
    f->refs = 1;
    f->kind = kind;
    f->len = len;
    memcpy(f->data + LWS_PRE, payload, len);
    f->data[LWS_PRE + len] = '\0';
    return f;
}

void sim_frame_unref(struct sim_frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

void sim_client_wake(struct sim_client *c)
{
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

static void sim_queue_clear(struct sim_client *c)
{
    while (c->qlen) {
        sim_frame_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    sim_frame_unref(c->held);
    c->held = NULL;
}

void sim_client_close(struct sim_client *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    sim_queue_clear(c);
    sim_client_wake(c);
}

/* Appends a frame (taking a new reference); drops a client that fell too far behind. */
static void sim_client_push(struct sim_client *c, struct sim_frame *f)
{
    struct sim_core *core = c->core;
    if (c->closing)
        return;
    if (c->qlen >= (size_t)core->sim.opts.queue_max) {
        core->sim.counters.slow_drops++;
        fprintf(stderr, "candled-sim: client %llu send queue over %d frames, closing 1008\n", (unsigned long long)c->id,
                core->sim.opts.queue_max);
        sim_client_close(c, 1008, "send queue overflow: client too slow");
        return;
    }
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 16;
        struct sim_frame **nq = sim_xmalloc(ncap * sizeof *nq);
        for (size_t i = 0; i < c->qlen; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    f->refs++;
    c->q[(c->qhead + c->qlen) % c->qcap] = f;
    c->qlen++;
    sim_client_wake(c);
}

static struct sim_frame *sim_client_pop(struct sim_client *c)
{
    if (!c->qlen)
        return NULL;
    struct sim_frame *f = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return f;
}

static void sim_push_extra(struct sim_client *c, const char *payload, size_t len)
{
    struct sim_frame *f = sim_frame_new(payload, len, SIM_FRAME_EXTRA);
    sim_client_push(c, f);
    sim_frame_unref(f);
}

/* A garbage frame of one of three kinds, in turn: the first half of the real frame (a
 * truncated message), bytes that are not JSON at all, and valid JSON of the wrong shape. */
static void sim_push_garbage(struct sim_client *c, const struct sim_frame *real, uint64_t n)
{
    static const char not_json[] = "\xef\xbb\xbfNOT JSON }{ \x01\x02";
    static const char wrong_shape[] = "{\"e\":\"kline\",\"E\":null,\"k\":[1,2,3]}";
    switch (n % 3) {
    case 0: sim_push_extra(c, (const char *)real->data + LWS_PRE, real->len / 2); break;
    case 1: sim_push_extra(c, not_json, sizeof not_json - 1); break;
    default: sim_push_extra(c, wrong_shape, sizeof wrong_shape - 1); break;
    }
}

static void sim_push_oversize(struct sim_client *c, size_t bytes)
{
    static const char head[] = "{\"e\":\"oversize\",\"pad\":\"";
    size_t min = sizeof head - 1 + 2;
    if (bytes < min)
        bytes = min;
    char *p = sim_xmalloc(bytes);
    memcpy(p, head, sizeof head - 1);
    memset(p + sizeof head - 1, 'x', bytes - min);
    memcpy(p + bytes - 2, "\"}", 2);
    sim_push_extra(c, p, bytes);
    free(p);
}

/* Queues a market-data frame, applying the queue-time faults. */
void sim_client_push_data(struct sim_client *c, struct sim_frame *f)
{
    struct sim_opts *o = &c->core->sim.opts;
    struct sim_counters *k = &c->core->sim.counters;
    uint64_t n = ++c->data_queued;
    if (o->garbage_every && n % (uint64_t)o->garbage_every == 0) {
        k->garbage++;
        sim_push_garbage(c, f, n / (uint64_t)o->garbage_every);
    }
    if (o->oversize_every && n % (uint64_t)o->oversize_every == 0) {
        k->oversize++;
        sim_push_oversize(c, (size_t)o->oversize_bytes);
    }
    if (o->reorder_every) {
        if (c->held) { /* this frame overtakes the held one */
            sim_client_push(c, f);
            sim_client_push(c, c->held);
            sim_frame_unref(c->held);
            c->held = NULL;
            k->reorders++;
            return;
        }
        if (n % (uint64_t)o->reorder_every == 0) {
            f->refs++;
            c->held = f;
            return;
        }
    }
    sim_client_push(c, f);
    if (o->duplicate_every && n % (uint64_t)o->duplicate_every == 0) {
        k->duplicates++;
        sim_client_push(c, f);
    }
}

void sim_client_send(struct sim_client *c, const char *text, size_t len)
{
    struct sim_frame *f = sim_frame_new(text, len, SIM_FRAME_CONTROL);
    sim_client_push(c, f);
    sim_frame_unref(f);
}

void sim_client_sendf(struct sim_client *c, const char *fmt, ...)
{
    struct sim_buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    sim_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    sim_client_send(c, b.data, b.len);
    sim_buf_free(&b);
}

void sim_client_set_style(struct sim_client *c, int style) { c->style = style; }

int sim_client_style(const struct sim_client *c) { return c->style; }

int sim_client_stream_count(const struct sim_client *c) { return c->nstreams; }

const char *sim_client_stream_key(const struct sim_client *c, int i)
{
    return i >= 0 && i < c->nstreams ? c->streams[i]->key : NULL;
}

void sim_client_start_replay(struct sim_client *c)
{
    if (c->core->nreplay && !c->replay_on) {
        c->replay_on = 1;
        sim_client_wake(c);
    }
}

void sim_client_count_rx(struct sim_client *c)
{
    struct sim_core *core = c->core;
    int64_t now = sim_real_ms();
    int limit = core->sim.opts.max_msg_rate ? core->sim.opts.max_msg_rate : core->sim.default_max_msg_rate;
    core->sim.counters.rx_msgs++;
    if (now - c->rx_window_ms >= 1000) {
        c->rx_window_ms = now;
        c->rx_in_window = 0;
    }
    if (++c->rx_in_window == limit + 1) {
        fprintf(stderr, "candled-sim: client %llu sent more than %d messages in a second%s\n",
                (unsigned long long)c->id, limit, core->sim.opts.enforce_rate ? ", disconnecting" : "");
        if (core->sim.opts.enforce_rate) {
            core->sim.counters.rate_drops++;
            sim_client_close(c, 1008, "too many requests");
        }
    }
}

/* --- WebSocket connections --------------------------------------------------------------- */

struct sim_client *sim_client_new(struct sim_core *core, struct lws *wsi)
{
    struct sim_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->core = core;
    c->wsi = wsi;
    c->id = ++core->next_client_id;
    c->next_ping_ms = sim_real_ms() + (int64_t)sim_ping_interval(&core->sim) * 1000;
    c->last_rx_ms = sim_real_ms();
    c->opened_ms = c->last_rx_ms;
    c->next = core->clients;
    if (core->clients)
        core->clients->prev = c;
    core->clients = c;
    core->nclients++;
    core->sim.counters.clients++;
    return c;
}

void sim_client_free(struct sim_client *c)
{
    struct sim_core *core = c->core;
    sim_log_sub(c, 'x', "-");
    for (int i = 0; i < c->nstreams; i++)
        sim_stream_drop_sub(c->streams[i], c);
    sim_queue_clear(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        core->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    core->nclients--;
    free(c->q);
    free(c->streams);
    sim_buf_free(&c->rx);
    free(c);
}

/* Writes the close frame ourselves (see the file header), then lets lws drop the socket. */
static int sim_client_write_close(struct sim_client *c)
{
    struct sim_counters *k = &c->core->sim.counters;
    if (c->abrupt) {
        k->abrupt_disconnects++;
        shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR);
        return -1;
    }
    unsigned char buf[LWS_PRE + 2 + 123];
    size_t n = strlen(c->close_reason);
    if (n > 123)
        n = 123;
    buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, c->close_reason, n);
    lws_write(c->wsi, buf + LWS_PRE, 2 + n, (enum lws_write_protocol)4 /* LWS_WRITE_CLOSE */);
    return -1;
}

/* Counts a sent data frame and arms the send-time faults. */
static void sim_client_sent_data(struct sim_client *c, int64_t now)
{
    struct sim_opts *o = &c->core->sim.opts;
    struct sim_counters *k = &c->core->sim.counters;
    c->data_sent++;
    k->data_frames++;
    if (o->disconnect_after && c->data_sent == (uint64_t)o->disconnect_after) {
        k->disconnects++;
        c->abrupt = o->disconnect_abrupt;
        sim_client_close(c, 1001, "candled-sim: disconnect-after");
    } else if (o->stall_after && !c->stalled && c->data_sent == (uint64_t)o->stall_after) {
        k->stalls++;
        c->stalled = 1;
        c->stall_until = now + o->stall_ms;
    }
}

/* Writes the next queued, replayed or flood frame: 1 written, 0 nothing to send, -1 error. */
static int sim_client_write_one(struct sim_client *c, int64_t now)
{
    struct sim_core *core = c->core;
    if (!c->qlen && c->replay_on) {
        while (c->qlen < 8 && c->replay_pos < core->nreplay && !c->closing) {
            size_t i = c->replay_pos++;
            struct sim_frame *f =
                sim_frame_new(core->replay_blob + core->replay_off[i], core->replay_len[i], SIM_FRAME_DATA);
            sim_client_push_data(c, f);
            sim_frame_unref(f);
        }
    }
    if (!c->qlen && core->sim.opts.flood && !c->closing) {
        struct sim_frame *f = sim_flood_frame(core, c);
        if (f) {
            sim_client_push_data(c, f);
            sim_frame_unref(f);
        }
    }
    if (c->closing)
        return 0;
    struct sim_frame *f = sim_client_pop(c);
    if (!f)
        return 0;
    int n = lws_write(c->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
    enum sim_frame_kind kind = f->kind;
    sim_frame_unref(f);
    if (n < 0)
        return -1;
    if (kind == SIM_FRAME_DATA)
        sim_client_sent_data(c, now);
    else
        core->sim.counters.control_frames++;
    return 1;
}

/* WRITEABLE: a close, a ping, or one frame, if lws_send_pipe_choked() says the socket takes
 * it.  With --flood, frames keep being written in this callback, up to a batch, until a write
 * is only partly taken by the kernel (lws keeps the rest: lws_partial_buffered()); one frame
 * per WRITEABLE cost a poll(), an epoll_ctl and a loop turn per frame and capped the flood at
 * ~35k frames/s on this machine. */
int sim_client_writeable(struct sim_client *c)
{
    struct sim_core *core = c->core;
    if (c->closing)
        return sim_client_write_close(c);
    int64_t now = sim_real_ms();
    if (c->stall_until) {
        if (now < c->stall_until)
            return 0; /* the housekeeping timer wakes us when the stall is over */
        c->stall_until = 0;
    }
    if (lws_send_pipe_choked(c->wsi)) {
        sim_client_wake(c);
        return 0;
    }
    if (c->ping_due) {
        /* a payload, because lws 4.1.6 reports no RECEIVE_PONG for an empty pong */
        unsigned char buf[LWS_PRE + 32];
        int n = snprintf((char *)buf + LWS_PRE, 32, "%lld", (long long)now);
        c->ping_due = 0;
        core->sim.counters.pings++;
        if (lws_write(c->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < 0)
            return -1;
        sim_client_wake(c);
        return 0;
    }
    int batch = core->sim.opts.flood ? SIM_FLOOD_BATCH : 1, rc;
    do {
        rc = sim_client_write_one(c, now);
        if (rc < 0)
            return -1;
    } while (rc > 0 && --batch > 0 && !c->closing && !c->stall_until && !c->ping_due && !lws_partial_buffered(c->wsi));
    if (c->closing)
        return sim_client_write_close(c);
    if (c->qlen || core->sim.opts.flood || (c->replay_on && c->replay_pos < core->nreplay))
        sim_client_wake(c);
    return 0;
}

void sim_client_receive(struct sim_client *c, const void *in, size_t len)
{
    struct sim_core *core = c->core;
    if (c->closing)
        return;
    if (c->rx.len + len > SIM_RX_MAX) {
        sim_buf_free(&c->rx);
        sim_client_close(c, 1009, "message too big");
        return;
    }
    sim_buf_add(&c->rx, in, len);
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
        return;
    c->last_rx_ms = sim_real_ms();
    core->sim.ex->ws_message(&core->sim, c, c->rx.data, c->rx.len);
    c->rx.len = 0;
}

/* Copies the request path and the raw query string of a WebSocket upgrade. */
void sim_ws_request(struct lws *wsi, char *path, int plen, char *query, int qlen)
{
    if (lws_hdr_copy(wsi, path, plen, WSI_TOKEN_GET_URI) < 0)
        path[0] = '\0';
    static char frag[SIM_MAX_HEADER];
    size_t o = 0;
    query[0] = '\0';
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (o + (size_t)n + 2 >= (size_t)qlen)
            break;
        if (o)
            query[o++] = '&';
        memcpy(query + o, frag, (size_t)n);
        o += (size_t)n;
        query[o] = '\0';
    }
}
