/*
 * test_configure.c: the address checks, the SRV choice (RFC 2782), the
 * MX choice, the table of providers and the printed account of
 * --configure, on hand-built DNS answers.  configure.c and dns.c are
 * included so that their static functions can be reached; no query is
 * ever sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "configure.c"
#include "dns.c"

/* A DNS message under construction. */
struct pkt {
	unsigned char b[4096];
	size_t len;
	size_t ancount_at;
	unsigned int ancount;
};

static void
put8(struct pkt *p, unsigned int v)
{
	assert_true(p->len < sizeof(p->b));
	p->b[p->len++] = (unsigned char)v;
}

static void
put16(struct pkt *p, unsigned int v)
{
	put8(p, v >> 8 & 0xff);
	put8(p, v & 0xff);
}

static void
put32(struct pkt *p, unsigned long v)
{
	put16(p, (unsigned int)(v >> 16 & 0xffff));
	put16(p, (unsigned int)(v & 0xffff));
}

/* A name in uncompressed labels; "." or "" is the root. */
static void
put_name(struct pkt *p, const char *name)
{
	const char *s = name, *dot;
	size_t n;

	while (*s != '\0' && strcmp(s, ".") != 0) {
		dot = strchr(s, '.');
		n = dot != NULL ? (size_t)(dot - s) : strlen(s);
		put8(p, (unsigned int)n);
		assert_true(p->len + n <= sizeof(p->b));
		memcpy(p->b + p->len, s, n);
		p->len += n;
		s += n;
		if (*s == '.')
			s++;
	}
	put8(p, 0);
}

#define QNAME "_submissions._tcp.example.org"

/* A response header and one question for QNAME SRV IN. */
static void
pkt_start(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	put16(p, 0x1234);
	put16(p, 0x8580);
	put16(p, 1);
	p->ancount_at = p->len;
	put16(p, 0);
	put16(p, 0);
	put16(p, 0);
	put_name(p, QNAME);
	put16(p, ns_t_srv);
	put16(p, ns_c_in);
}

static void
pkt_count(struct pkt *p)
{
	p->ancount++;
	p->b[p->ancount_at] = (unsigned char)(p->ancount >> 8);
	p->b[p->ancount_at + 1] = (unsigned char)(p->ancount & 0xff);
}

/* An SRV record whose owner is a pointer to the question name. */
static void
add_srv(struct pkt *p, unsigned int prio, unsigned int weight,
    unsigned int port, const char *target)
{
	size_t rdlen_at;

	put16(p, 0xc00c);
	put16(p, ns_t_srv);
	put16(p, ns_c_in);
	put32(p, 300);
	rdlen_at = p->len;
	put16(p, 0);
	put16(p, prio);
	put16(p, weight);
	put16(p, port);
	put_name(p, target);
	p->b[rdlen_at] = (unsigned char)((p->len - rdlen_at - 2) >> 8);
	p->b[rdlen_at + 1] = (unsigned char)((p->len - rdlen_at - 2) & 0xff);
	pkt_count(p);
}

static enum dns_found
choose(const struct pkt *p, struct dns_srv *srv)
{
	memset(srv, 0, sizeof(*srv));
	return srv_choose(p->b, p->len, srv);
}

static void
test_lowest_priority_wins(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	add_srv(&p, 20, 100, 465, "c.example.org.");
	add_srv(&p, 10, 5, 465, "b.example.org.");
	add_srv(&p, 30, 900, 465, "d.example.org.");
	add_srv(&p, 10, 1, 4465, "a.example.org.");
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	assert_string_equal(srv.target, "b.example.org");
	assert_int_equal(srv.priority, 10);
	assert_int_equal(srv.weight, 5);
	assert_int_equal(srv.port, 465);
}

static void
test_highest_weight_wins(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	add_srv(&p, 0, 10, 587, "low.example.org");
	add_srv(&p, 0, 60, 587, "high.example.org");
	add_srv(&p, 0, 0, 587, "zero.example.org");
	add_srv(&p, 0, 60, 587, "tie.example.org");
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	/* A tie keeps the first. */
	assert_string_equal(srv.target, "high.example.org");
	assert_int_equal(srv.weight, 60);
}

static void
test_single_record(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	add_srv(&p, 65535, 65535, 65535, "mail.example.org.");
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	assert_string_equal(srv.target, "mail.example.org");
	assert_int_equal(srv.priority, 65535);
	assert_int_equal(srv.weight, 65535);
	assert_int_equal(srv.port, 65535);
}

static void
test_dot_target_not_offered(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	add_srv(&p, 0, 0, 0, ".");
	assert_int_equal(choose(&p, &srv), DNS_REFUSED);
}

static void
test_dot_target_passed_over(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	add_srv(&p, 0, 0, 465, ".");
	add_srv(&p, 5, 0, 465, "mail.example.org");
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	assert_string_equal(srv.target, "mail.example.org");
}

static void
test_port_zero_and_odd_target_passed_over(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	add_srv(&p, 0, 0, 0, "portless.example.org");
	assert_int_equal(choose(&p, &srv), DNS_REFUSED);

	/* A label holding a space or a newline comes back escaped. */
	pkt_start(&p);
	add_srv(&p, 0, 0, 465, "bad host.example.org");
	add_srv(&p, 0, 0, 465, "bad\nhost.example.org");
	assert_int_equal(choose(&p, &srv), DNS_REFUSED);
	add_srv(&p, 9, 0, 465, "good.example.org");
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	assert_string_equal(srv.target, "good.example.org");
}

static void
test_no_records(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	assert_int_equal(choose(&p, &srv), DNS_NONE);
}

static void
test_other_types_skipped(void **state)
{
	struct pkt p;
	struct dns_srv srv;

	pkt_start(&p);
	/* A CNAME first, then an SRV in class CH: neither counts. */
	put16(&p, 0xc00c);
	put16(&p, ns_t_cname);
	put16(&p, ns_c_in);
	put32(&p, 60);
	put16(&p, 2);
	put16(&p, 0xc00c);
	pkt_count(&p);
	put16(&p, 0xc00c);
	put16(&p, ns_t_srv);
	put16(&p, ns_c_chaos);
	put32(&p, 60);
	put16(&p, 8);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 465);
	put16(&p, 0xc00c);
	pkt_count(&p);
	assert_int_equal(choose(&p, &srv), DNS_NONE);
	add_srv(&p, 1, 1, 465, "mail.example.org");
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	assert_string_equal(srv.target, "mail.example.org");
}

static void
test_compressed_target(void **state)
{
	struct pkt p;
	struct dns_srv srv;
	size_t rdlen_at;

	/* Target "mail" + pointer to "example.org" inside the question. */
	pkt_start(&p);
	put16(&p, 0xc00c);
	put16(&p, ns_t_srv);
	put16(&p, ns_c_in);
	put32(&p, 300);
	rdlen_at = p.len;
	put16(&p, 6 + 5 + 2);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 465);
	put8(&p, 4);
	memcpy(p.b + p.len, "mail", 4);
	p.len += 4;
	/* 12 + 1 + 12 ("_submissions") + 1 + 4 ("_tcp") = 30 */
	put16(&p, 0xc000 | 30);
	pkt_count(&p);
	assert_int_equal(p.b[rdlen_at + 1], 13);
	assert_int_equal(choose(&p, &srv), DNS_FOUND);
	assert_string_equal(srv.target, "mail.example.org");
}

static void
test_malformed(void **state)
{
	struct pkt p, good;
	struct dns_srv srv;
	size_t n, last;

	/* Shorter than a header. */
	pkt_start(&p);
	assert_int_equal(srv_choose(p.b, 0, &srv), DNS_BAD);
	assert_int_equal(srv_choose(p.b, 11, &srv), DNS_BAD);

	/* More questions or answers than there are. */
	pkt_start(&p);
	p.b[5] = 3;
	assert_int_equal(choose(&p, &srv), DNS_BAD);
	pkt_start(&p);
	p.b[7] = 1;
	assert_int_equal(choose(&p, &srv), DNS_BAD);

	/* RDLENGTH past the end. */
	pkt_start(&p);
	add_srv(&p, 0, 0, 465, "mail.example.org");
	good = p;
	p.b[p.len - 6 - 18 - 1] = 0xff;
	assert_int_equal(choose(&p, &srv), DNS_BAD);

	/* RDLENGTH too short for an SRV record. */
	pkt_start(&p);
	put16(&p, 0xc00c);
	put16(&p, ns_t_srv);
	put16(&p, ns_c_in);
	put32(&p, 300);
	put16(&p, 6);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 465);
	pkt_count(&p);
	assert_int_equal(choose(&p, &srv), DNS_BAD);

	/* A target that runs past its RDLENGTH into what follows. */
	p = good;
	last = p.len;
	p.b[last - 6 - 18 - 1] -= 4;
	assert_int_equal(choose(&p, &srv), DNS_BAD);

	/* A compression pointer to itself, and one past the end. */
	pkt_start(&p);
	put16(&p, 0xc00c);
	put16(&p, ns_t_srv);
	put16(&p, ns_c_in);
	put32(&p, 300);
	put16(&p, 8);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 465);
	put16(&p, 0xc000 | (unsigned int)p.len);
	pkt_count(&p);
	assert_int_equal(choose(&p, &srv), DNS_BAD);
	p.b[p.len - 2] = 0xcf;
	p.b[p.len - 1] = 0xff;
	assert_int_equal(choose(&p, &srv), DNS_BAD);

	/* A label length past the end of the question. */
	pkt_start(&p);
	p.b[12] = 63;
	assert_int_equal(srv_choose(p.b, 40, &srv), DNS_BAD);

	/* Every truncation of a good answer is refused, never read past. */
	p = good;
	add_srv(&p, 1, 1, 587, "other.example.org");
	for (n = 0; n < p.len; n++) {
		unsigned char *copy = malloc(n == 0 ? 1 : n);

		assert_non_null(copy);
		memcpy(copy, p.b, n);
		assert_int_equal(srv_choose(copy, n, &srv), DNS_BAD);
		free(copy);
	}
	assert_int_equal(srv_choose(p.b, p.len, &srv), DNS_FOUND);
}

/* Random bytes in place of a good answer's: whatever comes, no crash. */
static void
test_garbage(void **state)
{
	struct pkt p;
	struct dns_srv srv;
	unsigned long seed = 12345;
	size_t i, j, k, n;
	unsigned char *copy;

	pkt_start(&p);
	add_srv(&p, 0, 1, 465, "mail.example.org");
	add_srv(&p, 1, 1, 587, "other.example.org");
	for (i = 0; i < 20000; i++) {
		n = p.len;
		copy = malloc(n);
		assert_non_null(copy);
		memcpy(copy, p.b, n);
		for (j = 0; j < 1 + i % 4; j++) {
			seed = seed * 1103515245 + 12345;
			k = 12 + (seed >> 8) % (n - 12);
			copy[k] = (unsigned char)(seed >> 20);
		}
		(void)srv_choose(copy, n, &srv);
		free(copy);
	}
}

static void
test_address(void **state)
{
	struct error err;

	error_clear(&err);
	assert_string_equal(address_domain("alice@example.org", &err),
	    "example.org");
	assert_string_equal(address_domain("\"a@b\"@example.org", &err),
	    "example.org");
	assert_null(address_domain("alice.example.org", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	assert_int_equal(error_exit_code(err.kind), 64);
	error_clear(&err);
	assert_null(address_domain("@example.org", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(address_domain("alice@", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(address_domain("", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(address_domain("alice@example.org\n", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(address_domain("al\rice@example.org", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(address_domain("alice@exa\x7fmple.org", &err));
	assert_int_equal(err.kind, ERR_USAGE);
}

static void
test_domain(void **state)
{
	struct error err;
	char *d, longname[300];

	error_clear(&err);
	d = ascii_domain("Example.ORG.", &err);
	assert_non_null(d);
	assert_string_equal(d, "Example.ORG");
	free(d);
	d = ascii_domain("bücher.example", &err);
	assert_non_null(d);
	assert_string_equal(d, "xn--bcher-kva.example");
	free(d);
	assert_null(ascii_domain("a..b", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(ascii_domain(".", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(ascii_domain("[192.0.2.1]", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_null(ascii_domain("a b.example", &err));
	assert_int_equal(err.kind, ERR_USAGE);
	/* The service prefix must still fit in 253 characters. */
	memset(longname, 'a', sizeof(longname));
	longname[63] = '.';
	longname[127] = '.';
	longname[191] = '.';
	longname[253 - 18] = '\0';
	d = ascii_domain(longname, &err);
	assert_non_null(d);
	free(d);
	longname[253 - 18] = 'a';
	longname[253 - 17] = '\0';
	error_clear(&err);
	assert_null(ascii_domain(longname, &err));
	assert_int_equal(err.kind, ERR_USAGE);
}

static char *
printed(const struct dns_service *svc, const struct dns_srv *srv)
{
	struct cli c;
	struct found f;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	srv_found(svc, "example.org", srv, &f);
	put_account(fp, &c, "alice@example.org", "example.org", &f);
	fclose(fp);
	return text;
}

static void
test_print_implicit_tls(void **state)
{
	struct dns_srv srv = { 0, 1, 465, "mail.example.org" };
	char *text = printed(&dns_services[0], &srv);

	assert_string_equal(text,
	    "# outbox configuration for alice@example.org, found in DNS:\n"
	    "# _submissions._tcp.example.org SRV 0 1 465 mail.example.org.\n"
	    "account example.org\n"
	    "host mail.example.org\n"
	    "port 465\n"
	    "tls on\n"
	    "tls_starttls off\n"
	    "auth on\n"
	    "user alice@example.org\n"
	    "from alice@example.org\n"
	    "# add: password, or better passwordeval, and chmod 600 this "
	    "file\n");
	free(text);
}

static void
test_print_starttls(void **state)
{
	/* A target that kept its trailing dot loses it. */
	struct dns_srv srv = { 10, 20, 587, "smtp.example.org." };
	char *text = printed(&dns_services[1], &srv);

	assert_string_equal(text,
	    "# outbox configuration for alice@example.org, found in DNS:\n"
	    "# _submission._tcp.example.org SRV 10 20 587 smtp.example.org.\n"
	    "account example.org\n"
	    "host smtp.example.org\n"
	    "port 587\n"
	    "tls on\n"
	    "tls_starttls on\n"
	    "auth on\n"
	    "user alice@example.org\n"
	    "from alice@example.org\n"
	    "# add: password, or better passwordeval, and chmod 600 this "
	    "file\n");
	free(text);
}

/* RFC 6186 6: a server outside the domain is said, in the file too. */
static void
test_print_outside_domain(void **state)
{
	static const char *const inside[] = { "example.org", "MAIL.Example.ORG",
		"a.b.example.org." };
	static const char *const outside[] = { "mail.provider.example",
		"badexample.org", "example.org.evil.example", "org" };
	struct dns_srv srv = { 0, 1, 465, "" };
	char *text;
	size_t i;

	for (i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		snprintf(srv.target, sizeof(srv.target), "%s", inside[i]);
		text = printed(&dns_services[0], &srv);
		assert_null(strstr(text, "WARNING"));
		free(text);
	}
	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		snprintf(srv.target, sizeof(srv.target), "%s", outside[i]);
		text = printed(&dns_services[0], &srv);
		if (strstr(text, "# WARNING: ") == NULL ||
		    strstr(text,
			"is outside example.org (RFC 6186 section 6)") == NULL)
			fail_msg("no warning for %s:\n%s", outside[i], text);
		free(text);
	}
}

static void
test_services_order(void **state)
{
	/* RFC 8314 5.1: implicit TLS first. */
	assert_int_equal(sizeof(dns_services) / sizeof(dns_services[0]), 2);
	assert_string_equal(dns_services[0].prefix, "_submissions._tcp");
	assert_int_equal(dns_services[0].implicit_tls, 1);
	assert_string_equal(dns_services[1].prefix, "_submission._tcp");
	assert_int_equal(dns_services[1].implicit_tls, 0);
}

/* A bad address is refused before any query is made. */
static int
configure_print(const char *address, FILE *fp, struct error *err)
{
	struct cli c;

	memset(&c, 0, sizeof(c));
	c.configure = address;
	return configure_run(&c, fp, err);
}

static void
test_configure_print_bad_address(void **state)
{
	struct error err;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	error_clear(&err);
	assert_int_equal(configure_print("no-at-sign", fp, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_int_equal(configure_print("a@b\tc.example", fp, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	error_clear(&err);
	assert_int_equal(configure_print("a@b..example", fp, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	fclose(fp);
	assert_int_equal(len, 0);
	free(text);
}

/* An MX record whose owner is a pointer to the question name. */
static void
add_mx(struct pkt *p, unsigned int pref, const char *host)
{
	size_t rdlen_at;

	put16(p, 0xc00c);
	put16(p, ns_t_mx);
	put16(p, ns_c_in);
	put32(p, 300);
	rdlen_at = p->len;
	put16(p, 0);
	put16(p, pref);
	put_name(p, host);
	p->b[rdlen_at] = (unsigned char)((p->len - rdlen_at - 2) >> 8);
	p->b[rdlen_at + 1] = (unsigned char)((p->len - rdlen_at - 2) & 0xff);
	pkt_count(p);
}

/* RFC 5321 5.1: the lowest preference; RFC 7505: a null MX is none. */
static void
test_mx_choice(void **state)
{
	struct pkt p;
	char host[NS_MAXDNAME];

	pkt_start(&p);
	add_mx(&p, 20, "mx2.mail.example.net");
	add_mx(&p, 10, "mx1.mail.example.net");
	add_mx(&p, 30, "mx3.mail.example.net");
	assert_int_equal(mx_choose(p.b, p.len, host, sizeof(host)), DNS_FOUND);
	assert_string_equal(host, "mx1.mail.example.net");
	pkt_start(&p);
	add_mx(&p, 0, ".");
	assert_int_equal(mx_choose(p.b, p.len, host, sizeof(host)),
	    DNS_REFUSED);
	pkt_start(&p);
	add_mx(&p, 0, "bad host.example");
	assert_int_equal(mx_choose(p.b, p.len, host, sizeof(host)),
	    DNS_REFUSED);
	assert_int_equal(mx_choose(p.b, 5, host, sizeof(host)), DNS_BAD);
	/* A truncated record. */
	assert_int_equal(mx_choose(p.b, p.len - 3, host, sizeof(host)),
	    DNS_BAD);
}

static void
test_mx_domains(void **state)
{
	char out[2][NS_MAXDNAME];

	assert_int_equal(mx_domains("mx1.mail.example.net", out), 2);
	assert_string_equal(out[0], "mail.example.net");
	assert_string_equal(out[1], "example.net");
	assert_int_equal(mx_domains("mx.example.net", out), 1);
	assert_string_equal(out[0], "example.net");
	assert_int_equal(mx_domains("example.net", out), 1);
	assert_string_equal(out[0], "example.net");
	assert_int_equal(mx_domains("mx.mail.example.co.uk", out), 2);
	assert_string_equal(out[0], "mail.example.co.uk");
	assert_string_equal(out[1], "example.co.uk");
	assert_int_equal(mx_domains("aspmx.l.google.com", out), 2);
	assert_string_equal(out[0], "l.google.com");
	assert_string_equal(out[1], "google.com");
	assert_int_equal(mx_domains("localhost", out), 0);
	/* Never a public suffix alone. */
	assert_int_equal(mx_domains("mail.co.uk", out), 1);
	assert_string_equal(out[0], "mail.co.uk");
	assert_int_equal(mx_domains("mx.example.co.uk", out), 1);
	assert_string_equal(out[0], "example.co.uk");
}

static void
test_plain_word(void **state)
{
	assert_true(plain_word("alice@example.org"));
	assert_true(plain_word("alice+tag"));
	assert_false(plain_word(""));
	assert_false(plain_word("a b"));
	assert_false(plain_word("a\"b"));
	assert_false(plain_word("a#b"));
	assert_false(plain_word("a\\b"));
	assert_false(plain_word("a\rb"));
	assert_false(plain_word("a'b"));
}

static void
test_url_encode(void **state)
{
	char out[64];

	url_encode(out, sizeof(out), "a.b+c@example.org");
	assert_string_equal(out, "a.b%2Bc%40example.org");
	url_encode(out, sizeof(out), "\"x y\"@b\xc3\xbc.example");
	assert_string_equal(out, "%22x%20y%22%40b%C3%BC.example");
}

static void
test_table(void **state)
{
	const struct providers_entry *p;

	p = providers_find("GMail.com", NULL);
	assert_non_null(p);
	assert_string_equal(p->host, "smtp.gmail.com");
	assert_int_equal(p->port, 465);
	assert_int_equal(p->implicit_tls, 1);
	p = providers_find("hotmail.com", NULL);
	assert_non_null(p);
	assert_string_equal(p->host, "smtp-mail.outlook.com");
	assert_int_equal(p->port, 587);
	assert_string_equal(p->oauth2, "microsoft");
	assert_int_equal(p->oauth2_required, 1);
	/* A Microsoft 365 domain, known by its MX host. */
	assert_null(providers_find("contoso.example", NULL));
	p = providers_find("contoso.example",
	    "contoso-example.mail.protection.outlook.com");
	assert_non_null(p);
	assert_string_equal(p->host, "smtp.office365.com");
	/* A suffix matches after a dot only. */
	assert_null(providers_find("x.example", "evilgoogle.com"));
	assert_null(providers_find("mail.gmail.com", NULL));
	assert_null(providers_find("", NULL));
	p = providers_find("x.example", "aspmx.l.google.com");
	assert_non_null(p);
	assert_string_equal(p->name, "Google");
}

static void
test_print_table_oauth(void **state)
{
	struct cli c;
	struct found f;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	assert_int_equal(try_table("outlook.com", NULL, &f), 1);
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	put_account(fp, &c, "bob@outlook.com", "outlook", &f);
	fclose(fp);
	assert_string_equal(text,
	    "# outbox configuration for bob@outlook.com, found in outbox's "
	    "table of providers (Outlook.com):\n"
	    "account outlook\n"
	    "host smtp-mail.outlook.com\n"
	    "port 587\n"
	    "tls on\n"
	    "tls_starttls on\n"
	    "auth on\n"
	    "user bob@outlook.com\n"
	    "from bob@outlook.com\n"
	    "# the password: OAuth2: Outlook.com refuses passwords\n"
	    "oauth2_provider microsoft\n"
	    "# next: set oauth2_client_id (outbox ships none), then run\n"
	    "# outbox --authorize -a outlook\n");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_priority_wins),
		cmocka_unit_test(test_highest_weight_wins),
		cmocka_unit_test(test_single_record),
		cmocka_unit_test(test_dot_target_not_offered),
		cmocka_unit_test(test_dot_target_passed_over),
		cmocka_unit_test(test_port_zero_and_odd_target_passed_over),
		cmocka_unit_test(test_no_records),
		cmocka_unit_test(test_other_types_skipped),
		cmocka_unit_test(test_compressed_target),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_print_implicit_tls),
		cmocka_unit_test(test_print_starttls),
		cmocka_unit_test(test_services_order),
		cmocka_unit_test(test_print_outside_domain),
		cmocka_unit_test(test_configure_print_bad_address),
		cmocka_unit_test(test_mx_choice),
		cmocka_unit_test(test_mx_domains),
		cmocka_unit_test(test_plain_word),
		cmocka_unit_test(test_url_encode),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_print_table_oauth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
