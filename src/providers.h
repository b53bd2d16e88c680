/*
 * providers.h: the built-in table of the largest mail providers'
 * submission servers, the last step of --configure, for domains that
 * publish neither an autoconfig document nor SRV records.
 */
#ifndef OUTBOX_PROVIDERS_H
#define OUTBOX_PROVIDERS_H

struct providers_entry {
	const char *name;      /* for the comment */
	const char *domains;   /* the mail domains, separated by spaces */
	const char *mx_suffix; /* MX hosts that identify it, or NULL */
	const char *host;
	unsigned int port;
	int implicit_tls;    /* 465; else STARTTLS */
	const char *oauth2;  /* outbox-auth's provider, or NULL */
	int oauth2_required; /* passwords are refused */
	const char *note;    /* what the password must be */
};

/*
 * The entry for domain (in A-labels, any case), else the one whose MX
 * suffix mx (the domain's MX host, or NULL) ends with; NULL if none.
 */
const struct providers_entry *providers_find(const char *domain,
    const char *mx);

#endif
