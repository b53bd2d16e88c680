/*
 * configure.c: see configure.h.  The query goes through the resolver in
 * libc (res_nquery); the answer is parsed here with explicit bounds
 * checks, using only dn_skipname and dn_expand, which check every label
 * and compression pointer against the end of the message.
 */
#include "configure.h"

#include <sys/types.h>

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idn.h"
#include "log.h"

/* RFC 1035 2.3.4: a name is at most 255 octets, so 253 characters. */
#define CONFIGURE_NAME_MAX 253
/* The largest DNS message (RFC 1035 4.2.2: a 16-bit length over TCP). */
#define CONFIGURE_ANSWER_MAX 65536

/* One SRV record (RFC 2782). */
struct configure_srv {
	unsigned int priority;
	unsigned int weight;
	unsigned int port;
	char target[NS_MAXDNAME];
};

/* What one answer holds. */
enum configure_found {
	CONFIGURE_FOUND,   /* a usable record, chosen */
	CONFIGURE_NONE,	   /* no SRV record at all */
	CONFIGURE_REFUSED, /* only records saying "not offered here" */
	CONFIGURE_BAD,	   /* the message is malformed */
};

/* The services, most preferred first. */
struct configure_service {
	const char *prefix;
	const char *tls_starttls;
};

static const struct configure_service configure_services[] = {
	/*
	 * RFC 8314 3.3, 5.1: implicit TLS is preferred to STARTTLS, the
	 * RFC 6186 service.
	 */
	{ "_submissions._tcp", "off" },
	{ "_submission._tcp", "on" },
};

static unsigned int
get16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* A host name we are willing to write into a configuration file. */
static int
is_hostname(const char *s)
{
	size_t label = 0, n = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return n <= CONFIGURE_NAME_MAX;
}

/* RFC 2782: the lowest priority wins, then the highest weight. */
static int
srv_better(const struct configure_srv *a, const struct configure_srv *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->weight > b->weight;
}

/*
 * Choose a record from the answer section of msg.  Records of other types
 * (a CNAME on the way, say) are passed over.  RFC 2782: a target of "."
 * means the service is decidedly not available at this domain; such a
 * record, one with port 0, or one whose target is not a plain host name is
 * never chosen.
 */
static enum configure_found
srv_choose(const unsigned char *msg, size_t len, struct configure_srv *best)
{
	const unsigned char *p, *eom = msg + len;
	struct configure_srv cur;
	unsigned int qd, an, i, type, class, rdlen;
	int n, seen = 0, chosen = 0;

	if (len < NS_HFIXEDSZ)
		return CONFIGURE_BAD;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	p = msg + NS_HFIXEDSZ;
	for (i = 0; i < qd; i++) {
		if ((n = dn_skipname(p, eom)) < 0 || eom - p - n < NS_QFIXEDSZ)
			return CONFIGURE_BAD;
		p += n + NS_QFIXEDSZ;
	}
	for (i = 0; i < an; i++) {
		if ((n = dn_skipname(p, eom)) < 0 || eom - p - n < NS_RRFIXEDSZ)
			return CONFIGURE_BAD;
		p += n;
		type = get16(p);
		class = get16(p + 2);
		rdlen = get16(p + 8);
		p += NS_RRFIXEDSZ;
		if ((size_t)(eom - p) < rdlen)
			return CONFIGURE_BAD;
		if (type != ns_t_srv || class != ns_c_in) {
			p += rdlen;
			continue;
		}
		/* Priority, weight, port, and a name of at least one octet. */
		if (rdlen < 7)
			return CONFIGURE_BAD;
		cur.priority = get16(p);
		cur.weight = get16(p + 2);
		cur.port = get16(p + 4);
		n = dn_expand(msg, eom, p + 6, cur.target, sizeof(cur.target));
		if (n < 0 || (unsigned int)n != rdlen - 6)
			return CONFIGURE_BAD;
		p += rdlen;
		seen = 1;
		if (cur.target[0] == '\0' || strcmp(cur.target, ".") == 0 ||
		    cur.port == 0 || !is_hostname(cur.target))
			continue;
		if (!chosen || srv_better(&cur, best)) {
			*best = cur;
			chosen = 1;
		}
	}
	if (chosen)
		return CONFIGURE_FOUND;
	return seen ? CONFIGURE_REFUSED : CONFIGURE_NONE;
}

/*
 * The domain of an address: after the last '@', since a quoted local part
 * may hold one too.  Returns NULL, with err set, for an address we refuse.
 */
static const char *
address_domain(const char *address, struct error *err)
{
	const char *at, *s;
	size_t len;

	for (s = address; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			error_set(err, ERR_USAGE,
			    "address for --configure has a control character");
			return NULL;
		}
	len = strlen(address);
	if (len == 0 || address[0] == ' ' || address[len - 1] == ' ') {
		error_set(err, ERR_USAGE, "invalid address \"%s\"", address);
		return NULL;
	}
	if ((at = strrchr(address, '@')) == NULL || at == address ||
	    at[1] == '\0') {
		error_set(err, ERR_USAGE,
		    "invalid address \"%s\": need local-part@domain", address);
		return NULL;
	}
	return at + 1;
}

/* The domain in A-labels, one trailing dot removed, checked. */
static char *
ascii_domain(const char *domain, struct error *err)
{
	struct error e;
	char *ascii;
	size_t n;

	error_clear(&e);
	if ((ascii = idn_host_ascii(domain, &e)) == NULL) {
		if (e.kind == ERR_OSERR)
			*err = e;
		else
			error_set(err, ERR_USAGE, "%s", e.msg);
		return NULL;
	}
	n = strlen(ascii);
	if (n > 1 && ascii[n - 1] == '.')
		ascii[--n] = '\0';
	/* Room for the longest service prefix in a name of 253. */
	if (!is_hostname(ascii) ||
	    n + sizeof("_submissions._tcp.") - 1 > CONFIGURE_NAME_MAX) {
		error_set(err, ERR_USAGE, "invalid domain \"%s\"", domain);
		free(ascii);
		return NULL;
	}
	return ascii;
}

/*
 * RFC 6186 6: a target outside the address's domain is suspect unless the
 * answer was validated, and the target becomes the name the certificate
 * is checked against.  Case-insensitive: HOST equals DOMAIN or ends in
 * ".DOMAIN".
 */
static int
within_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (h == d)
		return strcasecmp(host, domain) == 0;
	return h > d && host[h - d - 1] == '.' &&
	    strcasecmp(host + h - d, domain) == 0;
}

static int
print_account(FILE *out, const char *address, const char *domain,
    const struct configure_service *svc, const struct configure_srv *srv,
    struct error *err)
{
	char host[NS_MAXDNAME];
	size_t n;

	/* The host without the trailing dot of an absolute name. */
	n = strlen(srv->target);
	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, srv->target, n);
	host[n] = '\0';
	if (n > 1 && host[n - 1] == '.')
		host[n - 1] = '\0';
	fprintf(out, "# outbox configuration for %s, found in DNS:\n", address);
	fprintf(out, "# %s.%s SRV %u %u %u %s.\n", svc->prefix, domain,
	    srv->priority, srv->weight, srv->port, host);
	if (!within_domain(host, domain)) {
		log_warn("the server %s that DNS names for %s is outside that "
			 "domain; the certificate is checked against %s, so "
			 "make sure your provider really uses it (RFC 6186 "
			 "section 6)",
		    host, domain, host);
		fprintf(out,
		    "# WARNING: %s is outside %s (RFC 6186 section 6): check "
		    "that your\n# provider really uses this server before "
		    "trusting it with your password.\n",
		    host, domain);
	}
	fprintf(out, "account %s\n", domain);
	fprintf(out, "host %s\n", host);
	fprintf(out, "port %u\n", srv->port);
	fprintf(out, "tls on\n");
	fprintf(out, "tls_starttls %s\n", svc->tls_starttls);
	fprintf(out, "auth on\n");
	fprintf(out, "user %s\n", address);
	fprintf(out, "from %s\n", address);
	fprintf(out,
	    "# add: password, or better passwordeval, "
	    "and chmod 600 this file\n");
	if (fflush(out) == EOF || ferror(out))
		return error_set(err, ERR_IO, "cannot write the configuration");
	return 0;
}

/*
 * Ask for one service.  Returns 0 with *found set, or -1 with err set for
 * a failure that leaves the answer unknown.
 */
static int
query_service(res_state rs, const char *qname, unsigned char *buf,
    struct configure_srv *srv, enum configure_found *found, struct error *err)
{
	int n;

	n = res_nquery(rs, qname, ns_c_in, ns_t_srv, buf, CONFIGURE_ANSWER_MAX);
	if (n < 0) {
		switch (rs->res_h_errno) {
		case HOST_NOT_FOUND: /* NXDOMAIN */
		case NO_DATA:	     /* the name exists, without SRV */
			*found = CONFIGURE_NONE;
			return 0;
		case NO_RECOVERY:
			return error_set(err, ERR_NOHOST,
			    "DNS lookup of %s failed: %s", qname,
			    hstrerror(rs->res_h_errno));
		default: /* TRY_AGAIN: SERVFAIL or timeout; no server */
			return error_set(err, ERR_TEMP,
			    "DNS lookup of %s failed: %s", qname,
			    hstrerror(rs->res_h_errno));
		}
	}
	if (n > CONFIGURE_ANSWER_MAX)
		n = CONFIGURE_ANSWER_MAX;
	*found = srv_choose(buf, (size_t)n, srv);
	if (*found == CONFIGURE_BAD)
		return error_set(err, ERR_PROTOCOL,
		    "malformed DNS answer for %s", qname);
	return 0;
}

int
configure_print(const char *address, FILE *out, struct error *err)
{
	struct __res_state rs;
	struct configure_srv srv;
	enum configure_found found = CONFIGURE_NONE;
	const struct configure_service *svc;
	const char *domain;
	char *ascii = NULL, qname[NS_MAXDNAME];
	unsigned char *buf = NULL;
	int refused = 0, rc = -1;
	size_t i;

	if ((domain = address_domain(address, err)) == NULL)
		return -1;
	if ((ascii = ascii_domain(domain, err)) == NULL)
		return -1;
	if ((buf = malloc(CONFIGURE_ANSWER_MAX)) == NULL) {
		free(ascii);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	memset(&rs, 0, sizeof(rs));
	memset(&srv, 0, sizeof(srv));
	if (res_ninit(&rs) == -1) {
		free(buf);
		free(ascii);
		return error_set(err, ERR_OSERR, "cannot set up the resolver");
	}
	for (i = 0;
	     i < sizeof(configure_services) / sizeof(configure_services[0]);
	     i++) {
		svc = &configure_services[i];
		snprintf(qname, sizeof(qname), "%s.%s", svc->prefix, ascii);
		if (query_service(&rs, qname, buf, &srv, &found, err) == -1)
			goto done;
		if (found == CONFIGURE_FOUND) {
			rc = print_account(out, address, ascii, svc, &srv, err);
			goto done;
		}
		if (found == CONFIGURE_REFUSED)
			refused = 1;
	}
	if (refused)
		error_set(err, ERR_NOHOST,
		    "no submission service offered for %s "
		    "(its SRV records say none is available)",
		    ascii);
	else
		error_set(err, ERR_NOHOST, "no submission service found for %s",
		    ascii);
done:
	res_nclose(&rs);
	free(buf);
	free(ascii);
	return rc;
}
