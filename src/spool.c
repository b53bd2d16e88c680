/* spool.c: the drop directory's rules and the drop file's envelope. */
#include "spool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC "outbox-drop 1"

int
spool_check_dir(int dirfd, long group, struct error *err)
{
	struct stat st;

	if (fstat(dirfd, &st) == -1 || !S_ISDIR(st.st_mode))
		return error_set(err, ERR_CONFIG, "%s is not a directory",
		    SPOOL_DROP_DIR);
	if (st.st_uid != 0)
		return error_set(err, ERR_CONFIG,
		    "%s must be owned by root (it is owned by uid %ld)",
		    SPOOL_DROP_DIR, (long)st.st_uid);
	if ((st.st_mode & 07777) != SPOOL_DROP_MODE)
		return error_set(err, ERR_CONFIG,
		    "%s must have mode %o (it has %o)", SPOOL_DROP_DIR,
		    SPOOL_DROP_MODE, (unsigned)(st.st_mode & 07777));
	if (group >= 0 && (long)st.st_gid != group)
		return error_set(err, ERR_CONFIG,
		    "%s must belong to the group of outbox-drop (gid %ld, "
		    "not %ld)",
		    SPOOL_DROP_DIR, group, (long)st.st_gid);
	return 0;
}

/* A value that may stand on one line of the file. */
static int
line_ok(const char *v)
{
	size_t n = strlen(v), i;

	if (n == 0 || n >= SPOOL_LINE_MAX - 8)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

int
spool_check_envelope(const struct spool_envelope *e, struct error *err)
{
	size_t i;

	if (e->from != NULL && *e->from != '\0' && !line_ok(e->from))
		return error_set(err, ERR_USAGE,
		    "the envelope-from address is too long or contains a "
		    "control character");
	if (e->nrcpt > SPOOL_RCPT_MAX)
		return error_set(err, ERR_USAGE,
		    "more than %d recipient arguments", SPOOL_RCPT_MAX);
	if (e->nrcpt == 0 && !e->read_recipients)
		return error_set(err, ERR_USAGE, "no recipients given");
	for (i = 0; i < e->nrcpt; i++)
		if (!line_ok(e->rcpt[i]))
			return error_set(err, ERR_USAGE,
			    "recipient argument %zu is empty, too long or "
			    "contains a control character",
			    i + 1);
	return 0;
}

int
spool_write_envelope(FILE *fp, const struct spool_envelope *e)
{
	size_t i;

	fputs(MAGIC "\n", fp);
	if (e->from != NULL)
		fprintf(fp, "from %s\n", *e->from != '\0' ? e->from : "<>");
	for (i = 0; i < e->nrcpt; i++)
		fprintf(fp, "rcpt %s\n", e->rcpt[i]);
	if (e->read_recipients)
		fputs("t\n", fp);
	fputc('\n', fp);
	return ferror(fp) ? -1 : 0;
}

static int
add_rcpt(struct spool_envelope *e, const char *v)
{
	char **grown;

	if (e->nrcpt >= SPOOL_RCPT_MAX)
		return -1;
	if ((grown = realloc(e->rcpt, (e->nrcpt + 1) * sizeof(char *))) == NULL)
		return -1;
	e->rcpt = grown;
	if ((e->rcpt[e->nrcpt] = strdup(v)) == NULL)
		return -1;
	e->nrcpt++;
	return 0;
}

int
spool_read_envelope(FILE *fp, struct spool_envelope *e, struct error *err)
{
	char line[SPOOL_LINE_MAX];
	size_t n, lineno = 0;

	memset(e, 0, sizeof(*e));
	for (;;) {
		if (fgets(line, sizeof(line), fp) == NULL)
			return error_set(err, ERR_DATA,
			    "the drop file ends inside its envelope");
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n')
			return error_set(err, ERR_DATA,
			    "line %zu of the drop file's envelope is too long "
			    "or holds a NUL",
			    lineno + 1);
		line[--n] = '\0';
		if (lineno++ == 0) {
			if (strcmp(line, MAGIC) != 0)
				return error_set(err, ERR_DATA,
				    "not a drop file");
			continue;
		}
		if (n == 0)
			return 0;
		if (!line_ok(line))
			return error_set(err, ERR_DATA,
			    "line %zu of the drop file's envelope holds a "
			    "control character",
			    lineno);
		if (strcmp(line, "t") == 0)
			e->read_recipients = 1;
		else if (strncmp(line, "from ", 5) == 0 && e->from == NULL) {
			if ((e->from = strdup(line + 5)) == NULL)
				return error_set(err, ERR_OSERR,
				    "out of memory");
		} else if (strncmp(line, "rcpt ", 5) == 0) {
			if (add_rcpt(e, line + 5) == -1)
				return error_set(err, ERR_DATA,
				    "more than %d recipients, or out of "
				    "memory",
				    SPOOL_RCPT_MAX);
		} else
			return error_set(err, ERR_DATA,
			    "line %zu of the drop file's envelope is not "
			    "understood",
			    lineno);
	}
}

void
spool_envelope_free(struct spool_envelope *e)
{
	size_t i;

	free(e->from);
	for (i = 0; i < e->nrcpt; i++)
		free(e->rcpt[i]);
	free(e->rcpt);
	memset(e, 0, sizeof(*e));
}
