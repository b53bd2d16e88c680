/* idn.c: the only user of libidn2. */
#include "idn.h"

#include <idn2.h>
#include <stdio.h>
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

/* The A-label form of a non-ASCII name: 0, or libidn2's error code. */
static int
to_alabels(const char *name, char **out)
{
	char *a = NULL;
	int r;

	*out = NULL;
	/* UTS #46 non-transitional processing, as browsers and resolvers do. */
	r = idn2_to_ascii_8z(name, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (r != IDN2_OK)
		return r;
	/* libidn2 allocates with its own free; hand back a plain copy. */
	*out = strdup(a);
	idn2_free(a);
	return *out == NULL ? IDN2_MALLOC : IDN2_OK;
}

char *
idn_host_ascii(const char *host, struct error *err)
{
	char *out = NULL;
	int r;

	if (idn_is_ascii(host)) {
		if ((out = strdup(host)) == NULL)
			error_set(err, ERR_OSERR, "out of memory");
		return out;
	}
	if ((r = to_alabels(host, &out)) == IDN2_MALLOC)
		error_set(err, ERR_OSERR, "out of memory");
	else if (r != IDN2_OK)
		error_set(err, ERR_CONFIG, "cannot convert host name %s: %s",
		    host, idn2_strerror(r));
	return out;
}

char *
idn_addr_ascii(const char *addr, struct error *err)
{
	const char *at = strrchr(addr, '@');
	size_t i, local = at != NULL ? (size_t)(at - addr) : strlen(addr);
	char *dom = NULL, *out = NULL;
	int r;

	for (i = 0; i < local; i++)
		if ((unsigned char)addr[i] >= 0x80) {
			error_set(err, ERR_UNAVAILABLE,
			    "the address %s has a local part in UTF-8, and "
			    "the server does not offer SMTPUTF8 to carry it",
			    addr);
			return NULL;
		}
	if (at == NULL || idn_is_ascii(at + 1)) {
		if ((out = strdup(addr)) == NULL)
			error_set(err, ERR_OSERR, "out of memory");
		return out;
	}
	if ((r = to_alabels(at + 1, &dom)) == IDN2_MALLOC) {
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	if (r != IDN2_OK) {
		error_set(err, ERR_DATA,
		    "the domain of the address %s cannot be converted to "
		    "ASCII: %s",
		    addr, idn2_strerror(r));
		return NULL;
	}
	if (asprintf(&out, "%.*s@%s", (int)local, addr, dom) == -1) {
		out = NULL;
		error_set(err, ERR_OSERR, "out of memory");
	}
	free(dom);
	return out;
}

const char *
idn_version(void)
{
	return idn2_check_version(NULL);
}
