/* stream.c - candled-sim's streams, subscriptions and the candle generator's timing.
 *
 * One stream per distinct stream key any client subscribed to (at most SIM_MAX_STREAMS_TOTAL),
 * each with its current period, next update index and a cached candle.  The generator timer
 * emits what is due (--rate updates, each period's close) and fans the rendered frames out to
 * the subscribers, one render per style; the skip-close, drop-on-skip and revise faults act here.
 * With --flood the frames are instead made on demand for a client's WRITEABLE (sim_flood_frame).
 * It owns core->streams and each stream's subscriber list; the clients own their own lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "core.h"

const char *sim_stream_key(const struct sim_stream *s) { return s->key; }

const char *sim_stream_symbol(const struct sim_stream *s) { return s->symbol; }

const struct sim_interval *sim_stream_interval(const struct sim_stream *s) { return &s->iv; }

/* --- streams ------------------------------------------------------------------------------ */

static struct sim_stream *sim_stream_find(struct sim_core *core, const char *key)
{
    for (int i = 0; i < core->nstreams; i++)
        if (!strcmp(core->streams[i]->key, key))
            return core->streams[i];
    return NULL;
}

static struct sim_stream *sim_stream_get(struct sim_core *core, const char *key, const char *symbol,
                                         const struct sim_interval *iv)
{
    struct sim_stream *s = sim_stream_find(core, key);
    if (s || core->nstreams >= SIM_MAX_STREAMS_TOTAL)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->key = sim_xstrdup(key);
    s->symbol = sim_xstrdup(symbol ? symbol : "");
    if (iv)
        s->iv = *iv;
    s->live = iv && symbol && sim_symbol_known(&core->sim, symbol) && sim_interval_served(&core->sim, iv);
    s->sym_key = sim_gen_symbol_key(&core->sim.gen, s->symbol);
    if (core->nstreams == core->capstreams) {
        core->capstreams = core->capstreams ? core->capstreams * 2 : 64;
        core->streams = sim_xrealloc(core->streams, (size_t)core->capstreams * sizeof *core->streams);
    }
    core->streams[core->nstreams++] = s;
    if (core->sim.opts.verbose || !s->live)
        fprintf(stderr, "candled-sim: stream %s%s\n", key, s->live ? "" : " (not served: acknowledged but silent)");
    return s;
}

void sim_stream_free(struct sim_stream *s)
{
    for (int i = 0; i < SIM_STYLES; i++)
        sim_buf_free(&s->tpl[i].text);
    free(s->key);
    free(s->symbol);
    free(s->subs);
    free(s);
}

/* --log-subs: one line per change of who holds which stream. */
void sim_log_sub(const struct sim_client *c, char op, const char *key)
{
    if (c->core->sim.opts.log_subs)
        fprintf(stderr, "SUBS %lld %llu %c %s\n", (long long)sim_now_ms(), (unsigned long long)c->id, op, key);
}

static void sim_gen_timer_arm(struct sim_core *core);

int sim_client_subscribe(struct sim_client *c, const char *key, const char *symbol, const struct sim_interval *iv)
{
    struct sim_core *core = c->core;
    int max = core->sim.opts.max_streams ? core->sim.opts.max_streams : core->sim.default_max_streams;
    for (int i = 0; i < c->nstreams; i++)
        if (!strcmp(c->streams[i]->key, key))
            return 1;
    if (max > 0 && c->nstreams >= max)
        return -1;
    struct sim_stream *s = sim_stream_get(core, key, symbol, iv);
    if (!s)
        return -1;
    if (c->nstreams == c->capstreams) {
        c->capstreams = c->capstreams ? c->capstreams * 2 : 8;
        c->streams = sim_xrealloc(c->streams, (size_t)c->capstreams * sizeof *c->streams);
    }
    c->streams[c->nstreams++] = s;
    if (s->nsubs == s->capsubs) {
        s->capsubs = s->capsubs ? s->capsubs * 2 : 4;
        s->subs = sim_xrealloc(s->subs, (size_t)s->capsubs * sizeof *s->subs);
    }
    s->subs[s->nsubs++] = c;
    core->sim.counters.subscribes++;
    sim_log_sub(c, '+', key);
    if (core->sim.opts.subscribe_delay_ms) /* a slow exchange: the reply and the data wait */
        c->stall_until = sim_real_ms() + core->sim.opts.subscribe_delay_ms;
    sim_gen_timer_arm(core);
    if (core->sim.opts.flood)
        sim_client_wake(c);
    return 0;
}

void sim_stream_drop_sub(struct sim_stream *s, struct sim_client *c)
{
    for (int i = 0; i < s->nsubs; i++)
        if (s->subs[i] == c) {
            memmove(&s->subs[i], &s->subs[i + 1], (size_t)(s->nsubs - i - 1) * sizeof *s->subs);
            s->nsubs--;
            break;
        }
    /* The market goes on without its last subscriber to the end of the next period, so that a
     * reconnect, however late on a fast test clock, finds every close in --truth (sent: false)
     * and the stream where it was; then it idles and restarts from the wall clock when someone
     * subscribes again.  With --max-conn-age it always goes on (sim_stream_runs). */
    if (s->nsubs == 0 && s->open)
        s->linger_until = sim_interval_next(&s->iv, sim_interval_next(&s->iv, s->open));
}

int sim_client_unsubscribe(struct sim_client *c, const char *key)
{
    for (int i = 0; i < c->nstreams; i++)
        if (!strcmp(c->streams[i]->key, key)) {
            sim_stream_drop_sub(c->streams[i], c);
            c->core->sim.counters.unsubscribes++;
            sim_log_sub(c, '-', key);
            memmove(&c->streams[i], &c->streams[i + 1], (size_t)(c->nstreams - i - 1) * sizeof *c->streams);
            c->nstreams--;
            return 0;
        }
    return 1;
}

/* Renders candle k of stream s and queues it on every subscriber. */
static void sim_push_event(struct sim_core *core, struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                           struct sim_buf *b)
{
    struct sim_frame *frames[SIM_STYLES] = { 0 };
    struct sim *sim = &core->sim;
    for (int i = 0; i < s->nsubs; i++) {
        struct sim_client *c = s->subs[i];
        int st = c->style >= 0 && c->style < SIM_STYLES ? c->style : 0;
        if (!frames[st]) {
            b->len = 0;
            sim->ex->render(sim, s, k, event_ms, st, b);
            frames[st] = sim_frame_new(b->data, b->len, SIM_FRAME_DATA);
        }
        sim_client_push_data(c, frames[st]);
    }
    for (int i = 0; i < SIM_STYLES; i++)
        sim_frame_unref(frames[i]);
}

/* --revise-every: one period after sending a close, the exchange "corrects" it (other
 * volumes).  Not recorded; in the truth as a revision: candled keeps whichever of the two it got
 * first (the original, unless a disconnect lost it).  A period later, so that no reorder fault
 * can put the correction first. */
static void sim_emit_revision(struct sim_core *core, struct sim_stream *s)
{
    struct sim_buf b = { 0 };
    s->revise.v += 1;
    s->revise.q += 1;
    core->sim.counters.revisions++;
    if (core->truth)
        sim_truth_write(core, s, &s->revise, 1, 1);
    sim_push_event(core, s, &s->revise, s->revise_end, &b);
    sim_buf_free(&b);
    s->revise_end = 0;
}

/* Renders one event and queues it on every subscriber; records style 0. */
static void sim_emit(struct sim_core *core, struct sim_stream *s, int64_t event_ms)
{
    struct sim_buf b = { 0 };
    if (core->truth)
        sim_truth_write(core, s, &s->cur, s->nsubs > 0, 0);
    if (core->record && s->nsubs > 0) /* what was sent */
        sim_record_write(core, s, &s->cur, event_ms, &b);
    sim_push_event(core, s, &s->cur, event_ms, &b);
    sim_buf_free(&b);
}

/* --drop-on-skip: the connections that would have carried a skipped close are closed (1001)
 * instead, so the close is lost with them, as a connection drop loses whatever was in flight. */
static void sim_stream_drop_clients(struct sim_core *core, struct sim_stream *s)
{
    for (int i = 0; i < s->nsubs; i++)
        if (!s->subs[i]->closing) {
            core->sim.counters.disconnects++;
            sim_client_close(s->subs[i], 1001, "candled-sim: drop-on-skip");
        }
}

/* Wall time of update k of the period opening at `open`. */
static int64_t sim_update_time(const struct sim_core *core, int64_t open, int64_t k)
{
    return open + (int64_t)((double)k * 1000.0 / core->sim.opts.rate);
}

/* Emits what is due for one stream at `now`; returns the wall time of its next event. */
static int64_t sim_stream_run(struct sim_core *core, struct sim_stream *s, int64_t now)
{
    struct sim *sim = &core->sim;
    int updates = sim->opts.rate > 0 && !sim->opts.flood;
    if (!s->open) {
        s->open = sim_interval_floor(&s->iv, now);
        sim_gen_start(&sim->gen, s->sym_key, &s->iv, s->open, &s->cur);
        s->next_k = 0;
        if (updates) /* first update at the next grid point of the period */
            while (sim_update_time(core, s->open, s->next_k) < now)
                s->next_k++;
    }
    for (;;) {
        int64_t end = sim_interval_next(&s->iv, s->open);
        int64_t due = updates ? sim_update_time(core, s->open, s->next_k) : end;
        if (due >= end)
            due = end;
        if (due > now)
            return due;
        if (due == end) { /* the period is over: its final frame, then the next period */
            sim_gen_advance(&sim->gen, s->sym_key, &s->cur, 1 << 30);
            int64_t period = sim_interval_index(&s->iv, s->open);
            if (sim->opts.skip_close_every && period % sim->opts.skip_close_every == 0) {
                sim->counters.skipped_closes++;
                if (core->truth)
                    sim_truth_write(core, s, &s->cur, 0, 0);
                if (sim->opts.drop_on_skip)
                    sim_stream_drop_clients(core, s);
            } else {
                if (s->revise_end)
                    sim_emit_revision(core, s);
                sim_emit(core, s, end);
                if (sim->opts.revise_every && period % sim->opts.revise_every == 0) {
                    s->revise = s->cur;
                    s->revise_end = end;
                }
            }
            s->open = end;
            sim_gen_start(&sim->gen, s->sym_key, &s->iv, s->open, &s->cur);
            s->next_k = 0;
            if (sim_interval_next(&s->iv, end) <= now) /* far behind: jump to the present */
                s->open = 0;
            if (!s->open)
                return now;
            continue;
        }
        /* only the latest of several due updates is sent after a hiccup */
        while (updates && sim_update_time(core, s->open, s->next_k + 1) <= now &&
               sim_update_time(core, s->open, s->next_k + 1) < end)
            s->next_k++;
        int64_t t = sim_update_time(core, s->open, s->next_k);
        sim_gen_advance(&sim->gen, s->sym_key, &s->cur, sim_gen_tick_at(&s->cur, t));
        sim_emit(core, s, t);
        s->next_k++;
    }
}

/* Whether stream s is generated now: while subscribed, and a while after (linger_until).  With
 * --max-conn-age, a stream goes on while its only subscriber, cut at the age, reconnects (an
 * exchange's market does not stop for a connection), so --truth holds every period's close, and
 * the REST backfill has to bring it. */
static int sim_stream_runs(const struct sim_core *core, const struct sim_stream *s, int64_t now)
{
    return s->live && (s->nsubs || core->sim.opts.max_conn_age > 0 || now < s->linger_until);
}

static void sim_gen_timer_cb(uv_timer_t *t)
{
    struct sim_core *core = t->data;
    int64_t now = sim_now_ms(), next = INT64_MAX;
    if (core->draining || core->nreplay)
        return;
    for (int i = 0; i < core->nstreams; i++) {
        struct sim_stream *s = core->streams[i];
        if (!sim_stream_runs(core, s, now)) {
            s->open = 0; /* idle (a linger that ran out) */
            continue;
        }
        int64_t due = sim_stream_run(core, s, now);
        if (due < next)
            next = due;
    }
    if (next != INT64_MAX) {
        int64_t wait = next - sim_now_ms(); /* wall ms, armed as real ms */
        uv_timer_start(&core->gen_timer, sim_gen_timer_cb, wait > 0 ? cdl_clock_timer_ms((uint64_t)wait) : 0, 0);
    }
}

/* Runs the generator on the next loop turn (after a subscription changed). */
static void sim_gen_timer_arm(struct sim_core *core)
{
    if (!core->draining && !core->nreplay)
        uv_timer_start(&core->gen_timer, sim_gen_timer_cb, 0, 0);
}

/* Writes the 13 digits of ms at p. */
static void sim_put_ms(unsigned char *p, int64_t ms)
{
    for (int i = 12; i >= 0; i--, ms /= 10)
        p[i] = (unsigned char)('0' + ms % 10);
}

/* --flood: the next frame for this client, its event time = now.  The candle advances one tick
 * per frame up to the last open tick of the period; the text is rendered once per tick and
 * style with a sentinel event time that is patched, so a flood frame costs a copy. */
struct sim_frame *sim_flood_frame(struct sim_core *core, struct sim_client *c)
{
    struct sim *sim = &core->sim;
    int st = c->style >= 0 && c->style < SIM_STYLES ? c->style : 0;
    for (int tries = 0; tries < c->nstreams; tries++) {
        struct sim_stream *s = c->streams[c->flood_rr++ % (size_t)c->nstreams];
        if (!s->live)
            continue;
        int64_t now = sim_now_ms();
        int64_t open = sim_interval_floor(&s->iv, now);
        if (s->flood.open_time != open || s->flood.close_time == 0)
            sim_gen_start(&sim->gen, s->sym_key, &s->iv, open, &s->flood);
        int ticks = sim_gen_ticks(s->flood.close_time + 1 - s->flood.open_time);
        if (s->flood.tick + 1 < ticks)
            sim_gen_advance(&sim->gen, s->sym_key, &s->flood, s->flood.tick + 1);
        struct sim_flood_tpl *t = &s->tpl[st];
        if (!t->text.data || t->tick != s->flood.tick || t->open != open) {
            t->text.len = 0;
            struct sim_candle k = s->flood;
            k.trades = SIM_SENTINEL_TRADES;
            sim->ex->render(sim, s, &k, SIM_SENTINEL_MS, st, &t->text);
            t->tick = s->flood.tick;
            t->open = open;
            char *hit = strstr(t->text.data, "9999999999999");
            t->e_off = hit ? hit - t->text.data : -1;
            hit = strstr(t->text.data, "888888888");
            t->n_off = hit ? hit - t->text.data : -1;
        }
        struct sim_frame *f;
        if (t->e_off >= 0 && now >= 1000000000000LL && now < SIM_SENTINEL_MS) {
            f = sim_frame_new(t->text.data, t->text.len, SIM_FRAME_DATA);
            sim_put_ms(f->data + LWS_PRE + t->e_off, now);
            if (t->n_off >= 0) {
                uint64_t n = 100000000u + s->flood_seq++ % 800000000u;
                for (int i = 8; i >= 0; i--, n /= 10)
                    f->data[LWS_PRE + t->n_off + i] = (unsigned char)('0' + n % 10);
            }
        } else {
            struct sim_buf b = { 0 };
            sim->ex->render(sim, s, &s->flood, now, st, &b);
            f = sim_frame_new(b.data, b.len, SIM_FRAME_DATA);
            sim_buf_free(&b);
        }
        core->flood_in_window++;
        return f;
    }
    return NULL;
}
