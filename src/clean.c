/* clean.c: server-supplied text made safe to show (see clean.h). */
#include "clean.h"

#include <stdlib.h>
#include <string.h>

/* Unicode's bidirectional formatting characters (UAX #9). */
static int
is_bidi(unsigned long c)
{
	return c == 0x061C || c == 0x200E || c == 0x200F ||
	    (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF), its value in
 * *cp; 0 when the bytes there are not one.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n, unsigned long *cp)
{
	unsigned long c;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, c = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, c = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		return 0;
	*cp = c;
	return len;
}

char *
clean_text(const char *text, size_t len, int flags)
{
	const unsigned char *p = (const unsigned char *)text;
	char *out = malloc(len + 1), *o = out;
	unsigned long c;
	size_t i = 0, k;

	if (out == NULL)
		return NULL;
	while (i < len) {
		k = utf8_seq(p + i, len - i, &c);
		if (k == 0) {
			*o++ = '?'; /* one byte, then look again */
			i++;
			continue;
		}
		if ((c == '\n' && (flags & CLEAN_LINES)) ||
		    (c >= 0x20 && c != 0x7F && !(c >= 0x80 && c <= 0x9F) &&
			!is_bidi(c)))
			memcpy(o, p + i, k), o += k;
		else
			*o++ = '?';
		i += k;
	}
	*o = '\0';
	return out;
}
