/*
 * configure.c: see configure.h.  The lookup order of mail clients and
 * the IETF mailmaint autoconfig draft: the domain's autoconfig document
 * (two places, HTTPS only), the same for the domain of its MX host, its
 * SRV records (RFC 6186, RFC 8314), then the table of providers.  The
 * HTTPS and XML are outbox-auth's (`outbox-auth autoconfig URL'), the DNS
 * is dns.c's; this file decides the order and writes the account.
 */
#include "configure.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "conf_append.h"
#include "dns.h"
#include "idn.h"
#include "log.h"
#include "oauth.h"
#include "providers.h"

/* What one step found. */
struct found {
	char host[NS_MAXDNAME];
	unsigned int port;
	int implicit_tls;
	int auth_off;	    /* the server wants no authentication */
	int password;	    /* it takes a password */
	const char *oauth2; /* outbox-auth's provider, or NULL */
	int oauth2_only;    /* and passwords are refused */
	char issuer[256];   /* an OAuth2 issuer outbox has no name for */
	char user[512];	    /* "" : the address */
	char where[8192];   /* the comment lines saying where */
	const char *note;   /* about the password, or NULL */
};

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
	if (!dns_is_hostname(ascii) ||
	    n + sizeof("_submissions._tcp.") - 1 > DNS_NAME_MAX) {
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

/* The setting a command-line option gave (--passwordeval=...), or NULL. */
static const char *
given(const struct cli *c, const char *name)
{
	const char *v = NULL;

	for (int i = 0; i < c->nov; i++)
		if (strcmp(c->ov[i].name, name) == 0)
			v = c->ov[i].value;
	return v != NULL && *v != '\0' ? v : NULL;
}

/* The address as a URL query value (RFC 3986 2.3: unreserved kept). */
static void
url_encode(char *dst, size_t cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s != '\0' && n + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			dst[n++] = (char)ch;
		} else {
			dst[n++] = '%';
			dst[n++] = hex[ch >> 4];
			dst[n++] = hex[ch & 15];
		}
	}
	dst[n] = '\0';
}

/* outbox-auth's -v lines, without the "outbox: " it starts them with. */
static void
trace_line(void *arg, const char *line)
{
	(void)arg;
	if (strncmp(line, "outbox: ", 8) == 0)
		line += 8;
	log_info("%s", line);
}

/* The outbox-auth provider for an OAuth2 issuer, or NULL. */
static const char *
issuer_provider(const char *issuer)
{
	if (strcasecmp(issuer, "accounts.google.com") == 0)
		return "google";
	if (strcasecmp(issuer, "login.microsoftonline.com") == 0)
		return "microsoft";
	return NULL;
}

/*
 * A value written into the file as it is: no white space, quote,
 * backslash, comment sign or control character (a user name with one of
 * those is left out, and the address is used).
 */
static int
plain_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '"' ||
		    *s == '\\' || *s == '#' || *s == '\'')
			return 0;
	return 1;
}

/* Fill f from outbox-auth's answer; -1 if it makes no sense. */
static int
from_reply(const struct oauth_reply *r, struct found *f)
{
	char *host = oauth_value_dup(r, "host"),
	     *port = oauth_value_dup(r, "port"),
	     *sock = oauth_value_dup(r, "socket"),
	     *auth = oauth_value_dup(r, "auth"),
	     *user = oauth_value_dup(r, "user"),
	     *issuer = oauth_value_dup(r, "oauth2_issuer");
	char *end;
	unsigned long p = 0;
	int rc = -1;

	if (host == NULL || port == NULL || sock == NULL || auth == NULL ||
	    !dns_is_hostname(host) || strlen(host) >= sizeof(f->host))
		goto done;
	p = strtoul(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p == 0 || p > 65535)
		goto done;
	snprintf(f->host, sizeof(f->host), "%s", host);
	f->port = (unsigned int)p;
	f->implicit_tls = strcmp(sock, "SSL") == 0;
	f->password = strstr(auth, "password") != NULL ||
	    strstr(auth, "encrypted") != NULL || *auth == '\0';
	if (strstr(auth, "oauth2") != NULL) {
		const char *prov = issuer ? issuer_provider(issuer) : NULL;

		f->oauth2 = prov != NULL ? prov : "discover";
		f->oauth2_only = !f->password;
		if (prov == NULL && issuer != NULL && dns_is_hostname(issuer) &&
		    strlen(issuer) < sizeof(f->issuer))
			snprintf(f->issuer, sizeof(f->issuer), "%s", issuer);
	}
	f->auth_off = !f->password && f->oauth2 == NULL &&
	    strstr(auth, "none") != NULL;
	if (user != NULL && plain_word(user) && strlen(user) < sizeof(f->user))
		snprintf(f->user, sizeof(f->user), "%s", user);
	rc = 0;
done:
	free(host);
	free(port);
	free(sock);
	free(auth);
	free(user);
	free(issuer);
	return rc;
}

/*
 * Steps 1 and 2 for domain: the autoconfig document at its two places.
 * 1 when found (f filled), 0 when not (a -v note says why).
 */
static int
try_autoconfig(const struct cli *c, const char *address, const char *domain,
    const char *why, struct found *f)
{
	struct oauth_opts o = { 0 };
	struct oauth_reply r;
	struct error e;
	char enc[3 * 320 + 1], url[2 * NS_MAXDNAME + 1024], req[2048];
	const char *trust = given(c, "tls_trust_file");

	url_encode(enc, sizeof(enc), address);
	snprintf(req, sizeof(req), "user=%s\n%s%s%s%s", address,
	    trust ? "trust_file=" : "", trust ? trust : "", trust ? "\n" : "",
	    log_verbose() ? "verbose=1\n" : "");
	o.verbose = log_verbose();
	o.on_line = log_verbose() ? trace_line : NULL;
	for (int step = 0; step < 2; step++) {
		if (step == 0)
			snprintf(url, sizeof(url),
			    "https://autoconfig.%s/mail/config-v1.1.xml"
			    "?emailaddress=%s",
			    domain, enc);
		else
			snprintf(url, sizeof(url),
			    "https://%s/.well-known/autoconfig/mail/"
			    "config-v1.1.xml",
			    domain);
		error_clear(&e);
		log_info("autoconfig: trying %s", url);
		if (oauth_run_plain("autoconfig", url, req, &o, &r, &e) == -1) {
			log_info("autoconfig: not used: %s", e.msg);
			continue;
		}
		if (from_reply(&r, f) == -1) {
			oauth_reply_free(&r);
			log_info("autoconfig: not used: %s: outbox-auth's "
				 "answer makes no sense",
			    url);
			continue;
		}
		oauth_reply_free(&r);
		snprintf(f->where, sizeof(f->where),
		    "found by autoconfig%s%s (HTTPS):\n# %s\n%s",
		    why ? " " : "", why ? why : "", url,
		    why ?
			"# (DNS answers are not authenticated: make sure your "
			"provider really\n# uses this server)\n" :
			"");
		return 1;
	}
	return 0;
}

/*
 * The domains of an MX host, as clients try them: the name after its
 * first label (mx1.mail.example.net: mail.example.net), then its
 * registrable part (example.net; three labels under a two-letter
 * country domain whose second level is a generic one, as co.uk).
 */
static int
mx_domains(const char *mx, char out[2][NS_MAXDNAME])
{
	static const char *const second[] = { "ac", "co", "com", "edu", "gov",
		"ne", "net", "or", "org" };
	const char *labels[128], *p = mx;
	size_t n = 0, keep = 2, len;
	int count = 0;

	labels[n++] = p;
	while ((p = strchr(p, '.')) != NULL && n < 128)
		labels[n++] = ++p;
	if (n >= 3 && strlen(labels[n - 1]) == 2) {
		len = (size_t)(labels[n - 1] - labels[n - 2] - 1);
		for (size_t i = 0; i < sizeof(second) / sizeof(second[0]); i++)
			if (strlen(second[i]) == len &&
			    strncasecmp(labels[n - 2], second[i], len) == 0)
				keep = 3;
	}
	/* Never a public suffix alone (co.uk), never a top-level domain. */
	if (n >= 3 && n - 1 >= keep)
		snprintf(out[count++], NS_MAXDNAME, "%s", labels[1]);
	if (n >= keep &&
	    (count == 0 || strcasecmp(out[0], labels[n - keep]) != 0))
		snprintf(out[count++], NS_MAXDNAME, "%s", labels[n - keep]);
	return count;
}

/* f from the SRV record chosen for svc at domain. */
static void
srv_found(const struct dns_service *svc, const char *domain,
    const struct dns_srv *srv, struct found *f)
{
	size_t n;

	/* The host without the trailing dot of an absolute name. */
	snprintf(f->host, sizeof(f->host), "%s", srv->target);
	n = strlen(f->host);
	if (n > 1 && f->host[n - 1] == '.')
		f->host[n - 1] = '\0';
	f->port = srv->port;
	f->implicit_tls = svc->implicit_tls;
	f->password = 1;
	snprintf(f->where, sizeof(f->where),
	    "found in DNS:\n# %s.%s SRV %u %u %u %s.\n", svc->prefix, domain,
	    srv->priority, srv->weight, srv->port, f->host);
	if (!within_domain(f->host, domain)) {
		log_warn("the server %s that DNS names for %s is outside that "
			 "domain; the certificate is checked against %s, so "
			 "make sure your provider really uses it (RFC 6186 "
			 "section 6)",
		    f->host, domain, f->host);
		n = strlen(f->where);
		snprintf(f->where + n, sizeof(f->where) - n,
		    "# WARNING: %s is outside %s (RFC 6186 section 6): check "
		    "that your\n# provider really uses this server before "
		    "trusting it with your password.\n",
		    f->host, domain);
	}
}

/* Step 4: the SRV records.  1 found, 0 not, -1 on a DNS failure. */
static int
try_srv(struct dns *d, const char *domain, struct found *f, int *refused,
    struct error *err)
{
	struct dns_srv srv;
	enum dns_found found;

	for (size_t i = 0; i < 2; i++) {
		memset(&srv, 0, sizeof(srv));
		if (dns_srv(d, &dns_services[i], domain, &srv, &found, err) ==
		    -1)
			return -1;
		if (found == DNS_REFUSED)
			*refused = 1;
		if (found == DNS_FOUND) {
			srv_found(&dns_services[i], domain, &srv, f);
			return 1;
		}
	}
	return 0;
}

/* Step 5: the table. */
static int
try_table(const char *domain, const char *mx, struct found *f)
{
	const struct providers_entry *p = providers_find(domain, mx);

	if (p == NULL)
		return 0;
	snprintf(f->host, sizeof(f->host), "%s", p->host);
	f->port = p->port;
	f->implicit_tls = p->implicit_tls;
	f->password = !p->oauth2_required;
	f->oauth2 = p->oauth2;
	f->oauth2_only = p->oauth2_required;
	f->note = p->note;
	if (mx != NULL && providers_find(domain, NULL) == NULL)
		snprintf(f->where, sizeof(f->where),
		    "found in outbox's table of providers\n# (%s, by the MX "
		    "host %s):\n",
		    p->name, mx);
	else
		snprintf(f->where, sizeof(f->where),
		    "found in outbox's table of providers (%s):\n", p->name);
	return 1;
}

/* The account's text, as printed and as appended by --write. */
static void
put_account(FILE *out, const struct cli *c, const char *address,
    const char *name, const struct found *f)
{
	const char *pwe = given(c, "passwordeval");
	const char *trust = given(c, "tls_trust_file");

	fprintf(out, "# outbox configuration for %s, %s", address, f->where);
	fprintf(out, "account %s\n", name);
	fprintf(out, "host %s\n", f->host);
	fprintf(out, "port %u\n", f->port);
	fprintf(out, "tls on\n");
	fprintf(out, "tls_starttls %s\n", f->implicit_tls ? "off" : "on");
	if (trust != NULL)
		fprintf(out, "tls_trust_file %s\n", trust);
	fprintf(out, "auth %s\n", f->auth_off ? "off" : "on");
	if (!f->auth_off)
		fprintf(out, "user %s\n", f->user[0] ? f->user : address);
	fprintf(out, "from %s\n", address);
	if (f->note != NULL)
		fprintf(out, "# the password: %s\n", f->note);
	if (f->oauth2 != NULL && f->oauth2_only) {
		fprintf(out, "oauth2_provider %s\n", f->oauth2);
		if (f->issuer[0] != '\0')
			fprintf(out,
			    "# the OAuth2 issuer is %s: set "
			    "oauth2_issuer to its https:// URL\n",
			    f->issuer);
		fprintf(out,
		    "# next: set oauth2_client_id (outbox ships "
		    "none), then run\n# outbox --authorize -a %s\n",
		    name);
		return;
	}
	if (f->oauth2 != NULL)
		fprintf(out,
		    "# or OAuth2: oauth2_provider %s, "
		    "oauth2_client_id, then outbox --authorize\n",
		    f->oauth2);
	if (f->auth_off)
		return;
	if (pwe != NULL)
		fprintf(out, "passwordeval %s\n", pwe);
	else
		fprintf(out,
		    "# add: password, or better passwordeval, "
		    "and chmod 600 this file\n");
}

/* Look the address up, step by step: 1 found, 0 nothing, -1 failure. */
static int
lookup(const struct cli *c, const char *address, const char *domain,
    struct found *f, struct error *err)
{
	char mx[NS_MAXDNAME] = "", cand[2][NS_MAXDNAME], why[NS_MAXDNAME * 4];
	enum dns_found found = DNS_NONE;
	struct error dnserr;
	struct dns *d;
	int n, refused = 0, rc;

	if (try_autoconfig(c, address, domain, NULL, f))
		return 1;
	if ((d = dns_open(err)) == NULL)
		return -1;
	error_clear(&dnserr);
	if (dns_mx(d, domain, mx, sizeof(mx), &found, &dnserr) == -1)
		log_info("MX: %s", dnserr.msg);
	if (found != DNS_FOUND)
		mx[0] = '\0';
	else {
		log_info("MX of %s: %s", domain, mx);
		n = mx_domains(mx, cand);
		for (int i = 0; i < n; i++) {
			if (strcasecmp(cand[i], domain) == 0)
				continue;
			snprintf(why, sizeof(why),
			    "for %s, the domain of\n# %s's MX host %s", cand[i],
			    domain, mx);
			if (try_autoconfig(c, address, cand[i], why, f)) {
				dns_close(d);
				return 1;
			}
		}
	}
	rc = try_srv(d, domain, f, &refused, err);
	dns_close(d);
	if (rc == 1)
		return 1;
	if (try_table(domain, mx[0] ? mx : NULL, f))
		return 1;
	/* A DNS failure (SERVFAIL, timeout) is what to report. */
	if (rc == -1)
		return -1;
	if (refused)
		error_set(err, ERR_NOHOST,
		    "no submission service offered for %s "
		    "(its SRV records say none is available)",
		    domain);
	else
		error_set(err, ERR_NOHOST, "no submission service found for %s",
		    domain);
	return 0;
}

/*
 * --write: append the account, then, when it has a password source, log
 * in with it as --check does.
 */
static int
write_and_check(const struct cli *c, const char *name, const char *text,
    FILE *out, struct error *err)
{
	struct cli check;
	char *path = NULL;
	int rc;

	if (conf_append_account(c->conffile, name, text, c->configure_yes,
		&path, err) == -1)
		return -1;
	fprintf(out, "# appended account %s to %s\n", name, path);
	if (given(c, "passwordeval") == NULL) {
		free(path);
		return 0;
	}
	fprintf(out, "# checking it: outbox --check -C %s -a %s\n", path, name);
	fflush(out);
	check = *c;
	check.mode = CLI_CHECK;
	check.conffile = path;
	check.account = name;
	check.nov = 0;
	check.host_given = 0;
	rc = check_run(&check, out, err);
	free(path);
	return rc;
}

int
configure_run(const struct cli *c, FILE *out, struct error *err)
{
	struct found f;
	const char *domain, *name;
	char *ascii, *text = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	if ((domain = address_domain(c->configure, err)) == NULL)
		return -1;
	if ((ascii = ascii_domain(domain, err)) == NULL)
		return -1;
	memset(&f, 0, sizeof(f));
	rc = lookup(c, c->configure, ascii, &f, err);
	if (rc != 1) {
		free(ascii);
		return -1;
	}
	name = c->account != NULL ? c->account : ascii;
	if ((mem = open_memstream(&text, &len)) == NULL) {
		free(ascii);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	put_account(mem, c, c->configure, name, &f);
	if (fclose(mem) == EOF) {
		free(text);
		free(ascii);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	fputs(text, out);
	if (fflush(out) == EOF || ferror(out))
		rc = error_set(err, ERR_IO, "cannot write the configuration");
	else if (c->configure_write)
		rc = write_and_check(c, name, text, out, err);
	else
		rc = 0;
	free(text);
	free(ascii);
	return rc;
}
