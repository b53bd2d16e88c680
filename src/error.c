/* error.c: error records and the single kind -> sysexits table. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

/*
 * Each kind's exit code, and the reply class that -bs gives a caller for
 * it: 4 (try again) for conditions that may pass by themselves, 5 for the
 * rest, as the exit codes tell EX_TEMPFAIL from the others.
 */
static const struct {
	int code;
	const char *name;
	int reply_class;
} exits[] = {
	[ERR_NONE] = { EX_OK, "EX_OK", 2 },
	[ERR_USAGE] = { EX_USAGE, "EX_USAGE", 5 },
	[ERR_DATA] = { EX_DATAERR, "EX_DATAERR", 5 },
	[ERR_NOINPUT] = { EX_NOINPUT, "EX_NOINPUT", 5 },
	[ERR_NOHOST] = { EX_NOHOST, "EX_NOHOST", 5 },
	[ERR_UNAVAILABLE] = { EX_UNAVAILABLE, "EX_UNAVAILABLE", 5 },
	[ERR_SOFTWARE] = { EX_SOFTWARE, "EX_SOFTWARE", 5 },
	[ERR_OSERR] = { EX_OSERR, "EX_OSERR", 4 },
	[ERR_IO] = { EX_IOERR, "EX_IOERR", 4 },
	[ERR_TEMP] = { EX_TEMPFAIL, "EX_TEMPFAIL", 4 },
	[ERR_PROTOCOL] = { EX_PROTOCOL, "EX_PROTOCOL", 5 },
	[ERR_AUTH] = { EX_NOPERM, "EX_NOPERM", 5 },
	[ERR_CONFIG] = { EX_CONFIG, "EX_CONFIG", 5 },
};

int
error_set(struct error *e, enum error_kind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	e->said = 0;
	e->whole = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
error_clear(struct error *e)
{
	memset(e, 0, sizeof(*e));
}

void
error_set_reply(struct error *e, int code, const char *text, size_t len)
{
	e->code = code;
	if (text == NULL)
		len = 0;
	while (len > 0 && text[len - 1] == '\n')
		len--;
	if (len >= sizeof(e->reply))
		len = sizeof(e->reply) - 1;
	if (len > 0)
		memcpy(e->reply, text, len);
	e->reply[len] = '\0';
}

int
error_exit_code(enum error_kind kind)
{
	if ((size_t)kind >= sizeof(exits) / sizeof(exits[0]))
		return EX_SOFTWARE;
	return exits[kind].code;
}

enum error_kind
error_kind_of_exit(int code)
{
	size_t k;

	for (k = 0; k < sizeof(exits) / sizeof(exits[0]); k++)
		if (exits[k].code == code)
			return (enum error_kind)k;
	return ERR_SOFTWARE;
}

const char *
error_exit_name(enum error_kind kind)
{
	if ((size_t)kind >= sizeof(exits) / sizeof(exits[0]))
		return "EX_SOFTWARE";
	return exits[kind].name;
}

int
error_reply_class(enum error_kind kind)
{
	if ((size_t)kind >= sizeof(exits) / sizeof(exits[0]))
		return 5;
	return exits[kind].reply_class;
}
