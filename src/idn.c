/* idn.c: the only user of libidn2. */
#include "idn.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

int
idn_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

char *
idn_host_ascii(const char *host, struct error *err)
{
	char *out = NULL, *copy;
	int r;

	if (idn_is_ascii(host)) {
		if ((out = strdup(host)) == NULL)
			error_set(err, ERR_OSERR, "out of memory");
		return out;
	}
	r = idn2_to_ascii_8z(host, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (r != IDN2_OK) {
		error_set(err, ERR_CONFIG, "cannot convert host name %s: %s",
		    host, idn2_strerror(r));
		return NULL;
	}
	/* libidn2 allocates with its own free; hand back a plain copy. */
	copy = strdup(out);
	idn2_free(out);
	if (copy == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	return copy;
}

const char *
idn_version(void)
{
	return idn2_check_version(NULL);
}
