/* sql_pq.h: libpq, loaded when plumb first reaches PostgreSQL rather than
 * when plumb starts. Linked, libpq and what it needs (TLS, Kerberos, LDAP:
 * about 25 libraries) cost every start of plumb and of its Python
 * extension about 15 ms here, `plumb mem`'s recorder included, for the
 * few runs that ever talk to PostgreSQL. The build needs libpq's header
 * only; a machine without libpq runs everything but PostgreSQL targets.
 */
#ifndef PLUMB_SQL_PQ_H
#define PLUMB_SQL_PQ_H

#include <libpq-fe.h>

/* The libpq functions plumb calls, named after them without "PQ". */
typedef struct {
    PGconn *(*connectdbParams)(const char *const *keywords,
                               const char *const *values, int expand_dbname);
    ConnStatusType (*status)(const PGconn *conn);
    PGTransactionStatusType (*transactionStatus)(const PGconn *conn);
    char *(*errorMessage)(const PGconn *conn);
    PQnoticeProcessor (*setNoticeProcessor)(PGconn *conn,
                                            PQnoticeProcessor proc, void *arg);
    void (*finish)(PGconn *conn);
    PQconninfoOption *(*conninfoParse)(const char *conninfo, char **errmsg);
    void (*conninfoFree)(PQconninfoOption *options);
    PGresult *(*exec)(PGconn *conn, const char *query);
    PGresult *(*execParams)(PGconn *conn, const char *command, int nParams,
                            const Oid *paramTypes,
                            const char *const *paramValues,
                            const int *paramLengths, const int *paramFormats,
                            int resultFormat);
    ExecStatusType (*resultStatus)(const PGresult *res);
    char *(*resultErrorMessage)(const PGresult *res);
    int (*ntuples)(const PGresult *res);
    int (*nfields)(const PGresult *res);
    char *(*getvalue)(const PGresult *res, int tup_num, int field_num);
    int (*getlength)(const PGresult *res, int tup_num, int field_num);
    int (*getisnull)(const PGresult *res, int tup_num, int field_num);
    char *(*cmdTuples)(PGresult *res);
    void (*clear)(PGresult *res);
} plumb__pq_t;

/* libpq's functions, loaded on the first call (thread-safe; never
 * unloaded). PLUMB_EUNSUPPORTED when libpq is not on this machine, with
 * *errmsg (the caller frees it) saying what to install. */
int plumb__pq_load(const plumb__pq_t **out, char **errmsg);

#endif
