/* sql_pq.c: libpq by dlopen, once per process (sql_pq.h says why). */
#include "sql_pq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "sql_db.h"

/* The soname of libpq 10 and later (Debian's libpq5). */
#define LIBPQ_SONAME "libpq.so.5"

static plumb__pq_t pq;
static int load_err;
static char load_words[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_words, sizeof load_words, "%s",
                 why ? why : LIBPQ_SONAME ": not found");
        load_err = PLUMB_EUNSUPPORTED;
        return;
    }
    /* One entry per member of plumb__pq_t, in its order. */
    static const struct {
        const char *name;
        void **slot;
    } fns[] = {
#define PQ_FN(member) {"PQ" #member, (void **)&pq.member}
        PQ_FN(connectdbParams), PQ_FN(status), PQ_FN(transactionStatus),
        PQ_FN(errorMessage), PQ_FN(setNoticeProcessor), PQ_FN(finish),
        PQ_FN(conninfoParse), PQ_FN(conninfoFree), PQ_FN(exec),
        PQ_FN(execParams), PQ_FN(resultStatus), PQ_FN(resultErrorMessage),
        PQ_FN(ntuples), PQ_FN(nfields), PQ_FN(getvalue), PQ_FN(getlength),
        PQ_FN(getisnull), PQ_FN(cmdTuples), PQ_FN(clear),
#undef PQ_FN
    };
    _Static_assert(sizeof fns / sizeof fns[0] ==
                       sizeof(plumb__pq_t) / sizeof(void (*)(void)),
                   "one name per libpq function");
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        /* POSIX: a function pointer converts to and from void *. */
        *fns[i].slot = dlsym(lib, fns[i].name);
        if (!*fns[i].slot) {
            snprintf(load_words, sizeof load_words, "%s has no %s",
                     LIBPQ_SONAME, fns[i].name);
            load_err = PLUMB_EUNSUPPORTED;
            dlclose(lib);
            return;
        }
    }
}

int plumb__pq_load(const plumb__pq_t **out, char **errmsg)
{
    pthread_once(&once, load);
    if (load_err)
        return plumb__sql_fail(errmsg, load_err,
                               "plumb reaches PostgreSQL through libpq, which "
                               "could not be loaded (%s); install it (Debian: "
                               "apt-get install libpq5)",
                               load_words);
    *out = &pq;
    return 0;
}
