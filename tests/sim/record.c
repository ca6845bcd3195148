/* record.c - candled-sim's files: --truth, --record and --replay.
 *
 * --truth gets one JSON line per generated candle state (what candled must print, and whether
 * the frame was sent), --record the bare payload (style 0) of every generated event, one line
 * each; both are line buffered.  --replay is loaded whole (up to 256 MiB) and split into lines
 * that client.c sends verbatim.  It owns core->record, core->truth and the replay lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int sim_record_open(struct sim_core *core)
{
    struct sim_opts *o = &core->sim.opts;
    if (o->record) {
        core->record = fopen(o->record, "w");
        if (!core->record) {
            fprintf(stderr, "candled-sim: cannot open --record %s: %s\n", o->record, strerror(errno));
            return 1;
        }
        setvbuf(core->record, NULL, _IOLBF, 0);
    }
    if (o->truth) {
        if (!core->sim.ex->truth) {
            fprintf(stderr, "candled-sim: --truth is not supported for %s\n", core->sim.ex->name);
            return 2;
        }
        core->truth = fopen(o->truth, "w");
        if (!core->truth) {
            fprintf(stderr, "candled-sim: cannot open --truth %s: %s\n", o->truth, strerror(errno));
            return 1;
        }
        setvbuf(core->truth, NULL, _IOLBF, 0);
    }
    return 0;
}

void sim_record_close(struct sim_core *core)
{
    free(core->replay_blob);
    free(core->replay_off);
    free(core->replay_len);
    if (core->record)
        fclose(core->record);
    if (core->truth)
        fclose(core->truth);
}

/* --truth: one JSON line with what candled must print for this candle state, and whether its
 * frame was sent (a skipped close is not: only a backfill can deliver it). */
void sim_truth_write(struct sim_core *core, const struct sim_stream *s, const struct sim_candle *k, int sent,
                     int revision)
{
    struct sim *sim = &core->sim;
    struct sim_truth t;
    memset(&t, 0, sizeof t);
    t.close_time = t.trades = -1;
    sim->ex->truth(sim, s, k, &t);
    fprintf(core->truth,
            "{\"symbol\":\"%s\",\"interval\":\"%s\",\"timestamp\":%lld,\"open\":\"%s\","
            "\"high\":\"%s\",\"low\":\"%s\",\"close\":\"%s\",\"volume\":\"%s\","
            "\"is_closed\":%s,\"flag\":%s,\"sent\":%s,\"revision\":%s",
            t.symbol, s->iv.name, (long long)k->open_time, t.open, t.high, t.low, t.close, t.volume,
            k->closed ? "true" : "false", t.flag ? "true" : "false", sent ? "true" : "false",
            revision ? "true" : "false");
    if (t.close_time >= 0)
        fprintf(core->truth, ",\"close_time\":%lld", (long long)t.close_time);
    if (t.quote_volume[0])
        fprintf(core->truth, ",\"quote_volume\":\"%s\"", t.quote_volume);
    if (t.trades >= 0)
        fprintf(core->truth, ",\"trades\":%lld", (long long)t.trades);
    fputs("}\n", core->truth);
}

void sim_truth_set(struct sim_truth *t, const struct sim_stream *s, const char *open, const char *high, const char *low,
                   const char *close, const char *volume, const char *quote_volume)
{
    snprintf(t->symbol, sizeof t->symbol, "%s", sim_stream_symbol(s));
    snprintf(t->open, sizeof t->open, "%s", open);
    snprintf(t->high, sizeof t->high, "%s", high);
    snprintf(t->low, sizeof t->low, "%s", low);
    snprintf(t->close, sizeof t->close, "%s", close);
    snprintf(t->volume, sizeof t->volume, "%s", volume);
    if (quote_volume)
        snprintf(t->quote_volume, sizeof t->quote_volume, "%s", quote_volume);
}

void sim_record_write(struct sim_core *core, const struct sim_stream *s, const struct sim_candle *k, int64_t event_ms,
                      struct sim_buf *b)
{
    struct sim *sim = &core->sim;
    b->len = 0;
    sim->ex->render(sim, s, k, event_ms, 0, b);
    fwrite(b->data, 1, b->len, core->record);
    fputc('\n', core->record);
    sim->counters.recorded++;
}

/* Loads the --replay file: one text frame per non-empty line, '\r' stripped. */
int sim_load_replay(struct sim_core *core, const char *file)
{
    FILE *f = fopen(file, "rb");
    struct sim_buf b = { 0 };
    char chunk[65536];
    size_t n;
    if (!f) {
        fprintf(stderr, "candled-sim: cannot open --replay %s: %s\n", file, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > SIM_REPLAY_MAX) {
            fprintf(stderr, "candled-sim: --replay file larger than %u bytes\n", SIM_REPLAY_MAX);
            fclose(f);
            sim_buf_free(&b);
            return -1;
        }
        sim_buf_add(&b, chunk, n);
    }
    fclose(f);
    size_t cap = 0;
    for (size_t pos = 0; pos < b.len;) {
        char *nl = memchr(b.data + pos, '\n', b.len - pos);
        size_t end = nl ? (size_t)(nl - b.data) : b.len, len = end - pos;
        if (len && b.data[pos + len - 1] == '\r')
            len--;
        if (len) {
            if (core->nreplay == cap) {
                cap = cap ? cap * 2 : 64;
                core->replay_off = sim_xrealloc(core->replay_off, cap * sizeof(size_t));
                core->replay_len = sim_xrealloc(core->replay_len, cap * sizeof(size_t));
            }
            core->replay_off[core->nreplay] = pos;
            core->replay_len[core->nreplay++] = len;
        }
        pos = end + 1;
    }
    core->replay_blob = b.data ? b.data : sim_xstrdup("");
    fprintf(stderr, "candled-sim: replaying %zu frame(s) from %s\n", core->nreplay, file);
    return 0;
}
