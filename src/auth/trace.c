/* trace.c: outbox-auth's verbose trace of its steps, never a secret. */
#include <stdarg.h>
#include <stdio.h>

#include "auth.h"

void
trace(const struct http_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o == NULL || !o->verbose)
		return;
	if (o->account != NULL)
		fprintf(stderr, "outbox: account %s: ", o->account);
	else
		fputs("outbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
