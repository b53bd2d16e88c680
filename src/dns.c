/*
 * dns.c: see dns.h.  The query goes through the resolver in libc
 * (res_nquery); the answer is parsed here with explicit bounds checks,
 * using only dn_skipname and dn_expand, which check every label and
 * compression pointer against the end of the message.
 */
#include "dns.h"

#include <sys/types.h>

#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest DNS message (RFC 1035 4.2.2: a 16-bit length over TCP). */
#define DNS_ANSWER_MAX 65536

const struct dns_service dns_services[2] = {
	/*
	 * RFC 8314 3.3, 5.1: implicit TLS is preferred to STARTTLS, the
	 * RFC 6186 service.
	 */
	{ "_submissions._tcp", 1 },
	{ "_submission._tcp", 0 },
};

struct dns {
	struct __res_state rs;
	unsigned char buf[DNS_ANSWER_MAX];
};

static unsigned int
get16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

int
dns_is_hostname(const char *s)
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
	return n <= DNS_NAME_MAX;
}

/* RFC 2782: the lowest priority wins, then the highest weight. */
static int
srv_better(const struct dns_srv *a, const struct dns_srv *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->weight > b->weight;
}

/* One answer record of the type asked for, handed to a chooser. */
typedef int record_fn(const unsigned char *msg, const unsigned char *eom,
    const unsigned char *rdata, unsigned int rdlen, void *arg);

/*
 * Walk the answer section of msg; records of other types (a CNAME on the
 * way, say) are passed over.  Returns DNS_BAD for a malformed message,
 * else DNS_NONE when no record of the type was there, else DNS_FOUND
 * (the chooser decides what it keeps).
 */
static enum dns_found
walk(const unsigned char *msg, size_t len, unsigned int want, record_fn *fn,
    void *arg)
{
	const unsigned char *p, *eom = msg + len;
	unsigned int qd, an, i, type, class, rdlen;
	int n, seen = 0;

	if (len < NS_HFIXEDSZ)
		return DNS_BAD;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	p = msg + NS_HFIXEDSZ;
	for (i = 0; i < qd; i++) {
		if ((n = dn_skipname(p, eom)) < 0 || eom - p - n < NS_QFIXEDSZ)
			return DNS_BAD;
		p += n + NS_QFIXEDSZ;
	}
	for (i = 0; i < an; i++) {
		if ((n = dn_skipname(p, eom)) < 0 || eom - p - n < NS_RRFIXEDSZ)
			return DNS_BAD;
		p += n;
		type = get16(p);
		class = get16(p + 2);
		rdlen = get16(p + 8);
		p += NS_RRFIXEDSZ;
		if ((size_t)(eom - p) < rdlen)
			return DNS_BAD;
		if (type == want && class == ns_c_in) {
			if (fn(msg, eom, p, rdlen, arg) == -1)
				return DNS_BAD;
			seen = 1;
		}
		p += rdlen;
	}
	return seen ? DNS_FOUND : DNS_NONE;
}

struct srv_pick {
	struct dns_srv *best;
	int chosen;
};

/*
 * RFC 2782: a target of "." means the service is decidedly not available
 * at this domain; such a record, one with port 0, or one whose target is
 * not a plain host name is never chosen.
 */
static int
srv_record(const unsigned char *msg, const unsigned char *eom,
    const unsigned char *p, unsigned int rdlen, void *arg)
{
	struct srv_pick *pick = arg;
	struct dns_srv cur;
	int n;

	/* Priority, weight, port, and a name of at least one octet. */
	if (rdlen < 7)
		return -1;
	cur.priority = get16(p);
	cur.weight = get16(p + 2);
	cur.port = get16(p + 4);
	n = dn_expand(msg, eom, p + 6, cur.target, sizeof(cur.target));
	if (n < 0 || (unsigned int)n != rdlen - 6)
		return -1;
	if (cur.target[0] == '\0' || strcmp(cur.target, ".") == 0 ||
	    cur.port == 0 || !dns_is_hostname(cur.target))
		return 0;
	if (!pick->chosen || srv_better(&cur, pick->best)) {
		*pick->best = cur;
		pick->chosen = 1;
	}
	return 0;
}

static enum dns_found
srv_choose(const unsigned char *msg, size_t len, struct dns_srv *best)
{
	struct srv_pick pick = { best, 0 };
	enum dns_found f = walk(msg, len, ns_t_srv, srv_record, &pick);

	if (f == DNS_FOUND && !pick.chosen)
		return DNS_REFUSED;
	return f;
}

struct mx_pick {
	char *host;
	size_t cap;
	unsigned int pref;
	int chosen;
};

/* RFC 5321 5.1: the lowest preference first; RFC 7505: "." is null MX. */
static int
mx_record(const unsigned char *msg, const unsigned char *eom,
    const unsigned char *p, unsigned int rdlen, void *arg)
{
	struct mx_pick *pick = arg;
	char name[NS_MAXDNAME];
	unsigned int pref;
	int n;

	if (rdlen < 3)
		return -1;
	pref = get16(p);
	n = dn_expand(msg, eom, p + 2, name, sizeof(name));
	if (n < 0 || (unsigned int)n != rdlen - 2)
		return -1;
	if (name[0] == '\0' || strcmp(name, ".") == 0 ||
	    !dns_is_hostname(name) || strlen(name) >= pick->cap)
		return 0;
	if (!pick->chosen || pref < pick->pref) {
		snprintf(pick->host, pick->cap, "%s", name);
		pick->pref = pref;
		pick->chosen = 1;
	}
	return 0;
}

static enum dns_found
mx_choose(const unsigned char *msg, size_t len, char *host, size_t cap)
{
	struct mx_pick pick = { host, cap, 0, 0 };
	enum dns_found f = walk(msg, len, ns_t_mx, mx_record, &pick);

	if (f == DNS_FOUND && !pick.chosen)
		return DNS_REFUSED;
	return f;
}

struct dns *
dns_open(struct error *err)
{
	struct dns *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	if (res_ninit(&d->rs) == -1) {
		free(d);
		error_set(err, ERR_OSERR, "cannot set up the resolver");
		return NULL;
	}
	return d;
}

void
dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	res_nclose(&d->rs);
	free(d);
}

/* Ask; the answer's length, 0 for "no such record", -1 with err set. */
static int
query(struct dns *d, const char *qname, int type, struct error *err)
{
	int n = res_nquery(&d->rs, qname, ns_c_in, type, d->buf,
	    DNS_ANSWER_MAX);

	if (n >= 0)
		return n > DNS_ANSWER_MAX ? DNS_ANSWER_MAX : n;
	switch (d->rs.res_h_errno) {
	case HOST_NOT_FOUND: /* NXDOMAIN */
	case NO_DATA:	     /* the name exists, without that type */
		return 0;
	case NO_RECOVERY:
		return error_set(err, ERR_NOHOST, "DNS lookup of %s failed: %s",
		    qname, hstrerror(d->rs.res_h_errno));
	default: /* TRY_AGAIN: SERVFAIL or timeout; no server */
		return error_set(err, ERR_TEMP, "DNS lookup of %s failed: %s",
		    qname, hstrerror(d->rs.res_h_errno));
	}
}

int
dns_srv(struct dns *d, const struct dns_service *svc, const char *domain,
    struct dns_srv *srv, enum dns_found *found, struct error *err)
{
	char qname[NS_MAXDNAME];
	int n;

	snprintf(qname, sizeof(qname), "%s.%s", svc->prefix, domain);
	if ((n = query(d, qname, ns_t_srv, err)) == -1)
		return -1;
	*found = n == 0 ? DNS_NONE : srv_choose(d->buf, (size_t)n, srv);
	if (*found == DNS_BAD)
		return error_set(err, ERR_PROTOCOL,
		    "malformed DNS answer for %s", qname);
	return 0;
}

int
dns_mx(struct dns *d, const char *domain, char *host, size_t cap,
    enum dns_found *found, struct error *err)
{
	size_t len;
	int n;

	if ((n = query(d, domain, ns_t_mx, err)) == -1)
		return -1;
	*found = n == 0 ? DNS_NONE : mx_choose(d->buf, (size_t)n, host, cap);
	if (*found == DNS_BAD)
		return error_set(err, ERR_PROTOCOL,
		    "malformed DNS answer for %s MX", domain);
	if (*found == DNS_FOUND) {
		len = strlen(host);
		if (len > 1 && host[len - 1] == '.')
			host[len - 1] = '\0';
	}
	return 0;
}
