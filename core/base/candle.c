/* candle.c - see candle.h. */
#include "candle.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int cdl_decimal_valid(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || len >= CDL_DEC_MAX)
        return 0;
    if (s[i] == '-')
        i++;
    if (i >= len || !is_digit(s[i]))
        return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < len && is_digit(s[i]))
            i++;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t start = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return 0;
    }
    return i == len;
}

struct out {
    char *b;
    size_t n, cap;
    int overflow;
};

static void put(struct out *o, const char *s, size_t len)
{
    if (o->n + len >= o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->b + o->n, s, len);
    o->n += len;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_str(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[6];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(o, esc, 2);
        } else if (*p < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            put(o, esc, 6);
        } else {
            put(o, (const char *)p, 1);
        }
    }
    put(o, "\"", 1);
}

/* Hand-rolled: three per quote, and snprintf showed up in profiles. */
static void put_i64(struct out *o, int64_t v)
{
    char tmp[24];
    int n = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--n] = '-';
    put(o, tmp + n, sizeof tmp - (size_t)n);
}

static int finish(struct out *o)
{
    if (o->overflow || o->n >= o->cap)
        return CDL_ERANGE;
    o->b[o->n] = '\0';
    return (int)o->n;
}

/* The meta fields every event carries, after its "type". */
static void put_meta(struct out *o, const struct cdl_quote_meta *m)
{
    puts_(o, ",\"exchange\":");
    put_str(o, m->exchange);
    puts_(o, ",\"contract_type\":");
    put_str(o, m->contract_type);
    puts_(o, ",\"symbol\":");
    put_str(o, m->symbol);
    puts_(o, ",\"interval\":");
    put_str(o, m->interval);
}

int cdl_quote_json(char *buf, size_t cap, const struct cdl_quote_meta *m, const struct cdl_candle *c)
{
    struct out o = { buf, 0, cap, 0 };
    puts_(&o, "{\"type\":\"quote\"");
    put_meta(&o, m);
    puts_(&o, ",\"timestamp\":");
    put_i64(&o, c->open_time);
    /* The decimal text is a validated JSON number token: written verbatim. */
    puts_(&o, ",\"open\":");
    puts_(&o, c->open);
    puts_(&o, ",\"high\":");
    puts_(&o, c->high);
    puts_(&o, ",\"low\":");
    puts_(&o, c->low);
    puts_(&o, ",\"close\":");
    puts_(&o, c->close);
    puts_(&o, ",\"volume\":");
    puts_(&o, c->volume);
    puts_(&o, c->closed == 1 ? ",\"is_closed\":true" : ",\"is_closed\":false");
    if (c->close_time >= 0) {
        puts_(&o, ",\"close_time\":");
        put_i64(&o, c->close_time);
    }
    if (c->quote_volume[0]) {
        puts_(&o, ",\"quote_volume\":");
        puts_(&o, c->quote_volume);
    }
    if (c->trades >= 0) {
        puts_(&o, ",\"trades\":");
        put_i64(&o, c->trades);
    }
    puts_(&o, "}");
    return finish(&o);
}

int cdl_gap_json(char *buf, size_t cap, const struct cdl_quote_meta *m, int64_t from, int64_t to, int64_t missing,
                 const char *reason)
{
    struct out o = { buf, 0, cap, 0 };
    puts_(&o, "{\"type\":\"gap\"");
    put_meta(&o, m);
    puts_(&o, ",\"from\":");
    put_i64(&o, from);
    puts_(&o, ",\"to\":");
    put_i64(&o, to);
    puts_(&o, ",\"missing\":");
    put_i64(&o, missing);
    puts_(&o, ",\"reason\":");
    put_str(&o, reason);
    puts_(&o, "}");
    return finish(&o);
}

const char *cdl_quote_csv_header(void)
{
    return "exchange,contract_type,symbol,interval,timestamp,open,high,low,close,volume,is_closed,"
           "close_time,quote_volume,trades";
}

/* CSV field: quoted only when it holds a comma, quote or line break (RFC 4180). */
static void put_csv(struct out *o, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        puts_(o, s);
        return;
    }
    put(o, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            put(o, "\"", 1);
        put(o, s, 1);
    }
    put(o, "\"", 1);
}

int cdl_quote_csv(char *buf, size_t cap, const struct cdl_quote_meta *m, const struct cdl_candle *c)
{
    struct out o = { buf, 0, cap, 0 };
    put_csv(&o, m->exchange);
    put(&o, ",", 1);
    put_csv(&o, m->contract_type);
    put(&o, ",", 1);
    put_csv(&o, m->symbol);
    put(&o, ",", 1);
    put_csv(&o, m->interval);
    put(&o, ",", 1);
    put_i64(&o, c->open_time);
    const char *dec[] = { c->open, c->high, c->low, c->close, c->volume };
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        put(&o, ",", 1);
        puts_(&o, dec[i]);
    }
    puts_(&o, c->closed == 1 ? ",true," : ",false,");
    if (c->close_time >= 0)
        put_i64(&o, c->close_time);
    put(&o, ",", 1);
    puts_(&o, c->quote_volume);
    put(&o, ",", 1);
    if (c->trades >= 0)
        put_i64(&o, c->trades);
    return finish(&o);
}
