/*
 * dns.h: the DNS records --configure reads: SRV (RFC 6186, RFC 8314:
 * _submissions._tcp, then _submission._tcp) and MX (RFC 5321 5.1).
 */
#ifndef OUTBOX_DNS_H
#define OUTBOX_DNS_H

#include <arpa/nameser.h>

#include "error.h"

/* RFC 1035 2.3.4: a name is at most 255 octets, so 253 characters. */
#define DNS_NAME_MAX 253

/* One SRV record (RFC 2782). */
struct dns_srv {
	unsigned int priority;
	unsigned int weight;
	unsigned int port;
	char target[NS_MAXDNAME];
};

/* What one answer holds. */
enum dns_found {
	DNS_FOUND,   /* a usable record, chosen */
	DNS_NONE,    /* no record at all */
	DNS_REFUSED, /* only records saying "not offered here" */
	DNS_BAD,     /* the message is malformed */
};

/* The submission services, most preferred first. */
struct dns_service {
	const char *prefix;
	int implicit_tls;
};
extern const struct dns_service dns_services[2];

struct dns;

/* A resolver (res_ninit); NULL with err set. */
struct dns *dns_open(struct error *);
void dns_close(struct dns *);
/*
 * The best SRV record of the service at domain: 0 with *found set, or -1
 * with err set when the answer is unknown (SERVFAIL, timeout, malformed).
 */
int dns_srv(struct dns *, const struct dns_service *, const char *domain,
    struct dns_srv *, enum dns_found *found, struct error *);
/* The most preferred MX host of domain (without the trailing dot). */
int dns_mx(struct dns *, const char *domain, char *host, size_t cap,
    enum dns_found *found, struct error *);
/* A host name fit for a configuration file (letters, digits, - and _). */
int dns_is_hostname(const char *);

#endif
