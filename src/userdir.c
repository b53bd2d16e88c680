/* userdir.c: the home directory and the XDG base directories. */
#include "userdir.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A base for user files: absolute, and not the root directory itself. */
static int
usable(const char *d)
{
	return d != NULL && d[0] == '/' && d[strspn(d, "/")] != '\0';
}

char *
userdir_home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (usable(h))
		return strdup(h);
	/* Daemons and cron may run without HOME: ask the password database. */
	if ((pw = getpwuid(geteuid())) != NULL && usable(pw->pw_dir))
		return strdup(pw->pw_dir);
	return NULL;
}

char *
userdir_xdg(const char *var, const char *fallback)
{
	const char *v = getenv(var);
	char *home, *p = NULL;

	if (v != NULL && v[0] == '/')
		return strdup(v);
	if ((home = userdir_home()) == NULL)
		return NULL;
	if (asprintf(&p, "%s/%s", home, fallback) < 0)
		p = NULL;
	free(home);
	return p;
}
