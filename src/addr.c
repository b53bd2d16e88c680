/* addr.c: envelope address checks. */
#include "addr.h"

#include <stdlib.h>
#include <string.h>

static int
bad_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

char *
addr_parse_one(const char *arg, const char *what, enum error_kind kind,
    struct error *err)
{
	const char *start = arg, *end, *lt, *gt, *p;
	char *out;

	for (p = arg; *p != '\0'; p++)
		if (bad_byte((unsigned char)*p) && *p != ' ' && *p != '\t') {
			error_set(err, kind,
			    "%s contains a control character "
			    "(such as CR or LF), which is not allowed",
			    what);
			return NULL;
		}
	lt = strrchr(arg, '<');
	gt = strrchr(arg, '>');
	if (lt != NULL || gt != NULL) {
		/* Exactly one <...>, and nothing but blanks after it. */
		if (lt == NULL || gt == NULL || gt < lt ||
		    strchr(arg, '<') != lt || strchr(arg, '>') != gt ||
		    gt[1 + strspn(gt + 1, " \t")] != '\0') {
			error_set(err, kind, "%s is not a valid address: %s",
			    what, arg);
			return NULL;
		}
		start = lt + 1;
		end = gt;
	} else {
		start += strspn(start, " \t");
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	for (p = start; p < end; p++)
		if (*p == ' ' || *p == '\t' || *p == '<' || *p == '>') {
			error_set(err, kind, "%s is not a valid address: %s",
			    what, arg);
			return NULL;
		}
	if ((out = strndup(start, (size_t)(end - start))) == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	return out;
}
