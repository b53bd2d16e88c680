/* log.c: everything outbox writes to stderr goes through here. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"

static const char *prog = "outbox";
static int verbose;

void
log_init(const char *p, int v)
{
	prog = p;
	verbose = v;
}

int
log_verbose(void)
{
	return verbose;
}

/*
 * Server text is shown, never interpreted: the one cleaning rule
 * (clean.h).  Without memory for it, nothing but printable ASCII.
 */
static void
put_clean(FILE *fp, const char *s, size_t len)
{
	char *c = clean_text(s, len, 0);
	size_t i;

	if (c != NULL) {
		fputs(c, fp);
		free(c);
		return;
	}
	for (i = 0; i < len; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', fp);
}

void
log_sent(const char *line)
{
	if (!verbose)
		return;
	fputs("--> ", stderr);
	put_clean(stderr, line, strlen(line));
	fputc('\n', stderr);
}

void
log_received(const char *line, size_t len)
{
	if (!verbose)
		return;
	fputs("<-- ", stderr);
	put_clean(stderr, line, len);
	fputc('\n', stderr);
}

static void vlog(int, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* One line on stderr, with the program's name before it or not. */
static void
vlog(int named, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (named)
		fprintf(stderr, "%s: ", prog);
	put_clean(stderr, line, strlen(line));
	fputc('\n', stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vlog(1, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(1, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(1, fmt, ap);
	va_end(ap);
}

void
log_plain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}

void
log_error(const struct error *e)
{
	const char *p = e->reply, *nl;

	fprintf(stderr, "%s: ", prog);
	put_clean(stderr, e->msg, strlen(e->msg));
	fputc('\n', stderr);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		fprintf(stderr, "%s: server message: ", prog);
		put_clean(stderr, p, nl ? (size_t)(nl - p) : strlen(p));
		fputc('\n', stderr);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (e->hint[0] != '\0') {
		fprintf(stderr, "%s: hint: ", prog);
		put_clean(stderr, e->hint, strlen(e->hint));
		fputc('\n', stderr);
	}
}
