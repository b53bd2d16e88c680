/* fuzz_auth_request.c: outbox-auth's key=value request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r;
	struct oauth o;
	struct error e;

	error_clear(&e);
	if (request_parse(&r, (const char *)data, size, &e) != 0) {
		if (e.kind == ERR_NONE)
			abort();
		return 0;
	}
	for (int k = 0; k < RK_COUNT; k++)
		if (r.v[k] != NULL && strchr(r.v[k], '\n') != NULL)
			abort();
	if (provider_resolve(&r, &o, &e) == 0)
		(void)provider_check(&o, 1, &e);
	request_free(&r);
	return 0;
}
