/* harden.c: no set-ID, no core dumps (see harden.h). */
#include "harden.h"

#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int
harden_process(struct error *err)
{
	struct rlimit none = { 0, 0 };

	if (getauxval(AT_SECURE) != 0)
		return error_set(err, ERR_CONFIG,
		    "outbox must not be set-user-ID or set-group-ID "
		    "(remove the mode bit: chmod ug-s); see outbox(1)");
	/*
	 * Passwords, tokens and the message are in memory: a crash must not
	 * leave them in a core file, nor /proc let another process of the
	 * user's read them.
	 */
	if (setrlimit(RLIMIT_CORE, &none) == -1)
		return error_set(err, ERR_OSERR, "setrlimit: %s",
		    strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return error_set(err, ERR_OSERR, "prctl: %s", strerror(errno));
	return 0;
}
