/* fuzz_addr.c: address lists and single addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const char *a)
{
	const unsigned char *p;

	if (a == NULL)
		abort();
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addrlist l;
	struct error err;
	char *s, *one;
	size_t i;

	memset(&l, 0, sizeof(l));
	error_clear(&err);
	if (addr_list_parse((const char *)data, size, &l, "fuzz", ERR_DATA,
		&err) == 0) {
		for (i = 0; i < l.n; i++)
			check(l.v[i]);
	} else if (err.kind == ERR_NONE)
		abort();
	addrlist_free(&l);

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	error_clear(&err);
	if ((one = addr_parse_one(s, "fuzz", ERR_USAGE, &err)) != NULL) {
		check(one);
		free(one);
	} else if (err.kind == ERR_NONE)
		abort();
	free(s);
	return 0;
}
