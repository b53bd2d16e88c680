/* tls.c: everything GnuTLS: trust, verification, pinning, records. */
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The most plaintext a TLS record holds (RFC 8446 5.1, RFC 5246 6.2.1). */
#define RECORD_MAX 16384

struct tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	/* The token's PIN, and what became of asking for it. */
	const char *pin;
	int pin_asked;	 /* the token wanted a PIN */
	int pin_wrong;	 /* and refused the one given */
	char token[128]; /* its label, for messages */
	int pushing;	 /* push below is installed */
	int more;	 /* another record of this write follows */
};

/*
 * GnuTLS pushes each record on its own, and the socket has TCP_NODELAY:
 * one segment (and, on loopback, one trip through the receiving stack)
 * per 16 KiB record.  Every record of a write but the last goes with
 * MSG_MORE, so that TCP fills its segments; the last one pushes them.
 * giovec_t is laid out as struct iovec (GnuTLS's own push casts it so).
 */
static ssize_t
push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct transport *t = ptr;
	struct tls *s = t->ctx;
	struct msghdr mh;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = (struct iovec *)(uintptr_t)iov;
	mh.msg_iovlen = (size_t)iovcnt;
	r = sendmsg(t->fd, &mh, MSG_NOSIGNAL | (s->more ? MSG_MORE : 0));
	if (r == -1)
		gnutls_transport_set_errno(s->session, errno);
	return r;
}

static int
want(struct transport *t)
{
	struct tls *s = t->ctx;

	return gnutls_record_get_direction(s->session) ? POLLOUT : POLLIN;
}

static ssize_t
tls_read(struct transport *t, void *p, size_t n, int64_t deadline,
    struct error *err)
{
	struct tls *s = t->ctx;
	ssize_t r;

	for (;;) {
		r = gnutls_record_recv(s->session, p, n);
		if (r >= 0)
			return r;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (transport_fd_wait(t->fd, want(t), deadline,
				"waiting for the server", err) == -1)
				return -1;
			continue;
		}
		/* A peer that closes without close_notify has still closed. */
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		/*
		 * A fatal alert is the server refusing this session (TLS 1.3
		 * says so after the handshake, e.g. for a missing client
		 * certificate): trying again later will not help.
		 */
		if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
			return error_set(err, ERR_PROTOCOL,
			    "the server ended TLS with the alert \"%s\"",
			    gnutls_alert_get_name(
				gnutls_alert_get(s->session)));
		if (!gnutls_error_is_fatal((int)r))
			continue;
		return error_set(err, ERR_TEMP, "TLS read error: %s",
		    gnutls_strerror((int)r));
	}
}

static int
send_records(struct transport *t, const char *c, size_t n, int64_t deadline,
    struct error *err)
{
	struct tls *s = t->ctx;
	ssize_t r;

	while (n > 0) {
		/*
		 * Sends one full record at most; the rest loops.  More than
		 * the largest record there is cannot all go in this one.
		 */
		s->more = n > RECORD_MAX;
		r = gnutls_record_send(s->session, c, n);
		if (r > 0) {
			c += r;
			n -= (size_t)r;
			continue;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (transport_fd_wait(t->fd, want(t), deadline,
				"sending to the server", err) == -1)
				return -1;
			continue;
		}
		return error_set(err, ERR_TEMP, "TLS write error: %s",
		    gnutls_strerror((int)r));
	}
	return 0;
}

static int
tls_write(struct transport *t, const void *p, size_t n, int64_t deadline,
    struct error *err)
{
	struct tls *s = t->ctx;
	int r;

	/*
	 * Installed with the first write of several records, so that a
	 * session of commands and a short message runs as GnuTLS's own.
	 * GnuTLS's pull goes on reading the socket through recv_ptr.
	 */
	if (n > RECORD_MAX && !s->pushing) {
		gnutls_transport_set_ptr2(s->session,
		    (gnutls_transport_ptr_t)(intptr_t)t->fd, t);
		gnutls_transport_set_vec_push_function(s->session, push);
		s->pushing = 1;
	}
	r = send_records(t, p, n, deadline, err);
	/* However the write ends, nothing after it waits for more. */
	s->more = 0;
	return r;
}

static size_t
tls_pending(struct transport *t)
{
	struct tls *s = t->ctx;

	return gnutls_record_check_pending(s->session);
}

static void
tls_free(struct tls *s)
{
	if (s->session != NULL)
		gnutls_deinit(s->session);
	if (s->cred != NULL)
		gnutls_certificate_free_credentials(s->cred);
	free(s);
}

static void
tls_close(struct transport *t)
{
	struct tls *s = t->ctx;

	/* One try at close_notify; a non-blocking socket will not wait. */
	gnutls_bye(s->session, GNUTLS_SHUT_WR);
	tls_free(s);
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

static const struct transport_ops tls_ops = {
	tls_read,
	tls_write,
	tls_pending,
	tls_close,
	"tls",
};

int
tls_is(struct transport *t)
{
	return t->ops == &tls_ops;
}

/* Parse "AB:CD:..." (colons optional) into bytes; the length tells the hash. */
static int
parse_fingerprint(const char *s, unsigned char *out, size_t *len)
{
	size_t n = 0;
	unsigned int v;

	while (*s != '\0') {
		if (*s == ':') {
			s++;
			continue;
		}
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]) || n == 64)
			return -1;
		if (sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (unsigned char)v;
		s += 2;
	}
	if (n != 32 && n != 20 && n != 16)
		return -1;
	*len = n;
	return 0;
}

/* RFC 7512: a PKCS#11 URI, which names an object on a token, not a file. */
static int
is_token_uri(const char *v)
{
	return v != NULL && strncasecmp(v, "pkcs11:", 7) == 0;
}

int
tls_uses_token(const struct tls_conf *c)
{
	return is_token_uri(c->cert_file) || is_token_uri(c->key_file);
}

static int
readable(const char *what, const char *path, struct error *err)
{
	if (is_token_uri(path))
		return 0;
	if (access(path, R_OK) == -1)
		return error_set(err, ERR_NOINPUT, "cannot read %s %s: %s",
		    what, path, strerror(errno));
	return 0;
}

static int
use_system_trust(const struct tls_conf *c)
{
	return c->trust_file == NULL || strcmp(c->trust_file, "system") == 0;
}

int
tls_check_conf(const struct tls_conf *c, struct error *err)
{
	unsigned char fp[64];
	size_t n;
	gnutls_priority_t prio;
	const char *pos = NULL;
	int r;

	if (c->priorities != NULL && *c->priorities != '\0') {
		if ((r = gnutls_priority_init(&prio, c->priorities, &pos)) < 0)
			return error_set(err, ERR_CONFIG,
			    "invalid tls_priorities near \"%s\": %s",
			    pos ? pos : "", gnutls_strerror(r));
		gnutls_priority_deinit(prio);
	}

	if (c->fingerprint != NULL && *c->fingerprint != '\0' &&
	    parse_fingerprint(c->fingerprint, fp, &n) == -1)
		return error_set(err, ERR_CONFIG,
		    "tls_fingerprint must be a SHA-256 fingerprint "
		    "(32 hex byte pairs, colons allowed)");
	if ((c->cert_file == NULL) != (c->key_file == NULL))
		return error_set(err, ERR_CONFIG,
		    "tls_cert_file and tls_key_file must be set together");
	if (c->certcheck &&
	    (c->fingerprint == NULL || *c->fingerprint == '\0') &&
	    c->trust_file != NULL && *c->trust_file == '\0')
		return error_set(err, ERR_CONFIG,
		    "tls requires either tls_trust_file (highly recommended) "
		    "or tls_fingerprint or a disabled tls_certcheck");
	if (!use_system_trust(c) && *c->trust_file != '\0' &&
	    readable("tls_trust_file", c->trust_file, err) == -1)
		return -1;
	if (c->crl_file != NULL && *c->crl_file != '\0' &&
	    readable("tls_crl_file", c->crl_file, err) == -1)
		return -1;
	if (c->cert_file != NULL &&
	    (readable("tls_cert_file", c->cert_file, err) == -1 ||
		readable("tls_key_file", c->key_file, err) == -1))
		return -1;
	return 0;
}

/*
 * A token asks for its PIN.  It gets the configured one once: a second
 * request means the first was wrong, and trying again could lock the
 * token, so the answer is then an error.
 */
static int
pin_callback(void *ctx, int attempt, const char *token_url,
    const char *token_label, unsigned int flags, char *pin, size_t pin_max)
{
	struct tls *s = ctx;
	size_t n;

	(void)token_url;
	s->pin_asked = 1;
	if (token_label != NULL)
		snprintf(s->token, sizeof(s->token), "%s", token_label);
	if (attempt > 0 || (flags & GNUTLS_PIN_WRONG)) {
		s->pin_wrong = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (s->pin == NULL || (n = strlen(s->pin)) == 0 || n >= pin_max)
		return GNUTLS_E_PKCS11_PIN_ERROR;
	memcpy(pin, s->pin, n + 1);
	return 0;
}

/* What went wrong with a token (GnuTLS said r), if it was the PIN; else 0. */
static int
pin_error(struct tls *s, int r, struct error *err)
{
	const char *label = s->token[0] != '\0' ? s->token : "?";

	if (r == GNUTLS_E_PKCS11_PIN_LOCKED || r == GNUTLS_E_PKCS11_PIN_EXPIRED)
		return error_set(err, ERR_CONFIG, "the PKCS#11 token %s: %s",
		    label, gnutls_strerror(r));
	if (s->pin_wrong ||
	    (r == GNUTLS_E_PKCS11_PIN_ERROR && s->pin != NULL && s->pin_asked))
		return error_set(err, ERR_CONFIG,
		    "the PKCS#11 token %s refused the PIN (the account's "
		    "password or passwordeval)",
		    label);
	if (s->pin_asked && s->pin == NULL)
		return error_set(err, ERR_CONFIG,
		    "the PKCS#11 token %s asks for a PIN: set password or "
		    "passwordeval in the account",
		    label);
	return 0;
}

static int
setup_credentials(struct tls *s, const struct tls_conf *c, struct error *err)
{
	int r;

	if ((r = gnutls_certificate_allocate_credentials(&s->cred)) < 0)
		return error_set(err, ERR_SOFTWARE, "TLS: %s",
		    gnutls_strerror(r));
	if (c->certcheck && use_system_trust(c)) {
		if ((r = gnutls_certificate_set_x509_system_trust(s->cred)) < 0)
			return error_set(err, ERR_NOINPUT,
			    "cannot load the system's trusted certificates: %s",
			    gnutls_strerror(r));
	} else if (c->certcheck && *c->trust_file != '\0') {
		r = gnutls_certificate_set_x509_trust_file(s->cred,
		    c->trust_file, GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			return error_set(err, ERR_NOINPUT,
			    "cannot load tls_trust_file %s: %s", c->trust_file,
			    r == 0 ? "no certificates in it" :
				     gnutls_strerror(r));
	}
	if (c->certcheck && c->crl_file != NULL && *c->crl_file != '\0') {
		r = gnutls_certificate_set_x509_crl_file(s->cred, c->crl_file,
		    GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return error_set(err, ERR_NOINPUT,
			    "cannot load tls_crl_file %s: %s", c->crl_file,
			    gnutls_strerror(r));
	}
	if (c->cert_file != NULL && c->key_file != NULL) {
		/* RFC 7512 URIs are taken by the same call. */
		s->pin = c->pin != NULL && *c->pin != '\0' ? c->pin : NULL;
		gnutls_certificate_set_pin_function(s->cred, pin_callback, s);
		r = gnutls_certificate_set_x509_key_file2(s->cred, c->cert_file,
		    c->key_file, GNUTLS_X509_FMT_PEM, NULL, 0);
		if (r < 0 && pin_error(s, r, err) == -1)
			return -1;
		if (r < 0 && tls_uses_token(c))
			return error_set(err, ERR_CONFIG,
			    "cannot use tls_cert_file %s / tls_key_file %s: %s",
			    c->cert_file, c->key_file, gnutls_strerror(r));
		if (r < 0)
			return error_set(err, ERR_NOINPUT,
			    "cannot load tls_cert_file %s / tls_key_file %s: %s",
			    c->cert_file, c->key_file, gnutls_strerror(r));
	}
	return 0;
}

static int
is_ip_literal(const char *h)
{
	unsigned char a[16];

	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static int
setup_session(struct tls *s, int fd, const struct tls_conf *c,
    struct error *err)
{
	const char *pos = NULL;
	int r;

	r = gnutls_init(&s->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (r < 0)
		return error_set(err, ERR_SOFTWARE, "TLS: %s",
		    gnutls_strerror(r));
	if (c->priorities != NULL && *c->priorities != '\0')
		r = gnutls_priority_set_direct(s->session, c->priorities, &pos);
	else /* RFC 8996: nothing older than TLS 1.2. */
		r = gnutls_set_default_priority_append(s->session,
		    "-VERS-TLS1.1:-VERS-TLS1.0:-VERS-SSL3.0", &pos, 0);
	if (r < 0)
		return error_set(err, ERR_CONFIG,
		    "invalid tls_priorities near \"%s\": %s", pos ? pos : "",
		    gnutls_strerror(r));
	if ((r = gnutls_credentials_set(s->session, GNUTLS_CRD_CERTIFICATE,
		 s->cred)) < 0)
		return error_set(err, ERR_SOFTWARE, "TLS: %s",
		    gnutls_strerror(r));
	/* RFC 6066 3: SNI carries host names only, never address literals. */
	if (!is_ip_literal(c->host))
		gnutls_server_name_set(s->session, GNUTLS_NAME_DNS, c->host,
		    strlen(c->host));
	/*
	 * GnuTLS verifies the chain and the name (RFC 6125 rules) during the
	 * handshake.  A pinned fingerprint replaces both, as does certcheck off.
	 */
	if (c->certcheck && (c->fingerprint == NULL || *c->fingerprint == '\0'))
		gnutls_session_set_verify_cert(s->session, c->host, 0);
	if (c->min_dh_bits > 0)
		gnutls_dh_set_prime_bits(s->session, (unsigned)c->min_dh_bits);
	gnutls_handshake_set_timeout(s->session, 0);
	gnutls_transport_set_int(s->session, fd);
	return 0;
}

static int
check_fingerprint(struct tls *s, const char *want_hex, struct error *err)
{
	const gnutls_datum_t *certs;
	unsigned int n;
	unsigned char want_fp[64], got[64];
	size_t want_len, got_len = sizeof(got);
	gnutls_digest_algorithm_t alg;

	parse_fingerprint(want_hex, want_fp, &want_len);
	alg = want_len == 32 ? GNUTLS_DIG_SHA256 :
	    want_len == 20   ? GNUTLS_DIG_SHA1 :
			       GNUTLS_DIG_MD5;
	certs = gnutls_certificate_get_peers(s->session, &n);
	if (certs == NULL || n == 0)
		return error_set(err, ERR_UNAVAILABLE,
		    "the server sent no certificate");
	if (gnutls_fingerprint(alg, &certs[0], got, &got_len) < 0 ||
	    got_len != want_len || memcmp(got, want_fp, want_len) != 0)
		return error_set(err, ERR_UNAVAILABLE,
		    "the server's certificate does not match tls_fingerprint");
	return 0;
}

/* A name from a certificate, with what cannot be shown escaped. */
static void
put_visible(FILE *fp, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (isprint((unsigned char)p[i]) && p[i] != '\\')
			fputc(p[i], fp);
		else
			fprintf(fp, "\\x%02x", (unsigned char)p[i]);
}

/* The names a certificate is for: its DNS and IP SANs, else its CN. */
static void
put_names(FILE *fp, gnutls_x509_crt_t crt)
{
	char buf[256], ip[64];
	size_t size;
	unsigned int seq, crit;
	int type, n = 0;

	for (seq = 0;; seq++) {
		size = sizeof(buf) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf,
		    &size, &crit);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			fputs(n++ ? ", " : "", fp);
			put_visible(fp, buf, size);
		} else if (type == GNUTLS_SAN_IPADDRESS &&
		    (size == 4 || size == 16) &&
		    inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, ip,
			sizeof(ip)) != NULL)
			fprintf(fp, "%s%s", n++ ? ", " : "", ip);
		if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER)
			break;
	}
	size = sizeof(buf);
	if (n == 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
		0, buf, &size) >= 0)
		fprintf(fp, "%s (its common name; no alternative names)", buf);
	else if (n == 0)
		fputs("no name", fp);
}

static void
put_date(FILE *fp, time_t t)
{
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	fputs(buf, fp);
}

/*
 * Say what is wrong with the server's certificate in terms a person can
 * act on: the name checked and the names it is for, its issuer, the dates
 * that matter, and the two ways to trust it (in the hint).
 */
static int
certificate_error(struct tls *s, const char *host, unsigned int status,
    struct error *err)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };
	unsigned int n;
	unsigned char fp[32];
	size_t fplen = sizeof(fp), k;
	char *out = NULL;
	size_t outlen = 0;
	FILE *mem;
	int self;

	certs = gnutls_certificate_get_peers(s->session, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return error_set(err, ERR_UNAVAILABLE,
		    "the server's certificate is not trusted");
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
	    (mem = open_memstream(&out, &outlen)) == NULL) {
		gnutls_x509_crt_deinit(crt);
		return error_set(err, ERR_UNAVAILABLE,
		    "the server's certificate is not trusted");
	}
	gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0);
	self = gnutls_x509_crt_check_issuer(crt, crt) == 1;
	fprintf(mem, "the server's certificate ");
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		fprintf(mem, "is not valid for the name %s; it is for ", host);
		put_names(mem, crt);
	} else if (status & GNUTLS_CERT_EXPIRED) {
		fprintf(mem, "for ");
		put_names(mem, crt);
		fprintf(mem, " has expired: valid until ");
		put_date(mem, gnutls_x509_crt_get_expiration_time(crt));
	} else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		fprintf(mem, "for ");
		put_names(mem, crt);
		fprintf(mem, " is not yet valid: valid from ");
		put_date(mem, gnutls_x509_crt_get_activation_time(crt));
		fprintf(mem, " (check this computer's clock)");
	} else if (status & GNUTLS_CERT_REVOKED) {
		fprintf(mem, "for %s has been revoked", host);
	} else if (self) {
		fprintf(mem, "for %s is self-signed", host);
	} else if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		fprintf(mem,
		    "for %s is signed by an issuer not in the trust "
		    "store",
		    host);
	} else if (status & GNUTLS_CERT_SIGNER_NOT_CA) {
		fprintf(mem, "for %s is signed by a certificate that is no CA",
		    host);
	} else {
		fprintf(mem, "for %s is not trusted", host);
	}
	if (!self && dn.data != NULL)
		fprintf(mem, "; issuer %s", dn.data);
	fclose(mem);
	error_set(err, ERR_UNAVAILABLE, "%s", out ? out : "?");
	free(out);
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp, &fplen) < 0)
		return -1;
	out = NULL;
	if ((mem = open_memstream(&out, &outlen)) == NULL)
		return -1;
	fprintf(mem, "to trust it anyway after checking it: tls_fingerprint ");
	for (k = 0; k < fplen; k++)
		fprintf(mem, "%02X%s", fp[k], k + 1 < fplen ? ":" : "");
	fprintf(mem, ", or tls_trust_file naming %s",
	    self ? "this certificate" : "its issuer's certificate");
	fclose(mem);
	if (out != NULL)
		snprintf(err->hint, sizeof(err->hint), "%s", out);
	free(out);
	return -1;
}

static int
handshake_error(struct tls *s, const struct tls_conf *c, int r,
    struct error *err)
{
	const char *host = c->host;

	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		return certificate_error(s, host,
		    gnutls_session_get_verify_cert_status(s->session), err);
	/* Cut off in the middle: worth trying again later. */
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR ||
	    r == GNUTLS_E_PUSH_ERROR)
		return error_set(err, ERR_TEMP, "TLS handshake interrupted: %s",
		    gnutls_strerror(r));
	/*
	 * Most often a plain "220 " greeting read as a TLS record: with TLS
	 * first thing, the account has the wrong TLS mode for the port.
	 */
	if (r == GNUTLS_E_UNEXPECTED_PACKET)
		return error_set(err, c->implicit ? ERR_CONFIG : ERR_PROTOCOL,
		    "TLS handshake failed: the server answered in plain "
		    "text, not TLS");
	return error_set(err, ERR_PROTOCOL, "TLS handshake failed: %s",
	    gnutls_strerror(r));
}

struct transport *
tls_start(struct transport *plain, const struct tls_conf *c, int64_t deadline,
    struct error *err)
{
	struct transport *t;
	struct tls *s;
	int r;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		free(t);
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	t->ops = &tls_ops;
	t->fd = plain->fd;
	t->ctx = s;
	if (setup_credentials(s, c, err) == -1 ||
	    setup_session(s, t->fd, c, err) == -1)
		goto fail;
	for (;;) {
		r = gnutls_handshake(s->session);
		if (r == 0)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (transport_fd_wait(t->fd, want(t), deadline,
				"in the TLS handshake", err) == -1)
				goto fail;
			continue;
		}
		if (!gnutls_error_is_fatal(r))
			continue;
		/* A token may ask for its PIN only when the key must sign. */
		if (pin_error(s, r, err) == 0)
			handshake_error(s, c, r, err);
		goto fail;
	}
	if (c->certcheck && c->fingerprint != NULL && *c->fingerprint != '\0' &&
	    check_fingerprint(s, c->fingerprint, err) == -1)
		goto fail;
	transport_release(plain);
	return t;
fail:
	tls_free(s);
	free(t);
	return NULL;
}

int
tls_channel_binding(struct transport *t, const char **type,
    unsigned char **data, size_t *len)
{
	struct tls *s = t->ctx;
	gnutls_datum_t cb;
	gnutls_channel_binding_t which;

	if (!tls_is(t))
		return -1;
	/* RFC 9266: tls-exporter for TLS 1.3; tls-unique for TLS 1.2. */
	if (gnutls_protocol_get_version(s->session) == GNUTLS_TLS1_3) {
		which = GNUTLS_CB_TLS_EXPORTER;
		*type = "tls-exporter";
	} else {
		which = GNUTLS_CB_TLS_UNIQUE;
		*type = "tls-unique";
	}
	if (gnutls_session_channel_binding(s->session, which, &cb) < 0)
		return -1;
	if ((*data = malloc(cb.size)) == NULL) {
		gnutls_free(cb.data);
		return -1;
	}
	memcpy(*data, cb.data, cb.size);
	*len = cb.size;
	gnutls_free(cb.data);
	return 0;
}

char *
tls_describe(struct transport *t)
{
	struct tls *s = t->ctx;
	char *d, *copy;

	if ((d = gnutls_session_get_desc(s->session)) == NULL)
		return NULL;
	copy = strdup(d);
	gnutls_free(d);
	return copy;
}

const char *
tls_version(void)
{
	return gnutls_check_version(NULL);
}

static void
put_time(FILE *fp, const char *what, time_t t)
{
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(fp, "    %s: %s\n", what, buf);
}

char *
tls_peer_info(struct transport *t)
{
	struct tls *s = t->ctx;
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	unsigned int n, i;
	unsigned char fp[32];
	size_t fplen, k;
	char *out = NULL;
	size_t outlen = 0;
	FILE *mem;

	if ((mem = open_memstream(&out, &outlen)) == NULL)
		return NULL;
	certs = gnutls_certificate_get_peers(s->session, &n);
	for (i = 0; certs != NULL && i < n; i++) {
		if (gnutls_x509_crt_init(&crt) < 0)
			break;
		if (gnutls_x509_crt_import(crt, &certs[i],
			GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt);
			break;
		}
		fprintf(mem, "  certificate %u:\n", i + 1);
		if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
			fprintf(mem, "    subject: %s\n", dn.data);
			gnutls_free(dn.data);
		}
		if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) >= 0) {
			fprintf(mem, "    issuer: %s\n", dn.data);
			gnutls_free(dn.data);
		}
		put_time(mem, "valid from",
		    gnutls_x509_crt_get_activation_time(crt));
		put_time(mem, "valid until",
		    gnutls_x509_crt_get_expiration_time(crt));
		fplen = sizeof(fp);
		if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[i], fp,
			&fplen) >= 0) {
			fprintf(mem, "    SHA-256 fingerprint: ");
			for (k = 0; k < fplen; k++)
				fprintf(mem, "%02X%s", fp[k],
				    k + 1 < fplen ? ":" : "\n");
		}
		gnutls_x509_crt_deinit(crt);
	}
	fclose(mem);
	return out;
}

long long
tls_peer_expires(struct transport *t)
{
	struct tls *s = t->ctx;
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	unsigned int n;
	long long when = 0;

	certs = gnutls_certificate_get_peers(s->session, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return 0;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0)
		when = (long long)gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	return when;
}
