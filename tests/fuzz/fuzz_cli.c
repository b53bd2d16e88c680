/* fuzz_cli.c: the command line, argv being the input split at NUL bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define ARGS_MAX 1024

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *p, *end, *argv[ARGS_MAX + 1];
	struct cli c;
	struct error err;
	int argc = 0, i;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* Each NUL ends an argument; a final one adds no empty argument. */
	for (p = s, end = s + size; p < end && argc < ARGS_MAX;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	if (argc == 0)
		argv[argc++] = s;
	argv[argc] = NULL;
	error_clear(&err);
	if (cli_parse(&c, argc, argv, &err) == 0) {
		if (c.nrcpt < 0 || c.nrcpt >= argc || c.nov < 0 ||
		    c.nov > CLI_OVERRIDES_MAX)
			abort();
		for (i = 0; i < c.nrcpt; i++)
			if (c.rcpt[i] == NULL)
				abort();
	} else if (err.kind == ERR_NONE)
		abort();
	free(c.rcpt);
	free(s);
	return 0;
}
