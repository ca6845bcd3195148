/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static enum cdl_log_level g_level = CDL_LOG_INFO;
static enum cdl_log_format g_format = CDL_LOG_JSON;
static FILE *g_sink;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

void cdl_log_setup(enum cdl_log_level level, enum cdl_log_format format, FILE *sink)
{
    g_level = level;
    g_format = format;
    g_sink = sink;
}

enum cdl_log_level cdl_log_get_level(void) { return g_level; }

int cdl_log_level_parse(const char *name)
{
    for (int i = 0; i <= CDL_LOG_OFF; i++)
        if (!strcmp(name, level_names[i]))
            return i;
    if (!strcmp(name, "warning"))
        return CDL_LOG_WARN;
    return -1;
}

int cdl_log_format_parse(const char *name)
{
    if (!strcmp(name, "json"))
        return CDL_LOG_JSON;
    if (!strcmp(name, "text"))
        return CDL_LOG_TEXT;
    return -1;
}

/* Appends s JSON-escaped to the buffer; truncates silently at the end. */
static size_t put_json_str(char *b, size_t at, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p && at + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            b[at++] = '\\';
            b[at++] = (char)c;
        } else if (c < 0x20) {
            b[at++] = '\\';
            if (c == '\n')
                b[at++] = 'n';
            else if (c == '\t')
                b[at++] = 't';
            else if (c == '\r')
                b[at++] = 'r';
            else {
                b[at++] = 'u';
                b[at++] = '0';
                b[at++] = '0';
                b[at++] = hex[c >> 4];
                b[at++] = hex[c & 15];
            }
        } else {
            b[at++] = (char)c;
        }
    }
    return at;
}

static size_t put_raw(char *b, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        b[at++] = *s++;
    return at;
}

static void vlog(enum cdl_log_level level, const char *msg, const char *extra_key, const char *extra_val, va_list ap)
{
    char line[4096], ts[40];
    size_t n = 0, cap = sizeof line - 2;
    uint64_t now = cdl_clock_now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03uZ", (unsigned)(now % 1000));

    if (g_format == CDL_LOG_JSON) {
        n = put_raw(line, n, cap, "{\"ts\":\"");
        n = put_raw(line, n, cap, ts);
        n = put_raw(line, n, cap, "\",\"level\":\"");
        n = put_raw(line, n, cap, level_names[level]);
        n = put_raw(line, n, cap, "\",\"msg\":\"");
        n = put_json_str(line, n, cap, msg);
        n = put_raw(line, n, cap, "\"");
    } else {
        n = put_raw(line, n, cap, ts);
        n = put_raw(line, n, cap, " ");
        n = put_raw(line, n, cap, level_names[level]);
        n = put_raw(line, n, cap, " ");
        n = put_raw(line, n, cap, msg);
    }
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (!v)
            continue;
        if (g_format == CDL_LOG_JSON) {
            n = put_raw(line, n, cap, ",\"");
            n = put_json_str(line, n, cap, k);
            n = put_raw(line, n, cap, "\":\"");
            n = put_json_str(line, n, cap, v);
            n = put_raw(line, n, cap, "\"");
        } else {
            n = put_raw(line, n, cap, " ");
            n = put_raw(line, n, cap, k);
            n = put_raw(line, n, cap, "=");
            n = put_raw(line, n, cap, v);
        }
    }
    if (extra_key) {
        if (g_format == CDL_LOG_JSON) {
            n = put_raw(line, n, cap, ",\"");
            n = put_raw(line, n, cap, extra_key);
            n = put_raw(line, n, cap, "\":\"");
            n = put_raw(line, n, cap, extra_val);
            n = put_raw(line, n, cap, "\"");
        } else {
            n = put_raw(line, n, cap, " ");
            n = put_raw(line, n, cap, extra_key);
            n = put_raw(line, n, cap, "=");
            n = put_raw(line, n, cap, extra_val);
        }
    }
    if (g_format == CDL_LOG_JSON)
        line[n++] = '}';
    line[n++] = '\n';
    FILE *out = g_sink ? g_sink : stderr;
    fwrite(line, 1, n, out);
    fflush(out);
}

void cdl_log(enum cdl_log_level level, const char *msg, ...)
{
    if (level < g_level || level >= CDL_LOG_OFF)
        return;
    va_list ap;
    va_start(ap, msg);
    vlog(level, msg, NULL, NULL, ap);
    va_end(ap);
}

static void log_extra(enum cdl_log_level level, const char *msg, const char *extra_key, const char *extra_val, ...)
    __attribute__((sentinel));
static void log_extra(enum cdl_log_level level, const char *msg, const char *extra_key, const char *extra_val, ...)
{
    va_list ap;
    va_start(ap, extra_val);
    vlog(level, msg, extra_key, extra_val, ap);
    va_end(ap);
}

void cdl_log_limited(struct cdl_log_limit *lim, uint64_t window_ms, enum cdl_log_level level, const char *msg, ...)
{
    if (level < g_level || level >= CDL_LOG_OFF)
        return;
    uint64_t now = cdl_clock_mono_us() / 1000; /* real time: a flood is a rate per real second */
    if (!lim->window_start_ms || now - lim->window_start_ms >= window_ms) {
        lim->window_start_ms = now ? now : 1;
        lim->passed = 0;
    }
    if (lim->passed >= (lim->burst ? lim->burst : 1)) {
        lim->suppressed++;
        lim->msg = msg;
        lim->level = level;
        return;
    }
    lim->passed++;
    char buf[24];
    const char *extra = NULL;
    if (lim->suppressed) {
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)lim->suppressed);
        extra = buf;
    }
    lim->suppressed = 0;
    va_list ap;
    va_start(ap, msg);
    vlog(level, msg, extra ? "suppressed" : NULL, extra, ap);
    va_end(ap);
}

void cdl_log_limit_flush(struct cdl_log_limit *lim)
{
    if (!lim->suppressed || lim->level < g_level || lim->level >= CDL_LOG_OFF)
        return;
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)lim->suppressed);
    lim->suppressed = 0;
    log_extra(lim->level, lim->msg, "suppressed", buf, NULL);
}
