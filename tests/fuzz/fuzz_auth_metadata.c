/* fuzz_auth_metadata.c: RFC 8414 authorization server metadata. */
#include <stdint.h>
#include <stdlib.h>

#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metadata m;
	struct error e;

	error_clear(&e);
	if (metadata_parse((const char *)data, size, &m, &e) == 0) {
		if (m.issuer == NULL || m.token_endpoint == NULL)
			abort();
		metadata_free(&m);
	}
	return 0;
}
