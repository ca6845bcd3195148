/* request.h - the client requests of the WebSocket API, parsed and checked (pure, no I/O).
 *
 *   {"exchange":"binance","contract_type":"spot","symbols":["BTCUSDT"],"interval":"1m","limit":0}
 *   {"op":"unsubscribe","exchange":...,"contract_type":...,"symbols":[...],"interval":...}
 *   {"op":"ping"}
 *
 * A request without "op" is a subscribe.  The text must be one valid JSON object (bad_json
 * otherwise); fields of the wrong type, a missing exchange or symbols, an empty or over-long
 * symbol, an unknown op are bad_request; more symbols than the cap is too_many_symbols.  Other
 * keys are ignored (clients may add their own).  The request owns its symbol array. */
#ifndef CDL_REQUEST_H
#define CDL_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "sizes.h"

enum cdl_req_op { CDL_REQ_SUBSCRIBE, CDL_REQ_UNSUBSCRIBE, CDL_REQ_PING };

struct cdl_request {
    enum cdl_req_op op;
    char exchange[CDL_NAME_MAX];
    char market[CDL_NAME_MAX]; /* "" = the exchange's default */
    char interval[CDL_IVNAME_MAX];
    int64_t limit; /* 0 = endless */
    int closed_only;
    char (*symbols)[CDL_SYMBOL_MAX]; /* malloc'd, as written (unescaped) */
    int n_symbols;
};

struct cdl_jsonscan;
/* The compiled field scanner requests are parsed with (cdl_jsonscan_destroy it). */
struct cdl_jsonscan *cdl_request_scanner(void);

/* Parses text[0..len) with scan (from cdl_request_scanner).  max_symbols caps the symbols array.  On error returns
 * CDL_EINVAL with the protocol's error code in *code and a message; req is then empty.  Free with cdl_request_clear
 * either way. */
int cdl_request_parse(const struct cdl_jsonscan *scan, const char *text, size_t len, int max_symbols,
                      struct cdl_request *req, const char **code, char *msg, size_t msglen);
void cdl_request_clear(struct cdl_request *req);

/* Appends s as a JSON string (quotes, escapes) to buf of capacity cap at *len; returns 0, or
 * CDL_ERANGE if it does not fit (then *len is unchanged). */
int cdl_json_put_string(char *buf, size_t cap, size_t *len, const char *s);

#endif
