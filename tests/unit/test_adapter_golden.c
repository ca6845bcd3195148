/* test_adapter_golden.c - every fixture of tests/fixtures/<dir>/ through the real C Lua host and
 * the real adapter, compared with its golden file: the boundary end to end, down to the quote JSON
 * text of interfaces.md, for every exchange, with no C code per exchange.
 *
 * Each directory has a MANIFEST (one case a line, docs/adapters.md "Golden files"): how each
 * fixture file is parsed (`ws FILE market=M`, `rest FILE market=M symbol=S interval=I start=MS
 * end=MS limit=N`), which files are no input (`ignore FILE reason`), and the hooks to call
 * without a file (`markets`, `symbol`, `market_of`, `subscribe`).  What the host makes of FILE is
 * compared with FILE.golden, what the hooks give with MANIFEST.golden.  A fixture file no case
 * names, a case naming no file, and a golden no case writes are failures too.
 *
 * A normal run never writes: a missing or different golden fails with a diff.
 * `CDL_GOLDEN_UPDATE=1 test_adapter_golden [DIR...]` (re)writes the goldens of the directories
 * named (all without one); review them (`git diff tests/fixtures`) before committing. */
#include "candle.h"
#include "err.h"
#include "interval.h"
#include "lua_host.h"
#include "manifest.h"
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FILES 128

static struct cdl_lua_host *host;
static int update_mode;
static struct cdl_parse_result res;

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static struct cdl_adapter *adapter_of(const struct manifest_case *c, const char *dir)
{
    struct cdl_adapter *a;
    char err[512];
    if (cdl_lua_host_load(host, c->adapter, &a, err, sizeof err)) {
        fprintf(stderr, "  %s/MANIFEST:%d: %s\n", dir, c->line, err);
        return NULL;
    }
    return a;
}

/* The case's market; NULL (printed) if the manifest names none the adapter has. */
static const struct cdl_market *market_of_case(struct cdl_adapter *a, const struct manifest_case *c, const char *dir)
{
    const struct cdl_market *m = c->market[0] ? cdl_adapter_market(a, c->market) : NULL;
    if (!m)
        fprintf(stderr, "  %s/MANIFEST:%d: %s needs market= naming a market of %s\n", dir, c->line, c->kind,
                c->adapter);
    return m;
}

static const char *event_name(enum cdl_parse_event e)
{
    static const char *const names[] = { "none", "ack", "pong", "error", "reconnect" };
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "?";
}

/* Totals of one fixture file: the golden's last line. */
struct tally {
    int frames, candles, closed, open, unknown, events, rejected, bad, hook_errors;
};

/* One frame's or page's result: a line "<label>: ..." naming what is not zero or none, then a line
 * per candle with its raw symbol, interval and closed flag and its quote JSON. */
static void put_result(FILE *out, const char *label, int rc, struct cdl_adapter *a, const struct cdl_market *m,
                       const struct manifest_case *c, struct tally *t)
{
    t->frames++;
    fprintf(out, "%s:", label);
    if (rc) {
        fprintf(out, " hook_error=%s\n", cdl_strerror(rc));
        t->hook_errors++;
        return;
    }
    if (res.rejected)
        fprintf(out, " rejected=%s", res.reason);
    if (res.event != CDL_EV_NONE)
        fprintf(out, " event=%s", event_name(res.event));
    if (res.message[0])
        fprintf(out, " message=\"%s\"", res.message);
    if (res.n)
        fprintf(out, " candles=%d", res.n);
    if (res.n_bad)
        fprintf(out, " bad=%d bad_reason=%s", res.n_bad, res.bad_reason);
    if (!res.rejected && res.event == CDL_EV_NONE && !res.n && !res.n_bad)
        fprintf(out, " empty");
    fprintf(out, "\n");
    t->rejected += res.rejected;
    t->events += res.event != CDL_EV_NONE;
    t->bad += res.n_bad;
    for (int i = 0; i < res.n; i++) {
        const struct cdl_parsed_candle *p = &res.items[i];
        const char *canonical = p->interval[0] ? cdl_adapter_interval_canonical(a, m, p->interval) : NULL;
        struct cdl_quote_meta meta = { .exchange = cdl_adapter_name(a),
                                       .contract_type = m->name,
                                       .symbol = p->symbol[0] ? p->symbol : c->symbol,
                                       .interval = canonical        ? canonical
                                                   : c->interval[0] ? c->interval
                                                                    : p->interval };
        char quote[1024];
        if (cdl_quote_json(quote, sizeof quote, &meta, &p->c) < 0)
            snprintf(quote, sizeof quote, "(quote does not fit %zu bytes)", sizeof quote);
        const char *closed = p->c.closed == 1 ? "true" : p->c.closed == 0 ? "false" : "unknown";
        fprintf(out, "  candle symbol=\"%s\" interval=\"%s\" closed=%s %s\n", p->symbol, p->interval, closed, quote);
        t->candles++;
        t->closed += p->c.closed == 1;
        t->open += p->c.closed == 0;
        t->unknown += p->c.closed == -1;
    }
}

static void put_tally(FILE *out, const struct tally *t)
{
    fprintf(out,
            "summary frames=%d candles=%d closed=%d open=%d unknown=%d events=%d rejected=%d bad=%d "
            "hook_errors=%d\n",
            t->frames, t->candles, t->closed, t->open, t->unknown, t->events, t->rejected, t->bad, t->hook_errors);
}

/* A WebSocket fixture: .jsonl one frame a line (empty lines skipped), else the whole file. */
static void run_ws(struct cdl_adapter *a, const struct cdl_market *m, const struct manifest_case *c, char *body,
                   size_t len, FILE *out)
{
    struct tally t = { 0 };
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    if (s < 0) {
        fprintf(out, "session: %s\n", cdl_strerror(s));
        return;
    }
    if (!has_suffix(c->file, ".jsonl")) {
        put_result(out, "frame", cdl_adapter_parse(a, s, body, len, &res), a, m, c, &t);
    } else {
        int line_no = 0;
        for (char *line = body, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            line_no++;
            if (!*line)
                continue;
            char label[32];
            snprintf(label, sizeof label, "line %d", line_no);
            put_result(out, label, cdl_adapter_parse(a, s, line, strlen(line), &res), a, m, c, &t);
        }
    }
    cdl_adapter_session_free(a, s);
    put_tally(out, &t);
}

/* A REST page: the request the adapter builds for the case's query, then the page's rows. */
static void run_rest(struct cdl_adapter *a, const struct cdl_market *m, const struct manifest_case *c, const char *body,
                     size_t len, FILE *out)
{
    const char *iv = cdl_adapter_interval(a, m, c->interval);
    if (!iv) {
        fprintf(out, "interval %s: not in market %s\n", c->interval, m->name);
        return;
    }
    struct cdl_rest_query q = { c->symbol, iv, c->start, c->end, c->limit, "http://127.0.0.1:1" };
    struct cdl_rest_req req;
    int rc = cdl_adapter_rest_request(a, m, &q, &req);
    if (rc) {
        fprintf(out, "request: hook_error=%s\n", cdl_strerror(rc));
    } else {
        fprintf(out, "request %s %s\n", req.method, req.url);
        for (int i = 0; req.headers[i]; i++)
            fprintf(out, "request header %s\n", req.headers[i]);
        if (req.body)
            fprintf(out, "request body %s\n", req.body);
        cdl_rest_req_clear(&req);
    }
    struct tally t = { 0 };
    put_result(out, "page", cdl_adapter_rest_parse(a, m, &q, body, len, &res), a, m, c, &t);
    put_tally(out, &t);
}

/* The REST weight of a request by its limit, as ranges: "1..99=1 100..499=2 500..=5". */
static void put_weights(FILE *out, const struct cdl_market *m)
{
    int lo = 1;
    fprintf(out, "  rest_weight");
    for (int i = 0; i < m->n_rest_weights; i++) {
        int hi = m->rest_weights[i].max_limit;
        double wl = cdl_market_rest_weight(m, lo), wh = cdl_market_rest_weight(m, hi);
        if (wl == wh)
            fprintf(out, " %d..%d=%.10g", lo, hi, wh);
        else
            fprintf(out, " %d..%d=%.10g/%.10g", lo, hi, wl, wh);
        lo = hi + 1;
    }
    fprintf(out, " %d..=%.10g\n", lo, cdl_market_rest_weight(m, lo));
}

/* `markets`: the adapter's hooks and every market as the C host read it. */
static void run_markets(struct cdl_adapter *a, FILE *out)
{
    fprintf(out, "adapter %s: markets=%d rest=%s market_of=%s\n", cdl_adapter_name(a), cdl_adapter_n_markets(a),
            cdl_adapter_has_rest(a) ? "yes" : "no", cdl_adapter_has_market_of(a) ? "yes" : "no");
    for (int i = 0; i < cdl_adapter_n_markets(a); i++) {
        const struct cdl_market *m = cdl_adapter_market_at(a, i);
        fprintf(out, "market %s index=%d aliases=", m->name, m->index);
        for (int k = 0; k < m->n_aliases; k++)
            fprintf(out, "%s%s", k ? "," : "", m->aliases[k]);
        fprintf(out, "%s\n  ws_url=%s rest_url=%s\n", m->n_aliases ? "" : "-", m->ws_url,
                m->rest_url[0] ? m->rest_url : "-");
        fprintf(out,
                "  max_streams=%d max_sends_per_sec=%.10g ping_interval=%.10g idle_timeout=%.10g "
                "max_connection_age=%.10g\n",
                m->max_streams, m->max_sends_per_sec, m->ping_interval, m->idle_timeout, m->max_connection_age);
        fprintf(out,
                "  rest_max_rows=%d rest_weight_per_minute=%.10g rest_weight_burst=%.10g "
                "confirm_inferred=%d\n",
                m->rest_max_rows, m->rest_weight_per_minute, m->rest_weight_burst, m->confirm_inferred);
        put_weights(out, m);
        fprintf(out, "  intervals");
        for (int k = 0; k < cdl_interval_count(); k++) {
            const char *name = cdl_interval_at(k)->name, *ex = cdl_adapter_interval(a, m, name);
            if (ex)
                fprintf(out, " %s=%s", name, ex);
        }
        fprintf(out, "\n");
    }
}

/* Appends one frame, with the current time in it (a whole run of digits between the seconds or
 * milliseconds read before and after the hook call) written as <now_s> or <now_ms>. */
struct emit_ctx {
    FILE *out;
    const char *what;
    long long t0, t1;
};

static void emit_frame(void *user, const char *frame, size_t len)
{
    struct emit_ctx *e = user;
    fprintf(e->out, "  %s ", e->what);
    for (size_t i = 0; i < len;) {
        size_t k = i;
        while (k < len && frame[k] >= '0' && frame[k] <= '9')
            k++;
        if (k == i) {
            fputc(frame[i++], e->out);
            continue;
        }
        long long v = k - i < 19 ? atoll(frame + i) : -1;
        if (v >= e->t0 && v <= e->t1)
            fprintf(e->out, "<now_s>");
        else if (v >= e->t0 * 1000 && v < (e->t1 + 1) * 1000)
            fprintf(e->out, "<now_ms>");
        else
            fprintf(e->out, "%.*s", (int)(k - i), frame + i);
        i = k;
    }
    fprintf(e->out, "\n");
}

/* `subscribe market=M interval=I symbols=A,B`: symbol() of each, then on a new session the URL,
 * the subscribe, unsubscribe and ping frames, in that order. */
static void run_subscribe(struct cdl_adapter *a, const struct cdl_market *m, const struct manifest_case *c, FILE *out)
{
    char syms[8][CDL_SYMBOL_MAX], list[sizeof c->symbols];
    struct cdl_stream_ref streams[8];
    const char *iv = cdl_adapter_interval(a, m, c->interval);
    int n = 0;
    fprintf(out, "subscribe market=%s interval=%s symbols=%s\n", c->market, c->interval, c->symbols);
    if (!iv) {
        fprintf(out, "  interval %s: not in market %s\n", c->interval, m->name);
        return;
    }
    snprintf(list, sizeof list, "%s", c->symbols);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        char why[256] = "";
        if (n == 8) {
            fprintf(out, "  more than 8 symbols: %s left out\n", tok);
            continue;
        }
        if (cdl_adapter_symbol(a, m, tok, syms[n], sizeof syms[n], why, sizeof why)) {
            fprintf(out, "  symbol %s refused: %s\n", tok, why);
            continue;
        }
        streams[n] = (struct cdl_stream_ref){ syms[n], iv };
        n++;
    }
    int s = cdl_adapter_session_new(a, m, m->ws_url, 1);
    if (s < 0) {
        fprintf(out, "  session: %s\n", cdl_strerror(s));
        return;
    }
    char url[2 * CDL_URL_MAX];
    struct emit_ctx e = { out, "subscribe", (long long)time(NULL), 0 };
    int rc = cdl_adapter_connect_url(a, s, streams, n, url, sizeof url);
    fprintf(out, "  connect_url %s\n", rc ? cdl_strerror(rc) : url);
    e.t1 = (long long)time(NULL) + 1;
    if ((rc = cdl_adapter_subscribe(a, s, streams, n, 0, emit_frame, &e)))
        fprintf(out, "  subscribe: hook_error=%s\n", cdl_strerror(rc));
    e.what = "unsubscribe";
    if ((rc = cdl_adapter_subscribe(a, s, streams, n, 1, emit_frame, &e)))
        fprintf(out, "  unsubscribe: hook_error=%s\n", cdl_strerror(rc));
    e.what = "ping";
    e.t1 = (long long)time(NULL) + 1;
    if ((rc = cdl_adapter_ping(a, s, emit_frame, &e)))
        fprintf(out, "  ping: hook_error=%s\n", cdl_strerror(rc));
    cdl_adapter_session_free(a, s);
}

/* The hook cases without a file, into MANIFEST.golden. */
static int run_hook_case(struct cdl_adapter *a, const struct manifest_case *c, const char *dir, FILE *out)
{
    if (!strcmp(c->kind, "markets")) {
        run_markets(a, out);
    } else if (!strcmp(c->kind, "market_of")) {
        const struct cdl_market *m = cdl_adapter_market_of(a, c->text);
        fprintf(out, "market_of %s = %s\n", c->text, m ? m->name : "(none)");
    } else {
        const struct cdl_market *m = market_of_case(a, c, dir);
        if (!m)
            return -1;
        if (!strcmp(c->kind, "subscribe")) {
            run_subscribe(a, m, c, out);
            return 0;
        }
        char sym[CDL_SYMBOL_MAX], why[256] = "";
        if (cdl_adapter_symbol(a, m, c->text, sym, sizeof sym, why, sizeof why))
            fprintf(out, "symbol market=%s %s refused: %s\n", m->name, c->text, why);
        else
            fprintf(out, "symbol market=%s %s = %s\n", m->name, c->text, sym);
    }
    return 0;
}

/* Lines of a text (pointers into it, not NUL-terminated). */
struct lines {
    const char **at;
    int *len, n;
};

static struct lines split_lines(const char *s, size_t n)
{
    struct lines l = { 0 };
    int cap = 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - s) : n;
        if (l.n == cap) {
            cap = cap ? cap * 2 : 64;
            l.at = realloc(l.at, (size_t)cap * sizeof *l.at);
            l.len = realloc(l.len, (size_t)cap * sizeof *l.len);
            if (!l.at || !l.len)
                abort();
        }
        l.at[l.n] = s + i;
        l.len[l.n++] = (int)(k - i);
        i = k + 1;
    }
    return l;
}

static int same_line(const struct lines *a, int i, const struct lines *b, int j)
{
    return a->len[i] == b->len[j] && !memcmp(a->at[i], b->at[j], (size_t)a->len[i]);
}

/* A unified diff of one hunk: the lines between the common head and the common tail, with 3 lines
 * of context (at most 40 lines a side shown). */
static void print_diff(const char *path, const char *want, size_t wlen, const char *got, size_t glen)
{
    struct lines a = split_lines(want, wlen), b = split_lines(got, glen);
    int head = 0, tail = 0;
    while (head < a.n && head < b.n && same_line(&a, head, &b, head))
        head++;
    while (tail < a.n - head && tail < b.n - head && same_line(&a, a.n - 1 - tail, &b, b.n - 1 - tail))
        tail++;
    int from = head > 3 ? head - 3 : 0, a_to = a.n - tail, b_to = b.n - tail;
    int a_end = a_to + 3 < a.n ? a_to + 3 : a.n, b_end = b_to + 3 < b.n ? b_to + 3 : b.n;
    fprintf(stderr, "--- %s (golden)\n+++ %s (what the host makes of it now)\n", path, path);
    fprintf(stderr, "@@ -%d,%d +%d,%d @@\n", from + 1, a_end - from, from + 1, b_end - from);
    for (int i = from; i < head; i++)
        fprintf(stderr, " %.*s\n", a.len[i], a.at[i]);
    for (int i = head; i < a_to && i < head + 40; i++)
        fprintf(stderr, "-%.*s\n", a.len[i], a.at[i]);
    for (int i = head; i < b_to && i < head + 40; i++)
        fprintf(stderr, "+%.*s\n", b.len[i], b.at[i]);
    for (int i = a_to; i < a_end; i++)
        fprintf(stderr, " %.*s\n", a.len[i], a.at[i]);
    if (a_to - head > 40 || b_to - head > 40)
        fprintf(stderr, "(%d lines removed, %d added in all)\n", a_to - head, b_to - head);
    free(a.at), free(a.len), free(b.at), free(b.len);
}

/* Compares got with tests/fixtures/<dir>/<name>.golden, or (update mode) writes it when it
 * differs.  Returns 0 when they are the same (or the golden was written). */
static int check_golden(const char *dir, const char *name, const char *got, size_t got_len)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof rel, "tests/fixtures/%s/%s.golden", dir, name);
    snprintf(path, sizeof path, "%s/%s", CDL_SOURCE_DIR, rel);
    size_t len = 0;
    char file[300];
    snprintf(file, sizeof file, "%s.golden", name);
    char *want = test_read_fixture(dir, file, &len);
    int same = want && len == got_len && !memcmp(want, got, len);
    if (!same && update_mode) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(got, 1, got_len, f) != got_len || fclose(f)) {
            fprintf(stderr, "  cannot write %s\n", path);
            free(want);
            return -1;
        }
        fprintf(stderr, "  wrote %s: review it (git diff) before committing\n", rel);
        same = 1;
    } else if (!want) {
        fprintf(stderr,
                "  no golden %s: write it with CDL_GOLDEN_UPDATE=1 build/test_adapter_golden %s, review it, "
                "commit\n",
                rel, dir);
    } else if (!same) {
        print_diff(rel, want, len, got, got_len);
    }
    free(want);
    return same ? 0 : -1;
}

/* A stream writing into a malloc'd text (*buf, *len valid after fclose; the caller frees *buf). */
static FILE *memory_stream(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    if (!f)
        abort();
    return f;
}

/* The golden's first line: the case it was made by. */
static void put_header(FILE *out, const char *dir, const struct manifest_case *c)
{
    if (!c) {
        fprintf(out, "# golden of the hook cases of tests/fixtures/%s/MANIFEST (test_adapter_golden)\n", dir);
        return;
    }
    fprintf(out, "# golden of tests/fixtures/%s/%s: %s adapter=%s market=%s", dir, c->file, c->kind, c->adapter,
            c->market);
    if (!strcmp(c->kind, "rest"))
        fprintf(out, " symbol=%s interval=%s start=%lld end=%lld limit=%d", c->symbol, c->interval, c->start, c->end,
                c->limit);
    fprintf(out, " (test_adapter_golden)\n");
}

/* One ws or rest case: its fixture through the host, compared with its golden. */
static int run_manifest_file_case(const char *dir, const struct manifest_case *c)
{
    struct cdl_adapter *a = adapter_of(c, dir);
    const struct cdl_market *m = a ? market_of_case(a, c, dir) : NULL;
    if (!m)
        return -1;
    if (!strcmp(c->kind, "rest") && (!c->symbol[0] || !c->interval[0] || !c->limit)) {
        fprintf(stderr, "  %s/MANIFEST:%d: rest needs symbol=, interval=, start=, end=, limit=\n", dir, c->line);
        return -1;
    }
    size_t len;
    char *body = test_read_fixture(dir, c->file, &len);
    if (!body) {
        fprintf(stderr, "  %s/MANIFEST:%d: no file tests/fixtures/%s/%s\n", dir, c->line, dir, c->file);
        return -1;
    }
    char *got = NULL;
    size_t got_len = 0;
    FILE *out = memory_stream(&got, &got_len);
    put_header(out, dir, c);
    if (!strcmp(c->kind, "ws"))
        run_ws(a, m, c, body, len, out);
    else
        run_rest(a, m, c, body, len, out);
    free(body);
    fclose(out);
    int rc = check_golden(dir, c->file, got, got_len);
    free(got);
    return rc;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* Sorted names of the entries of tests/fixtures/<dir> (not starting with '.'); returns the count, -1
 * if the directory cannot be read. */
static int list_dir(const char *dir, char **names, int max)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures%s%s", CDL_SOURCE_DIR, dir ? "/" : "", dir ? dir : "");
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    return n;
}

/* Every file of the directory is named by exactly one case (README.md, MANIFEST and the goldens
 * aside), and every golden is one a case writes. */
static int check_coverage(const char *dir, const struct manifest_case *cases, int n, int has_hooks)
{
    char *names[MAX_FILES];
    int nf = list_dir(dir, names, MAX_FILES), fails = 0;
    for (int i = 0; i < nf; i++) {
        const char *f = names[i];
        int named = 0;
        size_t stem = has_suffix(f, ".golden") ? strlen(f) - strlen(".golden") : strlen(f);
        for (int k = 0; k < n; k++)
            named += manifest_file_case(&cases[k]) && strlen(cases[k].file) == stem &&
                     !strncmp(cases[k].file, f, stem) && (stem == strlen(f) || strcmp(cases[k].kind, "ignore"));
        if (!strcmp(f, "README.md") || !strcmp(f, "MANIFEST") || (!strcmp(f, "MANIFEST.golden") && has_hooks))
            named = 1;
        if (named != 1) {
            fprintf(stderr, "  tests/fixtures/%s/%s: %s\n", dir, f,
                    named              ? "named by more than one MANIFEST case"
                    : stem < strlen(f) ? "a golden no MANIFEST case writes (remove it)"
                                       : "not in MANIFEST (add a ws, rest or ignore line)");
            fails++;
        }
        free(names[i]);
    }
    return fails;
}

/* One fixture directory: every case of its MANIFEST. */
static int check_dir(const char *dir)
{
    static struct manifest_case cases[MANIFEST_MAX_CASES];
    int n = manifest_load(dir, cases), fails = 0, hooks = 0;
    if (n < 0)
        return 1;
    char *got = NULL;
    size_t got_len = 0;
    FILE *out = memory_stream(&got, &got_len);
    put_header(out, dir, NULL);
    for (int i = 0; i < n; i++) {
        const struct manifest_case *c = &cases[i];
        if (!strcmp(c->kind, "ws") || !strcmp(c->kind, "rest")) {
            fails += run_manifest_file_case(dir, c) != 0;
        } else if (strcmp(c->kind, "ignore")) {
            struct cdl_adapter *a = adapter_of(c, dir);
            fails += !a || run_hook_case(a, c, dir, out);
            hooks++;
        }
    }
    fclose(out);
    if (hooks)
        fails += check_golden(dir, "MANIFEST", got, got_len) != 0;
    free(got);
    return fails + check_coverage(dir, cases, n, hooks);
}

/* 1 if tests/fixtures/<name> is a directory (the top level also holds README.md). */
static int fixture_dir(const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", CDL_SOURCE_DIR, name);
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int main(int argc, char **argv)
{
    const char *u = getenv("CDL_GOLDEN_UPDATE");
    update_mode = u && *u && strcmp(u, "0");
    struct cdl_lua_opts o = { .adapters_dir = CDL_SOURCE_DIR "/adapters", .lua_dir = CDL_SOURCE_DIR "/lua" };
    host = cdl_lua_host_create(&o, NULL);
    char *dirs[MAX_FILES];
    int n = argc > 1 ? argc - 1 : list_dir(NULL, dirs, MAX_FILES);
    for (int i = 0; i < n; i++) {
        const char *dir = argc > 1 ? argv[i + 1] : dirs[i];
        if (argc > 1 || fixture_dir(dir)) {
            test_current_failed = check_dir(dir) != 0;
            test_current_failed ? test_failures++ : test_passes++;
            fprintf(stderr, "%s %s\n", test_current_failed ? "not ok" : "ok", dir);
        }
        if (argc == 1)
            free(dirs[i]);
    }
    if (n <= 0)
        fprintf(stderr, "  no fixture directories in %s/tests/fixtures\n", CDL_SOURCE_DIR), test_failures++;
    cdl_lua_host_destroy(host);
    return TEST_DONE();
}
