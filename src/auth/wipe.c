/* wipe.c: secrets leave outbox-auth's memory when they are freed. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"

void
auth_wipe_free(char **p)
{
	if (*p != NULL)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}
