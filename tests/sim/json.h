/* json.h - a small validating JSON tokenizer for the simulator's client messages.
 *
 * sim_json_parse() checks a whole document (RFC 8259 syntax, nesting depth <= 32) and fills a
 * caller-owned token array in document order, jsmn-style: each token is a span of the input plus
 * the index of the token after its subtree, so walking an object or array needs no allocation.
 * Control messages are small; the caller sizes the token array (64 is plenty). */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <stddef.h>

enum sim_json_type {
    SIM_JSON_OBJECT = 1,
    SIM_JSON_ARRAY,
    SIM_JSON_STRING, /* span excludes the quotes, escapes left as they are */
    SIM_JSON_NUMBER,
    SIM_JSON_TRUE,
    SIM_JSON_FALSE,
    SIM_JSON_NULL,
};

struct sim_json_tok {
    enum sim_json_type type;
    size_t start, end; /* [start, end) in the input */
    int size;          /* members (object: key/value pairs) or elements */
    int next;          /* index of the first token after this subtree */
};

/* Returns the number of tokens (>= 1), -1 on a syntax error (offset of the error in *err_at),
 * -2 if it needs more than max tokens. */
int sim_json_parse(const char *s, size_t len, struct sim_json_tok *t, int max, size_t *err_at);
/* Index of the value of `key` in object token obj, or -1. */
int sim_json_get(const char *s, const struct sim_json_tok *t, int obj, const char *key);
/* Index of element i of array token arr, or -1. */
int sim_json_elem(const struct sim_json_tok *t, int arr, int i);
/* 1 if string token i equals str (no escapes considered). */
int sim_json_streq(const char *s, const struct sim_json_tok *t, int i, const char *str);
/* Copies string token i (unescaping \" \\ \/ only) into buf; -1 if it does not fit or holds
 * another escape. */
int sim_json_str(const char *s, const struct sim_json_tok *t, int i, char *buf, size_t cap);

#endif
