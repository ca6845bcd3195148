/* request.c - see request.h. */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonscan.h"
#include "xalloc.h"

enum { P_OP, P_EXCHANGE, P_CONTRACT, P_MARKET, P_SYMBOLS, P_INTERVAL, P_LIMIT, P_CLOSED_ONLY, P__COUNT };
static const char *const paths[P__COUNT] = { "op",      "exchange", "contract_type", "market",
                                             "symbols", "interval", "limit",         "closed_only" };

static int fail(const char **code, const char *c, char *msg, size_t msglen, const char *text)
{
    *code = c;
    snprintf(msg, msglen, "%s", text);
    return CDL_EINVAL;
}

/* A string field into dst; absent leaves dst as it is.  0, or -1 if not a string or too long. */
static int get_string(const char *text, const struct cdl_json_span *sp, char *dst, size_t cap)
{
    if (sp->kind == CDL_J_ABSENT)
        return 0;
    if (sp->kind != CDL_J_STRING)
        return -1;
    long n = cdl_json_unescape(text + sp->off, sp->len, dst, cap);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    dst[n] = '\0';
    return 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Walks the elements of a (valid) JSON array; each must be a string.  With out == NULL only
 * counts.  Returns the count, -1 for a non-string element, -2 for a string that does not fit. */
static int scan_symbols(const char *text, const struct cdl_json_span *sp, char (*out)[CDL_SYMBOL_MAX])
{
    const char *p = skip_ws(text + sp->off + 1), *end = text + sp->off + sp->len;
    int n = 0;
    while (p < end && *p != ']') {
        if (*p != '"')
            return -1;
        const char *q = p + 1;
        while (*q != '"')
            q += *q == '\\' ? 2 : 1;
        if (out) {
            long len = cdl_json_unescape(p + 1, (size_t)(q - p - 1), out[n], CDL_SYMBOL_MAX);
            if (len <= 0 || len >= CDL_SYMBOL_MAX || memchr(out[n], '\0', (size_t)len))
                return -2;
            out[n][len] = '\0';
        }
        n++;
        p = skip_ws(q + 1);
        if (*p == ',')
            p = skip_ws(p + 1);
    }
    return n;
}

static int parse_symbols(const char *text, const struct cdl_json_span *sp, int max, struct cdl_request *req,
                         const char **code, char *msg, size_t msglen)
{
    if (sp->kind != CDL_J_ARRAY)
        return fail(code, "bad_request", msg, msglen, "symbols: expected an array of symbol strings");
    int n = scan_symbols(text, sp, NULL);
    if (n < 0)
        return fail(code, "bad_request", msg, msglen, "symbols: expected an array of symbol strings");
    if (n == 0)
        return fail(code, "bad_request", msg, msglen, "symbols: empty");
    if (n > max) {
        *code = "too_many_symbols";
        snprintf(msg, msglen, "%d symbols in one request; at most %d", n, max);
        return CDL_EINVAL;
    }
    req->symbols = cdl_xcalloc((size_t)n, sizeof *req->symbols);
    if (scan_symbols(text, sp, req->symbols) != n) {
        snprintf(msg, msglen, "symbols: each must be 1 to %d characters", CDL_SYMBOL_MAX - 1);
        *code = "bad_request";
        return CDL_EINVAL;
    }
    req->n_symbols = n;
    return 0;
}

static int parse_fields(const char *text, const struct cdl_json_span *sp, int max_symbols, struct cdl_request *req,
                        const char **code, char *msg, size_t msglen)
{
    char op[16] = "subscribe";
    if (get_string(text, &sp[P_OP], op, sizeof op))
        return fail(code, "bad_request", msg, msglen, "op: expected \"subscribe\", \"unsubscribe\" or \"ping\"");
    if (!strcmp(op, "ping")) {
        req->op = CDL_REQ_PING;
        return 0;
    }
    if (!strcmp(op, "subscribe"))
        req->op = CDL_REQ_SUBSCRIBE;
    else if (!strcmp(op, "unsubscribe"))
        req->op = CDL_REQ_UNSUBSCRIBE;
    else
        return fail(code, "bad_request", msg, msglen, "op: expected \"subscribe\", \"unsubscribe\" or \"ping\"");
    if (sp[P_EXCHANGE].kind == CDL_J_ABSENT || get_string(text, &sp[P_EXCHANGE], req->exchange, sizeof req->exchange) ||
        !req->exchange[0])
        return fail(code, "bad_request", msg, msglen, "exchange: expected an exchange name");
    const struct cdl_json_span *mk = sp[P_CONTRACT].kind != CDL_J_ABSENT ? &sp[P_CONTRACT] : &sp[P_MARKET];
    if (get_string(text, mk, req->market, sizeof req->market))
        return fail(code, "bad_request", msg, msglen, "contract_type: expected a market name");
    strcpy(req->interval, "1m");
    if (get_string(text, &sp[P_INTERVAL], req->interval, sizeof req->interval))
        return fail(code, "bad_request", msg, msglen, "interval: expected an interval name such as \"1m\"");
    if (sp[P_LIMIT].kind != CDL_J_ABSENT &&
        (sp[P_LIMIT].kind != CDL_J_NUMBER || !cdl_json_int64(text + sp[P_LIMIT].off, sp[P_LIMIT].len, &req->limit) ||
         req->limit < 0))
        return fail(code, "bad_request", msg, msglen, "limit: expected a non-negative integer");
    if (sp[P_CLOSED_ONLY].kind == CDL_J_TRUE)
        req->closed_only = 1;
    else if (sp[P_CLOSED_ONLY].kind != CDL_J_ABSENT && sp[P_CLOSED_ONLY].kind != CDL_J_FALSE)
        return fail(code, "bad_request", msg, msglen, "closed_only: expected true or false");
    if (sp[P_SYMBOLS].kind == CDL_J_ABSENT)
        return fail(code, "bad_request", msg, msglen, "symbols: required");
    return parse_symbols(text, &sp[P_SYMBOLS], max_symbols, req, code, msg, msglen);
}

struct cdl_jsonscan *cdl_request_scanner(void)
{
    struct cdl_jsonscan *scan = cdl_jsonscan_create(paths, P__COUNT);
    if (!scan)
        abort();
    return scan;
}

int cdl_request_parse(const struct cdl_jsonscan *scan, const char *text, size_t len, int max_symbols,
                      struct cdl_request *req, const char **code, char *msg, size_t msglen)
{
    memset(req, 0, sizeof *req);
    struct cdl_json_span sp[P__COUNT];
    char err[160];
    if (cdl_jsonscan_run(scan, text, len, sp, err, sizeof err)) {
        *code = "bad_json";
        snprintf(msg, msglen, "not valid JSON: %s", err);
        return CDL_EINVAL;
    }
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len || text[i] != '{')
        return fail(code, "bad_request", msg, msglen, "expected a JSON object");
    int rc = parse_fields(text, sp, max_symbols, req, code, msg, msglen);
    if (rc)
        cdl_request_clear(req);
    return rc;
}

void cdl_request_clear(struct cdl_request *req)
{
    free(req->symbols);
    req->symbols = NULL;
    req->n_symbols = 0;
}

/* Length of the well-formed UTF-8 sequence at p (1..4), 0 if it is not one (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!n)
        return 0;
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

int cdl_json_put_string(char *buf, size_t cap, size_t *len, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = *len;
    if (n + 1 >= cap)
        return CDL_ERANGE;
    buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (n + 7 >= cap)
            return CDL_ERANGE;
        int u = utf8_len(p);
        if (u == 0) { /* not UTF-8 (a client's bytes, or text cut inside a character): U+FFFD */
            memcpy(buf + n, "\\ufffd", 6);
            n += 6;
        } else if (u > 1) {
            memcpy(buf + n, p, (size_t)u);
            n += (size_t)u;
            p += u - 1;
        } else if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)*p;
        } else if (*p < 0x20) {
            memcpy(buf + n, "\\u00", 4);
            buf[n + 4] = hex[*p >> 4];
            buf[n + 5] = hex[*p & 15];
            n += 6;
        } else {
            buf[n++] = (char)*p;
        }
    }
    if (n + 1 >= cap)
        return CDL_ERANGE;
    buf[n++] = '"';
    buf[n] = '\0';
    *len = n;
    return 0;
}
