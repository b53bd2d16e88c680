/*
 * test_auth_autoconfig.c: the autoconfig document parser of outbox-auth
 * on good, malformed, oversized and entity-declaring documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "autoconfig.h"

#define HEAD "<?xml version=\"1.0\"?>\n<clientConfig version=\"1.1\">\n"
#define TAIL "</clientConfig>\n"

static const char server_587[] =
    "<outgoingServer type=\"smtp\"><hostname>smtp.example.org</hostname>"
    "<port>587</port><socketType>STARTTLS</socketType>"
    "<authentication>password-cleartext</authentication>"
    "<username>%EMAILLOCALPART%</username></outgoingServer>\n";

static int
parse(const char *doc, struct autoconfig *ac, struct error *e)
{
	error_clear(e);
	return autoconfig_parse(doc, strlen(doc), "alice@example.org", ac, e);
}

static void
test_prefers_implicit_tls(void **state)
{
	struct autoconfig ac;
	struct error e;
	const char *doc = HEAD
	    "<emailProvider id=\"example.org\">"
	    "<incomingServer type=\"imap\"><hostname>imap.example.org"
	    "</hostname><port>993</port><socketType>SSL</socketType>"
	    "</incomingServer>\n"
	    "<outgoingServer type=\"smtp\"><hostname>plain.example.org"
	    "</hostname><port>25</port><socketType>plain</socketType>"
	    "</outgoingServer>\n"
	    "<outgoingServer type=\"smtp\"><hostname>smtp.example.org"
	    "</hostname><port>587</port><socketType>STARTTLS</socketType>"
	    "<authentication>password-cleartext</authentication>"
	    "</outgoingServer>\n"
	    "<outgoingServer type=\"smtp\">\n  <hostname> smtp.%EMAILDOMAIN% "
	    "</hostname>\n  <port>465</port><socketType>SSL</socketType>"
	    "<authentication>OAuth2</authentication>"
	    "<authentication>password-encrypted</authentication>"
	    "<username>%EMAILADDRESS%</username></outgoingServer>\n"
	    "<outgoingServer type=\"smtp\"><hostname>second.example.org"
	    "</hostname><port>465</port><socketType>SSL</socketType>"
	    "</outgoingServer>\n"
	    "</emailProvider>\n"
	    "<oAuth2><issuer>login.example.org</issuer></oAuth2>\n" TAIL;

	(void)state;
	assert_int_equal(parse(doc, &ac, &e), 0);
	/* The first SSL server; plain is passed over, the IMAP one too. */
	assert_string_equal(ac.host, "smtp.example.org");
	assert_int_equal(ac.port, 465);
	assert_int_equal(ac.implicit_tls, 1);
	assert_int_equal(ac.auth,
	    AUTOCONFIG_AUTH_OAUTH2 | AUTOCONFIG_AUTH_ENCRYPTED);
	assert_string_equal(ac.user, "alice@example.org");
	assert_string_equal(ac.provider, "example.org");
	assert_string_equal(ac.oauth2_issuer, "login.example.org");
	assert_int_equal(ac.skipped, 1);
}

static void
test_starttls_and_localpart(void **state)
{
	struct autoconfig ac;
	struct error e;
	char doc[2048];

	(void)state;
	snprintf(doc, sizeof(doc),
	    HEAD "<emailProvider>%s</emailProvider>" TAIL, server_587);
	assert_int_equal(parse(doc, &ac, &e), 0);
	assert_string_equal(ac.host, "smtp.example.org");
	assert_int_equal(ac.port, 587);
	assert_int_equal(ac.implicit_tls, 0);
	assert_int_equal(ac.auth, AUTOCONFIG_AUTH_PASSWORD);
	assert_string_equal(ac.user, "alice");
	assert_string_equal(ac.provider, "");
}

static void
test_nothing_usable(void **state)
{
	struct autoconfig ac;
	struct error e;
	static const char *const docs[] = {
		/* Plain only. */
		HEAD "<emailProvider><outgoingServer type=\"smtp\"><hostname>"
		     "a.example</hostname><port>25</port><socketType>plain"
		     "</socketType></outgoingServer></emailProvider>" TAIL,
		/* Not SMTP. */
		HEAD "<emailProvider><outgoingServer type=\"exchange\">"
		     "<hostname>a.example</hostname><port>443</port>"
		     "<socketType>SSL</socketType></outgoingServer>"
		     "</emailProvider>" TAIL,
		/* A port that is no port, a host that is no host. */
		HEAD "<emailProvider><outgoingServer type=\"smtp\"><hostname>"
		     "a.example</hostname><port>65536</port><socketType>SSL"
		     "</socketType></outgoingServer><outgoingServer type=\"smtp"
		     "\"><hostname>a.example</hostname><port>-1</port>"
		     "<socketType>SSL</socketType></outgoingServer>"
		     "<outgoingServer type=\"smtp\"><hostname>a b;rm</hostname>"
		     "<port>465</port><socketType>SSL</socketType>"
		     "</outgoingServer><outgoingServer type=\"smtp\"><hostname>"
		     "%UNKNOWN%.example</hostname><port>465</port><socketType>"
		     "SSL</socketType></outgoingServer></emailProvider>" TAIL,
		/* Outside an emailProvider. */
		HEAD "<outgoingServer type=\"smtp\"><hostname>a.example"
		     "</hostname><port>465</port><socketType>SSL</socketType>"
		     "</outgoingServer>" TAIL,
		HEAD TAIL,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(parse(docs[i], &ac, &e), -1);
		assert_int_equal(e.kind, ERR_UNAVAILABLE);
		assert_non_null(strstr(e.msg, "names no SMTP server"));
		assert_string_equal(ac.host, "");
	}
}

static void
test_unknown_placeholder_in_user(void **state)
{
	struct autoconfig ac;
	struct error e;
	const char *doc = HEAD
	    "<emailProvider><outgoingServer type=\"smtp\"><hostname>"
	    "smtp.example.org</hostname><port>465</port><socketType>SSL"
	    "</socketType><username>%REALNAME%</username></outgoingServer>"
	    "</emailProvider>" TAIL;

	(void)state;
	assert_int_equal(parse(doc, &ac, &e), 0);
	assert_string_equal(ac.user, "");
}

/* A control character inside a value takes the value away. */
static void
test_control_characters(void **state)
{
	struct autoconfig ac;
	struct error e;
	const char *doc = HEAD
	    "<emailProvider><outgoingServer type=\"smtp\"><hostname>"
	    "smtp.example.org</hostname><port>465</port><socketType>SSL"
	    "</socketType><username>alice&#13;host evil</username>"
	    "</outgoingServer></emailProvider>"
	    "<oAuth2><issuer>a&#10;b</issuer></oAuth2>" TAIL;
	const char *bad_host = HEAD
	    "<emailProvider><outgoingServer type=\"smtp\"><hostname>"
	    "smtp.example.org&#9;</hostname><port>465</port><socketType>SSL"
	    "</socketType></outgoingServer></emailProvider>" TAIL;

	(void)state;
	assert_int_equal(parse(doc, &ac, &e), 0);
	assert_string_equal(ac.user, "");
	assert_string_equal(ac.oauth2_issuer, "");
	/* Trailing white space is trimmed: a tab at the end is fine. */
	assert_int_equal(parse(bad_host, &ac, &e), 0);
	assert_string_equal(ac.host, "smtp.example.org");
}

static void
test_malformed(void **state)
{
	struct autoconfig ac;
	struct error e;
	static const char *const docs[] = {
		HEAD "<emailProvider>",
		HEAD "<emailProvider></clientConfig>",
		"<html><body>not found</body></html>",
		"",
		"{\"host\": \"smtp.example.org\"}",
		HEAD "<emailProvider>&undefined;</emailProvider>" TAIL,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(parse(docs[i], &ac, &e), -1);
		assert_int_equal(e.kind, ERR_PROTOCOL);
		assert_string_equal(ac.host, "");
	}
	assert_int_equal(parse(docs[0], &ac, &e), -1);
	assert_non_null(strstr(e.msg, "malformed autoconfig document: line"));
	assert_int_equal(parse(docs[2], &ac, &e), -1);
	assert_string_equal(e.msg,
	    "autoconfig document refused: not a clientConfig document");
}

/* A good document padded with a comment to exactly n bytes. */
static char *
padded(size_t n)
{
	char head[2048], *doc;
	size_t hl;

	snprintf(head, sizeof(head),
	    HEAD "<emailProvider>%s</emailProvider>"
		 "<!--",
	    server_587);
	hl = strlen(head);
	doc = malloc(n + 1);
	assert_non_null(doc);
	memcpy(doc, head, hl);
	memset(doc + hl, 'x', n - hl - strlen("-->" TAIL));
	strcpy(doc + n - strlen("-->" TAIL), "-->" TAIL);
	assert_int_equal(strlen(doc), n);
	return doc;
}

static void
test_size_limit(void **state)
{
	struct autoconfig ac;
	struct error e;
	char *doc = padded(AUTOCONFIG_DOC_MAX);

	(void)state;
	assert_int_equal(parse(doc, &ac, &e), 0);
	assert_string_equal(ac.host, "smtp.example.org");
	free(doc);
	doc = padded(AUTOCONFIG_DOC_MAX + 1);
	assert_int_equal(parse(doc, &ac, &e), -1);
	assert_int_equal(e.kind, ERR_PROTOCOL);
	assert_string_equal(e.msg, "autoconfig document larger than 64 KiB");
	free(doc);
}

static void
test_entities_refused(void **state)
{
	struct autoconfig ac;
	struct error e;
	static const char *const docs[] = {
		/* The billion laughs. */
		("<?xml version=\"1.0\"?>\n<!DOCTYPE clientConfig [\n"
		 "<!ENTITY a \"lol\">\n"
		 "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
		 "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
		 "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
		 "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
		 "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
		 "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
		 "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
		 "<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
		 "]>\n<clientConfig><emailProvider><outgoingServer type=\"smtp\">"
		 "<hostname>&i;</hostname><port>465</port><socketType>SSL"
		 "</socketType></outgoingServer></emailProvider></clientConfig>"),
		/* An external entity. */
		("<?xml version=\"1.0\"?>\n<!DOCTYPE clientConfig [\n"
		 "<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
		 "<clientConfig><emailProvider><outgoingServer type=\"smtp\">"
		 "<hostname>a.example</hostname><username>&x;</username>"
		 "<port>465</port><socketType>SSL</socketType>"
		 "</outgoingServer></emailProvider></clientConfig>"),
		/* An external DTD, without entities. */
		("<?xml version=\"1.0\"?>\n<!DOCTYPE clientConfig SYSTEM "
		 "\"http://example.org/x.dtd\">\n<clientConfig/>"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(parse(docs[i], &ac, &e), -1);
		assert_int_equal(e.kind, ERR_PROTOCOL);
		assert_string_equal(e.msg,
		    "autoconfig document refused: a document type "
		    "declaration is not accepted");
		assert_string_equal(ac.host, "");
		assert_string_equal(ac.user, "");
	}
}

static void
test_bounds(void **state)
{
	struct autoconfig ac;
	struct error e;
	char *doc;
	size_t cap = 64 * 1024, n;
	int i;

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);
	/* Depth: clientConfig plus 15 more levels is the most. */
	n = (size_t)snprintf(doc, cap, HEAD "<emailProvider>%s", server_587);
	for (i = 0; i < AUTOCONFIG_DEPTH_MAX - 2; i++)
		n += (size_t)snprintf(doc + n, cap - n, "<x>");
	for (i = 0; i < AUTOCONFIG_DEPTH_MAX - 2; i++)
		n += (size_t)snprintf(doc + n, cap - n, "</x>");
	snprintf(doc + n, cap - n, "</emailProvider>" TAIL);
	assert_int_equal(parse(doc, &ac, &e), 0);
	n = (size_t)snprintf(doc, cap, HEAD "<emailProvider>%s", server_587);
	for (i = 0; i < AUTOCONFIG_DEPTH_MAX - 1; i++)
		n += (size_t)snprintf(doc + n, cap - n, "<x>");
	for (i = 0; i < AUTOCONFIG_DEPTH_MAX - 1; i++)
		n += (size_t)snprintf(doc + n, cap - n, "</x>");
	snprintf(doc + n, cap - n, "</emailProvider>" TAIL);
	assert_int_equal(parse(doc, &ac, &e), -1);
	assert_string_equal(e.msg,
	    "autoconfig document refused: nested too deeply");
	/* Servers. */
	n = (size_t)snprintf(doc, cap, HEAD "<emailProvider>");
	for (i = 0; i < AUTOCONFIG_SERVERS_MAX; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s", server_587);
	snprintf(doc + n, cap - n, "</emailProvider>" TAIL);
	assert_int_equal(parse(doc, &ac, &e), 0);
	n = (size_t)snprintf(doc, cap, HEAD "<emailProvider>");
	for (i = 0; i <= AUTOCONFIG_SERVERS_MAX; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s", server_587);
	snprintf(doc + n, cap - n, "</emailProvider>" TAIL);
	assert_int_equal(parse(doc, &ac, &e), -1);
	assert_string_equal(e.msg,
	    "autoconfig document refused: too many servers");
	/* A value: 255 bytes are kept, 256 refused. */
	n = (size_t)snprintf(doc, cap,
	    HEAD "<emailProvider><outgoingServer type=\"smtp\"><hostname>"
		 "smtp.example.org</hostname><port>465</port><socketType>SSL"
		 "</socketType><username>");
	memset(doc + n, 'u', AUTOCONFIG_TEXT_MAX);
	n += AUTOCONFIG_TEXT_MAX;
	snprintf(doc + n, cap - n,
	    "</username></outgoingServer></emailProvider>" TAIL);
	assert_int_equal(parse(doc, &ac, &e), 0);
	assert_int_equal(strlen(ac.user), AUTOCONFIG_TEXT_MAX);
	memmove(doc + n + 1, doc + n, strlen(doc + n) + 1);
	doc[n] = 'u';
	assert_int_equal(parse(doc, &ac, &e), -1);
	assert_string_equal(e.msg,
	    "autoconfig document refused: a value is too long");
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefers_implicit_tls),
		cmocka_unit_test(test_starttls_and_localpart),
		cmocka_unit_test(test_nothing_usable),
		cmocka_unit_test(test_unknown_placeholder_in_user),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_entities_refused),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
