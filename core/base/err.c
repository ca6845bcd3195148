/* err.c - names for enum cdl_err. */
#include "err.h"

const char *cdl_strerror(int err)
{
    switch (err) {
    case CDL_OK: return "ok";
    case CDL_ENOMEM: return "out of memory";
    case CDL_EINVAL: return "invalid input";
    case CDL_ERANGE: return "out of range";
    case CDL_ENOTFOUND: return "not found";
    case CDL_EIO: return "i/o error";
    case CDL_ELUA: return "lua error";
    case CDL_EBUDGET: return "lua budget exceeded";
    case CDL_ECONFIG: return "invalid configuration";
    case CDL_EBUSY: return "busy";
    case CDL_ECLOSED: return "closed";
    case CDL_EOPEN: return "circuit open";
    }
    return "unknown error";
}
