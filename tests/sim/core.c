/* core.c - candled-sim's shared utilities: allocation, byte buffers, the clock, the symbol
 * universe, the served intervals and the exchanges' market tables.  Everything here is called by
 * the other core modules and by the exchanges (sim.h); it owns only the symbol list in opts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "core.h"

void *sim_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "candled-sim: out of memory\n");
        abort();
    }
    return p;
}

void *sim_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "candled-sim: out of memory\n");
        abort();
    }
    return p;
}

char *sim_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sim_xmalloc(n), s, n);
}

/* --- buffers, clock, symbols ---------------------------------------------------------------- */

void sim_buf_reserve(struct sim_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = sim_xrealloc(b->data, cap);
    b->cap = cap;
}

void sim_buf_add(struct sim_buf *b, const void *p, size_t n)
{
    sim_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sim_buf_str(struct sim_buf *b, const char *s) { sim_buf_add(b, s, strlen(s)); }

void sim_buf_vprintf(struct sim_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n >= 0) {
        sim_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void sim_buf_free(struct sim_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int64_t sim_now_ms(void) { return (int64_t)cdl_clock_now_ms(); }

int64_t sim_real_ms(void) { return (int64_t)(cdl_clock_mono_us() / 1000); }

void sim_set_format(struct sim *sim, const struct sim_gen_format *fmt) { sim->gen.fmt = *fmt; }

/* --ping-interval, or the exchange's own rule. */
int sim_ping_interval(const struct sim *sim)
{
    return sim->opts.ping_interval >= 0 ? sim->opts.ping_interval : sim->default_ping_interval;
}

static void sim_add_symbol(struct sim *sim, const char *name)
{
    sim->opts.symbols = sim_xrealloc(sim->opts.symbols, (size_t)(sim->opts.nsymbols + 1) * sizeof(char *));
    sim->opts.symbols[sim->opts.nsymbols++] = sim_xstrdup(name);
}

void sim_add_symbol_list(struct sim *sim, const char *list)
{
    char *copy = sim_xstrdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok)
            sim_add_symbol(sim, tok);
    free(copy);
}

int sim_symbols_default(struct sim *sim, const char *defaults, const char *generated_fmt)
{
    char name[64];
    if (sim->opts.nsymbols > 0)
        return 0;
    if (sim->opts.symbol_count > 0) {
        for (int i = 1; i <= sim->opts.symbol_count; i++) {
            snprintf(name, sizeof name, generated_fmt, i);
            sim_add_symbol(sim, name);
        }
        return 0;
    }
    sim_add_symbol_list(sim, defaults);
    return sim->opts.nsymbols > 0 ? 0 : -1;
}

int sim_symbol_known(struct sim *sim, const char *symbol)
{
    for (int i = 0; i < sim->opts.nsymbols; i++)
        if (!strcmp(sim->opts.symbols[i], symbol))
            return 1;
    return 0;
}

int sim_interval_served(struct sim *sim, const struct sim_interval *iv)
{
    for (int i = 0; i < sim_interval_count(); i++)
        if (!strcmp(sim_interval_at(i)->name, iv->name))
            return (sim_core_of(sim)->served_mask >> i) & 1;
    return 0;
}

const void *sim_market_init(struct sim *sim, const void *table, size_t n, size_t size, const char *choices)
{
    const char *want = sim->opts.market ? sim->opts.market : ((const struct sim_market *)table)->name;
    for (size_t i = 0; i < n; i++) {
        const struct sim_market *m = (const void *)((const char *)table + i * size);
        int hit = !strcmp(want, m->name);
        for (int a = 0; !hit && a < 3 && m->aliases[a]; a++)
            hit = !strcmp(want, m->aliases[a]);
        if (hit) {
            sim->opts.market = m->name;
            sim->state = (void *)m;
            sim_set_format(sim, &m->fmt);
            return sim_symbols_default(sim, m->default_symbols, m->generated_fmt) < 0 ? NULL : m;
        }
    }
    fprintf(stderr, "candled-sim: %s has no market '%s' (%s)\n", sim->opts.exchange, want, choices);
    return NULL;
}
