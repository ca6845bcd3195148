/* sizes.h - the sizes of the names and texts every layer passes around: exchange, market and
 * interval names, symbols, URLs, and how many candles a frame or a REST page may carry.  Plain
 * constants, so that a module can size its buffers without including the module that fills them. */
#ifndef CDL_SIZES_H
#define CDL_SIZES_H

#define CDL_NAME_MAX 32
#define CDL_URL_MAX 1024
#define CDL_SYMBOL_MAX 64
#define CDL_IVNAME_MAX 16
#define CDL_PARSE_MAX 64        /* candles one WebSocket frame may carry */
#define CDL_REST_ROWS_MAX 10000 /* rows one REST page may carry: the cap of every rest_max_rows */
#define CDL_REST_WEIGHTS_MAX 16 /* steps of a market's rest_weight table */

#endif
