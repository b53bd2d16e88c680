/* fuzz_auth_autoconfig.c: the mail autoconfig document (config-v1.1.xml). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct autoconfig ac;
	struct error e;

	error_clear(&e);
	if (autoconfig_parse((const char *)data, size, "alice@example.org", &ac,
		&e) == 0) {
		/* What is chosen is a host, a port and TLS, always. */
		if (ac.host[0] == '\0' || ac.port == 0 || ac.port > 65535 ||
		    strchr(ac.host, '%') != NULL ||
		    strchr(ac.user, '%') != NULL)
			abort();
	} else if (e.msg[0] == '\0')
		abort();
	return 0;
}
