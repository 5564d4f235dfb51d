/* sql_db_nopg.c: the PostgreSQL engine of a plumb built without libpq
 * (the Makefile builds it in place of sql_db_pg.c when pkg-config finds no
 * libpq): every PostgreSQL target is refused, saying how to get one.
 */
#include "sql_db.h"

int plumb__sql_pg_open(const char *conninfo, plumb_sql_db_t **out,
                       char **errmsg)
{
    (void)conninfo;
    (void)out;
    return plumb__sql_fail(errmsg, PLUMB_EUNSUPPORTED,
                           "this plumb was built without libpq, so it cannot "
                           "reach PostgreSQL; install libpq-dev and rebuild");
}
