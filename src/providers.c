/*
 * providers.c: see providers.h.  Only what the providers publish in
 * their own help pages, and only the submission side: host, port, TLS
 * mode, and whether OAuth2 is the only way in.
 */
#include "providers.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static const struct providers_entry providers[] = {
	{ "AOL", "aol.com", NULL, "smtp.aol.com", 465, 1, NULL, 0,
	    "an app password from the account's security page" },
	{ "Fastmail", "fastmail.com fastmail.fm", "messagingengine.com",
	    "smtp.fastmail.com", 465, 1, NULL, 0,
	    "an app password from Settings, Privacy & Security" },
	{ "GMX", "gmx.net gmx.de gmx.at gmx.ch", NULL, "mail.gmx.net", 465, 1,
	    NULL, 0, "the account password; enable POP3/IMAP access first" },
	{ "GMX", "gmx.com", NULL, "mail.gmx.com", 465, 1, NULL, 0,
	    "the account password; enable POP3/IMAP access first" },
	{ "Google", "gmail.com googlemail.com", "google.com googlemail.com",
	    "smtp.gmail.com", 465, 1, "google", 0,
	    "an app password (needs 2-Step Verification), or OAuth2" },
	{ "iCloud", "icloud.com me.com mac.com", NULL, "smtp.mail.me.com", 587,
	    0, NULL, 0, "an app-specific password from the Apple Account" },
	{ "Mail.Ru", "mail.ru inbox.ru list.ru bk.ru", NULL, "smtp.mail.ru",
	    465, 1, NULL, 0, "a password for external applications" },
	{ "Microsoft 365", "", "mail.protection.outlook.com",
	    "smtp.office365.com", 587, 0, "microsoft", 1,
	    "OAuth2: password (Basic) authentication is switched off" },
	{ "Outlook.com", "outlook.com hotmail.com live.com msn.com", NULL,
	    "smtp-mail.outlook.com", 587, 0, "microsoft", 1,
	    "OAuth2: Outlook.com refuses passwords" },
	{ "web.de", "web.de", NULL, "smtp.web.de", 587, 0, NULL, 0,
	    "the account password; enable POP3/IMAP access first" },
	{ "Yahoo", "yahoo.com ymail.com rocketmail.com", "yahoodns.net",
	    "smtp.mail.yahoo.com", 465, 1, NULL, 0,
	    "an app password from the account's security page" },
	{ "Yandex", "yandex.ru ya.ru", NULL, "smtp.yandex.ru", 465, 1, NULL, 0,
	    "an app password from Yandex ID" },
	{ "Yandex", "yandex.com", NULL, "smtp.yandex.com", 465, 1, NULL, 0,
	    "an app password from Yandex ID" },
	{ "Zoho", "zoho.com zohomail.com", NULL, "smtp.zoho.com", 465, 1, NULL,
	    0, "an application-specific password when 2FA is on" },
	{ "Zoho", "zoho.eu zohomail.eu", NULL, "smtp.zoho.eu", 465, 1, NULL, 0,
	    "an application-specific password when 2FA is on" },
};

/* Whether name is one of the words of list (any case). */
static int
listed(const char *list, const char *name, int suffix)
{
	size_t n = strlen(name), w;

	while (*list != '\0') {
		w = strcspn(list, " ");
		if (w > 0) {
			if (w == n && strncasecmp(list, name, n) == 0)
				return 1;
			/* MX hosts: the suffix after a dot. */
			if (suffix && n > w && name[n - w - 1] == '.' &&
			    strncasecmp(name + n - w, list, w) == 0)
				return 1;
		}
		list += w;
		while (*list == ' ')
			list++;
	}
	return 0;
}

const struct providers_entry *
providers_find(const char *domain, const char *mx)
{
	size_t i, n = sizeof(providers) / sizeof(providers[0]);

	for (i = 0; i < n; i++)
		if (listed(providers[i].domains, domain, 0))
			return &providers[i];
	if (mx == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (providers[i].mx_suffix != NULL &&
		    listed(providers[i].mx_suffix, mx, 1))
			return &providers[i];
	return NULL;
}
