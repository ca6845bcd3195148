/* err.h - candled's error codes.
 *
 * Every fallible function returns 0 or a negative enum cdl_err.  cdl_strerror() gives the
 * short English name used in logs; human-facing detail (config paths, Lua tracebacks) is
 * carried separately by the module that knows it. */
#ifndef CDL_ERR_H
#define CDL_ERR_H

enum cdl_err {
    CDL_OK = 0,
    CDL_ENOMEM = -1,    /* allocation failed (only recoverable inside Lua's capped allocator) */
    CDL_EINVAL = -2,    /* bad argument or malformed input */
    CDL_ERANGE = -3,    /* value out of range, or does not fit the destination */
    CDL_ENOTFOUND = -4, /* unknown exchange, market, interval, key */
    CDL_EIO = -5,       /* system or library I/O failure */
    CDL_ELUA = -6,      /* a Lua call raised or returned something outside the contract */
    CDL_EBUDGET = -7,   /* a Lua call ran past its instruction budget or memory cap */
    CDL_ECONFIG = -8,   /* configuration invalid */
    CDL_EBUSY = -9,     /* resource exhausted or queue full */
    CDL_ECLOSED = -10,  /* the object is shutting down */
    CDL_EOPEN = -11,    /* not attempted: that service's circuit breaker is open */
};

const char *cdl_strerror(int err);

#endif
