/* url.h - WebSocket URLs (ws:// and wss://) split into what a connection needs: TLS or not, host,
 * port and the request path with its query.  Pure: no allocation, no I/O. */
#ifndef CDL_URL_H
#define CDL_URL_H

struct cdl_url {
    int tls;
    char host[256];
    int port;
    char path[1024]; /* with the query, starts with '/' */
};

/* Parses ws[s]://host[:port][/path][?query]; 0 or CDL_EINVAL. */
int cdl_url_parse(const char *url, struct cdl_url *out);

#endif
