/* url.c - see url.h. */
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int cdl_url_parse(const char *url, struct cdl_url *out)
{
    memset(out, 0, sizeof *out);
    const char *p;
    if (!strncmp(url, "wss://", 6)) {
        out->tls = 1;
        p = url + 6;
        out->port = 443;
    } else if (!strncmp(url, "ws://", 5)) {
        p = url + 5;
        out->port = 80;
    } else {
        return CDL_EINVAL;
    }
    size_t hl = strcspn(p, ":/?#");
    if (hl == 0 || hl >= sizeof out->host)
        return CDL_EINVAL;
    memcpy(out->host, p, hl);
    p += hl;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535)
            return CDL_EINVAL;
        out->port = (int)port;
        p = end;
    }
    if (*p && *p != '/' && *p != '?' && *p != '#')
        return CDL_EINVAL;
    int n = snprintf(out->path, sizeof out->path, "%s%s", *p == '/' ? "" : "/", p);
    if (n < 0 || (size_t)n >= sizeof out->path)
        return CDL_EINVAL;
    for (const char *c = out->path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '#') /* no fragments in WebSocket URIs (RFC 6455 3) */
            return CDL_EINVAL;
    return 0;
}
