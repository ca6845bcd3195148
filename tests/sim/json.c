/* json.c - validating JSON tokenizer (see json.h).  Recursive descent with an explicit depth
 * limit; strings are checked for control characters and valid escapes but not decoded. */
#include "json.h"

#include <string.h>

#define SIM_JSON_MAX_DEPTH 32

struct sim_json_parser {
    const char *s;
    size_t len, pos;
    struct sim_json_tok *t;
    int max, n;
    int overflow;
};

static void sim_json_ws(struct sim_json_parser *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int sim_json_new(struct sim_json_parser *p, enum sim_json_type type, size_t start)
{
    if (p->n >= p->max) {
        p->overflow = 1;
        return -1;
    }
    struct sim_json_tok *t = &p->t[p->n];
    t->type = type;
    t->start = start;
    t->end = start;
    t->size = 0;
    t->next = p->n + 1;
    return p->n++;
}

static int sim_json_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int sim_json_string(struct sim_json_parser *p)
{
    p->pos++; /* opening quote */
    int i = sim_json_new(p, SIM_JSON_STRING, p->pos);
    if (i < 0)
        return -1;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->t[i].end = p->pos++;
            return i;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (++p->pos >= p->len)
                return -1;
            c = (unsigned char)p->s[p->pos];
            if (c == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (p->pos + k >= p->len || !sim_json_is_hex(p->s[p->pos + k]))
                        return -1;
                p->pos += 4;
            } else if (!strchr("\"\\/bfnrt", c)) {
                return -1;
            }
        }
        p->pos++;
    }
    return -1;
}

static int sim_json_number(struct sim_json_parser *p)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len)
        return -1;
    if (s[p->pos] == '0') {
        p->pos++;
    } else if (s[p->pos] >= '1' && s[p->pos] <= '9') {
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
    } else {
        return -1;
    }
    if (p->pos < p->len && s[p->pos] == '.') {
        size_t d = ++p->pos;
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
        if (p->pos == d)
            return -1;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
        if (p->pos == d)
            return -1;
    }
    int i = sim_json_new(p, SIM_JSON_NUMBER, start);
    if (i >= 0)
        p->t[i].end = p->pos;
    return i;
}

static int sim_json_literal(struct sim_json_parser *p, const char *word, enum sim_json_type type)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
        return -1;
    int i = sim_json_new(p, type, p->pos);
    p->pos += n;
    if (i >= 0)
        p->t[i].end = p->pos;
    return i;
}

static int sim_json_value(struct sim_json_parser *p, int depth);

/* Object or array: `close` is '}' or ']'. */
static int sim_json_container(struct sim_json_parser *p, int depth, int is_obj)
{
    if (depth >= SIM_JSON_MAX_DEPTH)
        return -1;
    int i = sim_json_new(p, is_obj ? SIM_JSON_OBJECT : SIM_JSON_ARRAY, p->pos);
    if (i < 0)
        return -1;
    char close = is_obj ? '}' : ']';
    p->pos++;
    sim_json_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        p->t[i].end = p->pos;
        p->t[i].next = p->n;
        return i;
    }
    for (;;) {
        sim_json_ws(p);
        if (is_obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"' || sim_json_string(p) < 0)
                return -1;
            sim_json_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return -1;
            p->pos++;
        }
        if (sim_json_value(p, depth + 1) < 0)
            return -1;
        p->t[i].size++;
        sim_json_ws(p);
        if (p->pos >= p->len)
            return -1;
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] != close)
            return -1;
        p->pos++;
        p->t[i].end = p->pos;
        p->t[i].next = p->n;
        return i;
    }
}

static int sim_json_value(struct sim_json_parser *p, int depth)
{
    sim_json_ws(p);
    if (p->pos >= p->len)
        return -1;
    switch (p->s[p->pos]) {
    case '{': return sim_json_container(p, depth, 1);
    case '[': return sim_json_container(p, depth, 0);
    case '"': return sim_json_string(p);
    case 't': return sim_json_literal(p, "true", SIM_JSON_TRUE);
    case 'f': return sim_json_literal(p, "false", SIM_JSON_FALSE);
    case 'n': return sim_json_literal(p, "null", SIM_JSON_NULL);
    default: return sim_json_number(p);
    }
}

int sim_json_parse(const char *s, size_t len, struct sim_json_tok *t, int max, size_t *err_at)
{
    struct sim_json_parser p = { .s = s, .len = len, .t = t, .max = max };
    int root = sim_json_value(&p, 0);
    if (root >= 0) {
        sim_json_ws(&p);
        if (p.pos == p.len)
            return p.n;
    }
    if (err_at)
        *err_at = p.pos;
    return p.overflow ? -2 : -1;
}

int sim_json_get(const char *s, const struct sim_json_tok *t, int obj, const char *key)
{
    if (t[obj].type != SIM_JSON_OBJECT)
        return -1;
    int k = obj + 1;
    for (int m = 0; m < t[obj].size; m++) {
        int v = k + 1;
        if (sim_json_streq(s, t, k, key))
            return v;
        k = t[v].next;
    }
    return -1;
}

int sim_json_elem(const struct sim_json_tok *t, int arr, int i)
{
    if (t[arr].type != SIM_JSON_ARRAY || i < 0 || i >= t[arr].size)
        return -1;
    int e = arr + 1;
    while (i-- > 0)
        e = t[e].next;
    return e;
}

int sim_json_streq(const char *s, const struct sim_json_tok *t, int i, const char *str)
{
    size_t n = strlen(str);
    return t[i].type == SIM_JSON_STRING && t[i].end - t[i].start == n && !memcmp(s + t[i].start, str, n);
}

int sim_json_str(const char *s, const struct sim_json_tok *t, int i, char *buf, size_t cap)
{
    if (t[i].type != SIM_JSON_STRING)
        return -1;
    size_t o = 0;
    for (size_t k = t[i].start; k < t[i].end; k++) {
        char c = s[k];
        if (c == '\\') {
            c = s[++k];
            if (c != '"' && c != '\\' && c != '/')
                return -1;
        }
        if (o + 1 >= cap)
            return -1;
        buf[o++] = c;
    }
    buf[o] = '\0';
    return (int)o;
}
