/* jsonscan.c - see jsonscan.h. */
#include "jsonscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "xalloc.h"

#define MAX_NODES 256
#define SEG_MAX 48
#define MAX_DEPTH 64

struct node {
    char seg[SEG_MAX]; /* key, or "" for an array index */
    unsigned char seg_len;
    int index; /* 1-based array index, 0 for a key */
    int first_child, next_sibling;
    int leaf; /* path number ending here, -1 if none */
};

struct cdl_jsonscan {
    struct node nodes[MAX_NODES];
    int n_nodes;
    int n_paths;
    int leaf_of[CDL_JSONSCAN_MAX_PATHS]; /* path i -> the path whose span it shares (duplicates) */
};

static int is_index(const char *s, size_t n, int *out)
{
    if (!n || n > 6)
        return 0;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || s[0] == '0')
        return 0;
    *out = v;
    return 1;
}

static int child(struct cdl_jsonscan *s, int parent, const char *seg, size_t n, int index, int create)
{
    for (int c = s->nodes[parent].first_child; c >= 0; c = s->nodes[c].next_sibling) {
        struct node *k = &s->nodes[c];
        if (index ? k->index == index : (!k->index && strlen(k->seg) == n && !memcmp(k->seg, seg, n)))
            return c;
    }
    if (!create || s->n_nodes >= MAX_NODES)
        return -1;
    int c = s->n_nodes++;
    struct node *k = &s->nodes[c];
    memset(k, 0, sizeof *k);
    if (!index) {
        memcpy(k->seg, seg, n);
        k->seg_len = (unsigned char)n;
    }
    k->index = index;
    k->leaf = -1;
    k->first_child = -1;
    k->next_sibling = s->nodes[parent].first_child;
    s->nodes[parent].first_child = c;
    return c;
}

struct cdl_jsonscan *cdl_jsonscan_create(const char *const *paths, int n)
{
    if (n < 0 || n > CDL_JSONSCAN_MAX_PATHS)
        return NULL;
    struct cdl_jsonscan *s = cdl_xcalloc(1, sizeof *s);
    s->n_nodes = 1;
    s->nodes[0].first_child = s->nodes[0].next_sibling = -1;
    s->nodes[0].leaf = -1;
    s->n_paths = n;
    for (int i = 0; i < n; i++) {
        const char *p = paths[i];
        int cur = 0;
        if (!p || !*p)
            goto fail;
        while (1) {
            size_t len = strcspn(p, ".");
            int idx = 0;
            if (!len || len >= SEG_MAX)
                goto fail;
            if (!is_index(p, len, &idx))
                idx = 0;
            cur = child(s, cur, p, len, idx, 1);
            if (cur < 0)
                goto fail;
            if (!p[len])
                break;
            p += len + 1;
        }
        if (s->nodes[cur].leaf < 0)
            s->nodes[cur].leaf = i;
        s->leaf_of[i] = s->nodes[cur].leaf;
    }
    return s;
fail:
    free(s);
    return NULL;
}

void cdl_jsonscan_destroy(struct cdl_jsonscan *s) { free(s); }
int cdl_jsonscan_count(const struct cdl_jsonscan *s) { return s->n_paths; }

/* ---- the scanner --------------------------------------------------------------------------- */

struct scan {
    const char *base, *p, *end;
    const struct cdl_jsonscan *s;
    struct cdl_json_span *out;
    const char *msg;
    int depth;
};

static void ws(struct scan *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int fail(struct scan *c, const char *msg)
{
    if (!c->msg)
        c->msg = msg;
    return -1;
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

/* At the opening quote; leaves p after the closing quote. */
static int string(struct scan *c, size_t *off, size_t *len, int *escaped)
{
    c->p++;
    const char *start = c->p;
    *escaped = 0;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            *off = (size_t)(start - c->base);
            *len = (size_t)(c->p - start);
            c->p++;
            return 0;
        }
        if (ch < 0x20)
            return fail(c, "control character in string");
        if (ch == '\\') {
            *escaped = 1;
            if (++c->p >= c->end)
                break;
            switch (*c->p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't': break;
            case 'u':
                if (c->end - c->p < 5)
                    return fail(c, "truncated \\u escape");
                for (int i = 1; i <= 4; i++)
                    if (hexval(c->p[i]) < 0)
                        return fail(c, "bad \\u escape");
                c->p += 4;
                break;
            default: return fail(c, "bad escape");
            }
        }
        c->p++;
    }
    return fail(c, "unterminated string");
}

static int digits(struct scan *c)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > s;
}

static int number(struct scan *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p >= c->end)
        return fail(c, "truncated number");
    if (*c->p == '0') {
        c->p++;
        if (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            return fail(c, "leading zero");
    } else if (!digits(c)) {
        return fail(c, "bad number");
    }
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c))
            return fail(c, "bad fraction");
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!digits(c))
            return fail(c, "bad exponent");
    }
    return 0;
}

static int literal(struct scan *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
        return fail(c, "invalid literal");
    c->p += n;
    return 0;
}

static int value(struct scan *c, int node);

static void record(struct scan *c, int node, enum cdl_json_kind kind, size_t off, size_t len, int escaped)
{
    int leaf = c->s->nodes[node].leaf;
    if (leaf >= 0) {
        c->out[leaf].kind = kind;
        c->out[leaf].off = off;
        c->out[leaf].len = len;
        c->out[leaf].escaped = escaped;
    }
}

/* Finds the child of `node` for an object key (escaped keys are compared unescaped). */
static int key_child(struct scan *c, int node, size_t off, size_t len, int escaped)
{
    if (node < 0 || c->s->nodes[node].first_child < 0)
        return -1;
    const char *k = c->base + off;
    char buf[SEG_MAX];
    if (escaped) {
        long n = cdl_json_unescape(k, len, buf, sizeof buf);
        if (n < 0)
            return -1;
        k = buf;
        len = (size_t)n;
    }
    for (int ch = c->s->nodes[node].first_child; ch >= 0; ch = c->s->nodes[ch].next_sibling) {
        const struct node *nd = &c->s->nodes[ch];
        /* lengths and first bytes first: this runs for every key of every frame */
        if (!nd->index && nd->seg_len == len && nd->seg[0] == k[0] && !memcmp(nd->seg, k, len))
            return ch;
    }
    return -1;
}

static int index_child(struct scan *c, int node, int index)
{
    if (node < 0)
        return -1;
    for (int ch = c->s->nodes[node].first_child; ch >= 0; ch = c->s->nodes[ch].next_sibling)
        if (c->s->nodes[ch].index == index)
            return ch;
    return -1;
}

static int object(struct scan *c, int node)
{
    c->p++; /* '{' */
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        ws(c);
        if (c->p >= c->end || *c->p != '"')
            return fail(c, c->p >= c->end ? "truncated object" : "expected a key");
        size_t off, len;
        int esc;
        if (string(c, &off, &len, &esc))
            return -1;
        ws(c);
        if (c->p >= c->end || *c->p != ':')
            return fail(c, "expected ':'");
        c->p++;
        if (value(c, key_child(c, node, off, len, esc)))
            return -1;
        ws(c);
        if (c->p >= c->end)
            return fail(c, "truncated object");
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return fail(c, "expected ',' or '}'");
        c->p++;
    }
}

static int array(struct scan *c, int node)
{
    c->p++; /* '[' */
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    for (int i = 1;; i++) {
        if (value(c, index_child(c, node, i)))
            return -1;
        ws(c);
        if (c->p >= c->end)
            return fail(c, "truncated array");
        if (*c->p == ']') {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return fail(c, "expected ',' or ']'");
        c->p++;
    }
}

static int value(struct scan *c, int node)
{
    ws(c);
    if (c->p >= c->end)
        return fail(c, "truncated document");
    const char *start = c->p;
    size_t off = (size_t)(start - c->base);
    int rc;
    switch (*c->p) {
    case '{':
    case '[':
        if (++c->depth > MAX_DEPTH)
            return fail(c, "nesting too deep");
        rc = *c->p == '{' ? object(c, node) : array(c, node);
        c->depth--;
        if (!rc && node >= 0)
            record(c, node, *start == '{' ? CDL_J_OBJECT : CDL_J_ARRAY, off, (size_t)(c->p - start), 0);
        return rc;
    case '"': {
        size_t soff, slen;
        int esc;
        if (string(c, &soff, &slen, &esc))
            return -1;
        if (node >= 0)
            record(c, node, CDL_J_STRING, soff, slen, esc);
        return 0;
    }
    case 't':
        rc = literal(c, "true");
        if (!rc && node >= 0)
            record(c, node, CDL_J_TRUE, off, 4, 0);
        return rc;
    case 'f':
        rc = literal(c, "false");
        if (!rc && node >= 0)
            record(c, node, CDL_J_FALSE, off, 5, 0);
        return rc;
    case 'n':
        rc = literal(c, "null");
        if (!rc && node >= 0)
            record(c, node, CDL_J_NULL, off, 4, 0);
        return rc;
    default:
        if (*c->p != '-' && (*c->p < '0' || *c->p > '9'))
            return fail(c, "unexpected character");
        rc = number(c);
        if (!rc && node >= 0)
            record(c, node, CDL_J_NUMBER, off, (size_t)(c->p - start), 0);
        return rc;
    }
}

int cdl_jsonscan_run(const struct cdl_jsonscan *s, const char *text, size_t len, struct cdl_json_span *out, char *err,
                     size_t errlen)
{
    struct scan c = { text, text, text + len, s, out, NULL, 0 };
    memset(out, 0, (size_t)s->n_paths * sizeof *out);
    int rc = value(&c, 0);
    if (!rc) {
        ws(&c);
        if (c.p != c.end)
            rc = fail(&c, "trailing characters");
    }
    if (rc) {
        if (err)
            snprintf(err, errlen, "%s at byte %zu", c.msg, (size_t)(c.p - text));
        return CDL_EINVAL;
    }
    for (int i = 0; i < s->n_paths; i++)
        if (s->leaf_of[i] != i)
            out[i] = out[s->leaf_of[i]];
    return 0;
}

static size_t put_utf8(char *b, unsigned cp)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static long hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

long cdl_json_unescape(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (o + 4 > cap)
            return -1;
        if (s[i] != '\\') {
            buf[o++] = s[i];
            continue;
        }
        if (++i >= len)
            return -1;
        switch (s[i]) {
        case '"': buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; break;
        case '/': buf[o++] = '/'; break;
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u': {
            if (len - i < 5)
                return -1;
            long cp = hex4(s + i + 1);
            if (cp < 0)
                return -1;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* high surrogate: a low one must follow */
                if (len - i < 7 || s[i + 1] != '\\' || s[i + 2] != 'u')
                    return -1;
                long lo = hex4(s + i + 3);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return -1;
            }
            o += put_utf8(buf + o, (unsigned)cp);
            break;
        }
        default: return -1;
        }
    }
    if (o >= cap)
        return -1;
    buf[o] = '\0';
    return (long)o;
}

int cdl_json_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= len || len - i > 19)
        return 0;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}
