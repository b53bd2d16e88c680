/* fuzz_auth_registration.c: RFC 7591 registration replies. */
#include <stdint.h>
#include <stdlib.h>

#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registration r;
	struct error e;

	error_clear(&e);
	if (registration_parse((const char *)data, size, &r, &e) == 0) {
		if (r.client_id == NULL || r.client_id[0] == '\0')
			abort();
		registration_free(&r);
	}
	return 0;
}
