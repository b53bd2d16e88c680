/*
 * fuzz_queue.c: the queue entry format (ID.env).  Whatever parses must
 * hold only addresses that would pass as arguments, and must come back
 * the same through the writer and the parser again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
no_controls(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort(); /* would reach the wire */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_entry *e, *again;
	struct error err;
	char *text;
	size_t len, k;

	error_clear(&err);
	if (queue_parse((const char *)data, size, &e, &err) == -1) {
		if (err.kind == ERR_NONE || e != NULL)
			abort();
		return 0;
	}
	no_controls(e->from);
	for (k = 0; k < e->nrcpt; k++)
		no_controls(e->rcpt[k]);
	if (queue_format(e, &text, &len, &err) == -1) {
		queue_entry_free(e);
		return 0;
	}
	if (queue_parse(text, len, &again, &err) == -1)
		abort(); /* what the writer wrote, the reader must read */
	if (strcmp(e->id, again->id) != 0 || !same_str(e->from, again->from) ||
	    e->nrcpt != again->nrcpt || e->nset != again->nset ||
	    e->attempts != again->attempts || e->next != again->next ||
	    e->created != again->created || e->size != again->size ||
	    !same_str(e->conffile, again->conffile) ||
	    !same_str(e->error, again->error) ||
	    !same_str(e->failed, again->failed))
		abort();
	for (k = 0; k < e->nrcpt; k++)
		if (strcmp(e->rcpt[k], again->rcpt[k]) != 0 ||
		    e->state[k] != again->state[k])
			abort();
	for (k = 0; k < e->nset; k++)
		if (strcmp(e->set[k], again->set[k]) != 0)
			abort();
	free(text);
	queue_entry_free(e);
	queue_entry_free(again);
	return 0;
}
