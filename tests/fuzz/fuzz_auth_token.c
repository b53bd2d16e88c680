/* fuzz_auth_token.c: token endpoint replies and the token file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grant g;
	struct tokens t;
	struct error e;

	error_clear(&e);
	if (grant_parse((const char *)data, size, &g, &e) == 0) {
		struct tokens n = { 0 };

		if (g.access_token == NULL && g.error == NULL)
			abort();
		if (g.access_token != NULL && grant_apply(&n, &g, 1000) == 0 &&
		    n.expires_at <= 1000 && g.expires_in > 0)
			abort();
		tokens_free(&n);
		grant_free(&g);
	}
	error_clear(&e);
	if (tokens_parse((const char *)data, size, &t, &e) == 0)
		tokens_free(&t);
	return 0;
}
