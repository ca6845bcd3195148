/* sizes.h - the fixed sizes of names, URLs and batches shared by the adapter contract and the
 * modules that carry its values (requests, feeds, the hub).  Constants only, no types: a pure
 * module can include it without reaching the Lua host. */
#ifndef CDL_SIZES_H
#define CDL_SIZES_H

#define CDL_NAME_MAX 32         /* exchange, market and alias names, with the NUL */
#define CDL_URL_MAX 1024        /* a WebSocket or REST base URL */
#define CDL_SYMBOL_MAX 64       /* an exchange symbol */
#define CDL_IVNAME_MAX 16       /* an exchange's interval name */
#define CDL_PARSE_MAX 64        /* candles one WebSocket frame may carry */
#define CDL_REST_ROWS_MAX 10000 /* rows one REST page may carry: the cap of every rest_max_rows */
#define CDL_REST_WEIGHTS_MAX 16 /* steps of a market's rest_weight table */
#define CDL_MARKETS_MAX 16      /* markets of one adapter */
#define CDL_ALIASES_MAX 4       /* aliases of one market */

#endif
