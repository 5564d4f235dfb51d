/* utf8.c: well-formedness of UTF-8 and its repair with U+FFFD; what the
 * JSON writers (report/json, stack's speedscope) need, nothing more. */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t plumb__utf8_sequence_length(const unsigned char *s)
{
    unsigned lead = s[0];
    size_t len;
    uint32_t cp;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        len = 2;
        cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        len = 3;
        cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4;
        cp = lead & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int plumb__utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t len = plumb__utf8_sequence_length(p);
        if (!len)
            return 0;
        p += len;
    }
    return 1;
}

void plumb__utf8_repair_into(const char *s, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t len = plumb__utf8_sequence_length(p);
        if (len) {
            memcpy(out, p, len);
            out += len;
            p += len;
        } else {
            memcpy(out, "\xEF\xBF\xBD", 3);
            out += 3;
            p++;
        }
    }
    *out = '\0';
}
