/*
 * conf_env.c: the account that the environment describes (SMTPSERVER,
 * EMAIL), for scripts and containers that have no configuration file.
 */
#include <string.h>

#include "conf.h"

/* What -P and messages give as the file such an account came from. */
#define ENV_FILE "(environment)"

/*
 * EMAIL is taken as an address, as the envelope sender: a display name or
 * angle brackets would end up inside MAIL FROM:<...>.
 */
static int
plain_address(const char *v)
{
	return strpbrk(v, " \t<>()\",;") == NULL;
}

int
conf_from_environment(const char *smtpserver, const char *email,
    int have_sender, struct account **out, struct error *err)
{
	struct account *a;

	*out = NULL;
	if (smtpserver == NULL || *smtpserver == '\0')
		return 0;
	if (email != NULL && *email == '\0')
		email = NULL;
	/* Without a sender from the command line, EMAIL must give one. */
	if (email == NULL && !have_sender)
		return 0;
	if (email != NULL && !plain_address(email))
		return error_set(err, ERR_CONFIG,
		    "EMAIL must hold a plain address (no name, no <>), not "
		    "\"%s\"",
		    email);
	if ((a = conf_account_new("default", ENV_FILE, 0, NULL)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (conf_set(a, "host", smtpserver, "SMTPSERVER: ", err) == -1 ||
	    (email != NULL &&
		conf_set(a, "from", email, "EMAIL: ", err) == -1)) {
		account_free(a);
		/* conf_set names the setting; say it came from the variable. */
		err->kind = ERR_CONFIG;
		return -1;
	}
	*out = a;
	return 1;
}

const char *
conf_environment_source(const struct account *a, enum acc_field f)
{
	if (a == NULL || a->file == NULL || strcmp(a->file, ENV_FILE) != 0 ||
	    !account_is_set(a, f))
		return NULL;
	if (f == AF_HOST)
		return "SMTPSERVER";
	if (f == AF_FROM)
		return "EMAIL";
	return NULL;
}
