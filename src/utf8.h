/* utf8.h: checking and repairing UTF-8, for the JSON writers: commands,
 * names and file names need not be UTF-8, but a JSON document must be.
 * Internal to libplumb. */
#ifndef PLUMB_UTF8_H
#define PLUMB_UTF8_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (no overlongs, surrogates
 * or code points past U+10FFFF), or 0 when the bytes there are not one. */
size_t plumb__utf8_sequence_length(const unsigned char *s);
/* 1 when all of s is well-formed UTF-8. */
int plumb__utf8_valid(const char *s);
/* Copies s into out, each byte that does not start a well-formed sequence
 * replaced by U+FFFD; out must hold 3 * strlen(s) + 1 bytes. */
void plumb__utf8_repair_into(const char *s, char *out);

#endif
