/* fuzz_conf.c: the configuration file parser. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * "eval" runs a shell command: refuse any input naming it, in any case,
 * so that the fuzzer never runs one.  This covers "passwordeval" too.
 */
static int
names_eval(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i + 4 <= size; i++)
		if (tolower(data[i]) == 'e' && tolower(data[i + 1]) == 'v' &&
		    tolower(data[i + 2]) == 'a' && tolower(data[i + 3]) == 'l')
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct account *list = NULL, *a;
	struct error err;
	FILE *fp;

	if (size == 0 || names_eval(data, size))
		return -1; /* not added to the corpus */
	if ((fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	error_clear(&err);
	if (conf_parse(fp, "fuzz.conf", 0, &list, &err) == 0) {
		for (a = list; a != NULL; a = a->next) {
			error_clear(&err);
			(void)account_check(a, &err);
		}
	} else if (err.kind == ERR_NONE)
		abort();
	fclose(fp);
	account_free_list(list);
	return 0;
}
