/* error.c: names and messages of the PLUMB_E* codes, from the one table in
 * plumb.h. Nothing here decides what a user sees; the CLI does. */
#include "plumb.h"

const char *plumb_strerror(int err)
{
    switch (err) {
    case PLUMB_OK:
        return "success";
#define PLUMB_STRERROR_GEN(name, code, msg)                                   \
    case PLUMB_E##name:                                                       \
        return msg;
        PLUMB_ERRNO_MAP(PLUMB_STRERROR_GEN)
#undef PLUMB_STRERROR_GEN
    }
    return "unknown error";
}

const char *plumb_errname(int err)
{
    switch (err) {
    case PLUMB_OK:
        return "OK";
#define PLUMB_ERRNAME_GEN(name, code, msg)                                    \
    case PLUMB_E##name:                                                       \
        return #name;
        PLUMB_ERRNO_MAP(PLUMB_ERRNAME_GEN)
#undef PLUMB_ERRNAME_GEN
    }
    return "UNKNOWN";
}
