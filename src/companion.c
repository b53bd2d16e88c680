/* companion.c: finding outbox's companion programs; see companion.h. */
#include "companion.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef OUTBOX_LIBEXECDIR
#define OUTBOX_LIBEXECDIR "/usr/local/libexec"
#endif

const char *
companion_path(const char *name)
{
	static char path[PATH_MAX];
	char self[PATH_MAX], *slash;
	ssize_t n;

	/*
	 * The tests' stand-ins: honoured only when the process is not
	 * privileged (secure_getenv), though outbox refuses set-ID anyway.
	 */
	const char *dir = secure_getenv("OUTBOX_COMPANION_DIR");

	if (dir != NULL && *dir == '/' &&
	    snprintf(path, sizeof(path), "%s/%s", dir, name) <
		(int)sizeof(path) &&
	    access(path, X_OK) == 0)
		return path;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL &&
		    snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - self),
			self, name) < (int)sizeof(path) &&
		    access(path, X_OK) == 0)
			return path;
	}
	snprintf(path, sizeof(path), "%s/outbox/%s", OUTBOX_LIBEXECDIR, name);
	return path;
}
