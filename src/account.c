/* account.c: account records, inheritance and checks. */
#include "account.h"

#include <stdlib.h>
#include <string.h>

static const char *const field_names[AF_N] = {
	[AF_ALIASES] = "aliases",
	[AF_ALLOW_FROM_OVERRIDE] = "allow_from_override",
	[AF_AUTH] = "auth",
	[AF_AUTO_FROM] = "auto_from",
	[AF_DOMAIN] = "domain",
	[AF_DROP_SENDERS] = "drop_senders",
	[AF_DSN_NOTIFY] = "dsn_notify",
	[AF_DSN_RETURN] = "dsn_return",
	[AF_FROM] = "from",
	[AF_FROM_FULL_NAME] = "from_full_name",
	[AF_HOST] = "host",
	[AF_LOGFILE] = "logfile",
	[AF_LOGFILE_TIME_FORMAT] = "logfile_time_format",
	[AF_MAILDOMAIN] = "maildomain",
	[AF_NTLMDOMAIN] = "ntlmdomain",
	[AF_OAUTH2_AUTH_ENDPOINT] = "oauth2_auth_endpoint",
	[AF_OAUTH2_CLIENT_ID] = "oauth2_client_id",
	[AF_OAUTH2_CLIENT_SECRET] = "oauth2_client_secret",
	[AF_OAUTH2_DEVICE_ENDPOINT] = "oauth2_device_endpoint",
	[AF_OAUTH2_ISSUER] = "oauth2_issuer",
	[AF_OAUTH2_KEEPALIVE] = "oauth2_keepalive",
	[AF_OAUTH2_KEYRING] = "oauth2_keyring",
	[AF_OAUTH2_PROVIDER] = "oauth2_provider",
	[AF_OAUTH2_SCOPE] = "oauth2_scope",
	[AF_OAUTH2_TOKEN_ENDPOINT] = "oauth2_token_endpoint",
	[AF_OAUTH2_TOKEN_FILE] = "oauth2_token_file",
	[AF_OAUTH2_TRUST_FILE] = "oauth2_trust_file",
	[AF_PASSWORD] = "password",
	[AF_PASSWORDEVAL] = "passwordeval",
	[AF_PORT] = "port",
	[AF_PROTOCOL] = "protocol",
	[AF_PROXY_HOST] = "proxy_host",
	[AF_PROXY_PASSWORD] = "proxy_password",
	[AF_PROXY_PASSWORDEVAL] = "proxy_passwordeval",
	[AF_PROXY_PORT] = "proxy_port",
	[AF_PROXY_USER] = "proxy_user",
	[AF_QUEUE] = "queue",
	[AF_QUEUE_BACKGROUND] = "queue_background",
	[AF_QUEUE_DIR] = "queue_dir",
	[AF_QUEUE_MAX_AGE] = "queue_max_age",
	[AF_QUEUE_NOTIFY] = "queue_notify",
	[AF_QUEUE_RETRY] = "queue_retry",
	[AF_REMOVE_BCC_HEADERS] = "remove_bcc_headers",
	[AF_REQUIRETLS] = "requiretls",
	[AF_SET_DATE_HEADER] = "set_date_header",
	[AF_SET_FROM_HEADER] = "set_from_header",
	[AF_SET_MSGID_HEADER] = "set_msgid_header",
	[AF_SET_TO_HEADER] = "set_to_header",
	[AF_SOCKET] = "socket",
	[AF_SOURCE_IP] = "source_ip",
	[AF_SYSLOG] = "syslog",
	[AF_TIMEOUT] = "timeout",
	[AF_TLS] = "tls",
	[AF_TLS_CERT_FILE] = "tls_cert_file",
	[AF_TLS_CERTCHECK] = "tls_certcheck",
	[AF_TLS_CRL_FILE] = "tls_crl_file",
	[AF_TLS_FINGERPRINT] = "tls_fingerprint",
	[AF_TLS_HOST_OVERRIDE] = "tls_host_override",
	[AF_TLS_KEY_FILE] = "tls_key_file",
	[AF_TLS_MIN_DH_PRIME_BITS] = "tls_min_dh_prime_bits",
	[AF_TLS_PRIORITIES] = "tls_priorities",
	[AF_TLS_STARTTLS] = "tls_starttls",
	[AF_TLS_TRUST_FILE] = "tls_trust_file",
	[AF_USER] = "user",
};

const char *
account_field_name(enum acc_field f)
{
	return f < AF_N ? field_names[f] : "?";
}

struct account *
account_new(const char *name, const char *file, unsigned line)
{
	struct account *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->name = strdup(name);
	a->file = strdup(file ? file : "");
	a->line = line;
	if (a->name == NULL || a->file == NULL) {
		account_free(a);
		return NULL;
	}
	return a;
}

void
account_free(struct account *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < AF_N; i++) {
		if (a->v[i] != NULL)
			explicit_bzero(a->v[i], strlen(a->v[i]));
		free(a->v[i]);
	}
	free(a->name);
	free(a->file);
	free(a);
}

void
account_free_list(struct account *a)
{
	struct account *next;

	for (; a != NULL; a = next) {
		next = a->next;
		account_free(a);
	}
}

int
account_set(struct account *a, enum acc_field f, const char *value, long n,
    long n2)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -1;
	if (a->v[f] != NULL)
		explicit_bzero(a->v[f], strlen(a->v[f]));
	free(a->v[f]);
	a->v[f] = copy;
	a->n[f][0] = n;
	a->n[f][1] = n2;
	a->set[f / 64] |= (uint64_t)1 << (f % 64);
	return 0;
}

void
account_mark_default(struct account *a, enum acc_field f)
{
	a->set[f / 64] &= ~((uint64_t)1 << (f % 64));
}

int
account_is_set(const struct account *a, enum acc_field f)
{
	return (a->set[f / 64] >> (f % 64) & 1) != 0;
}

const char *
account_str(const struct account *a, enum acc_field f)
{
	return a->v[f] != NULL && *a->v[f] != '\0' ? a->v[f] : NULL;
}

int
account_on(const struct account *a, enum acc_field f)
{
	return a->n[f][0] != ACC_OFF;
}

long
account_num(const struct account *a, enum acc_field f)
{
	return a->n[f][0];
}

long
account_num2(const struct account *a, enum acc_field f)
{
	return a->n[f][1];
}

int
account_inherit(struct account *dst, const struct account *src)
{
	int i;

	for (i = 0; i < AF_N; i++)
		if (account_is_set(src, (enum acc_field)i) &&
		    account_set(dst, (enum acc_field)i, src->v[i], src->n[i][0],
			src->n[i][1]) == -1)
			return -1;
	return 0;
}

struct account *
account_find(struct account *list, const char *name)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

int
account_lmtp(const struct account *a)
{
	return account_num(a, AF_PROTOCOL) == ACC_LMTP;
}

int
account_port(const struct account *a)
{
	long p = account_num(a, AF_PORT);

	if (p > 0)
		return (int)p;
	/* RFC 8314 3.3: implicit TLS submission is on 465. */
	if (account_on(a, AF_TLS) && !account_on(a, AF_TLS_STARTTLS))
		return 465;
	return 25;
}

int
account_field_secret(enum acc_field f)
{
	return f == AF_PASSWORD || f == AF_PROXY_PASSWORD ||
	    f == AF_OAUTH2_CLIENT_SECRET;
}

int
account_oauth(const struct account *a)
{
	return account_str(a, AF_OAUTH2_PROVIDER) != NULL ||
	    account_str(a, AF_OAUTH2_TOKEN_ENDPOINT) != NULL;
}

int
account_check(const struct account *a, struct error *err)
{
	if (account_str(a, AF_HOST) == NULL &&
	    account_str(a, AF_SOCKET) == NULL)
		return error_set(err, ERR_CONFIG, "host not set");
	/* An LMTP server has no well-known port (RFC 2033 5). */
	if (account_lmtp(a) && !account_is_set(a, AF_PORT) &&
	    account_str(a, AF_SOCKET) == NULL)
		return error_set(err, ERR_CONFIG,
		    "port not set (LMTP has no "
		    "default port)");
	if ((account_str(a, AF_TLS_CERT_FILE) == NULL) !=
	    (account_str(a, AF_TLS_KEY_FILE) == NULL))
		return error_set(err, ERR_CONFIG,
		    "tls_cert_file and tls_key_file must be set together");
	/*
	 * RFC 8689 4.2.1: REQUIRETLS promises TLS with an authenticated
	 * server on every hop, starting with this one.
	 */
	if (account_on(a, AF_REQUIRETLS) && !account_on(a, AF_TLS))
		return error_set(err, ERR_CONFIG,
		    "requiretls needs tls on: the message would be sent in "
		    "the clear");
	if (account_on(a, AF_REQUIRETLS) && !account_on(a, AF_TLS_CERTCHECK))
		return error_set(err, ERR_CONFIG,
		    "requiretls needs a checked server certificate "
		    "(tls_certcheck is off)");
	/* RFC 1929 carries a user name only with its password. */
	if (account_str(a, AF_PROXY_USER) == NULL &&
	    (account_str(a, AF_PROXY_PASSWORD) != NULL ||
		account_str(a, AF_PROXY_PASSWORDEVAL) != NULL))
		return error_set(err, ERR_CONFIG,
		    "proxy_password and proxy_passwordeval need proxy_user");
	/* RFC 8414 3: discovery starts from the issuer. */
	if (account_str(a, AF_OAUTH2_PROVIDER) != NULL &&
	    strcmp(account_str(a, AF_OAUTH2_PROVIDER), "discover") == 0 &&
	    account_str(a, AF_OAUTH2_ISSUER) == NULL)
		return error_set(err, ERR_CONFIG,
		    "oauth2_provider discover needs oauth2_issuer");
	return 0;
}
