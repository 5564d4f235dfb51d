/* sql.h: the internal side of src/sql.c, for tests only: a switch that
 * makes an allocation fail, so that a test can walk every out-of-memory
 * path of the fingerprint, access and candidate readers. */
#ifndef PLUMB_SQL_H
#define PLUMB_SQL_H

/* Makes the nth allocation of the sql module from now fail (1: the next
 * one); 0 turns it off. Returns how many allocations the previous setting
 * still had to wait (0: it fired, or was off). Not thread-safe: for tests
 * only. */
unsigned long plumb__sql_fail_alloc(unsigned long nth);

#endif
