/* account.h: one account's settings, and choosing the account to use. */
#ifndef OUTBOX_ACCOUNT_H
#define OUTBOX_ACCOUNT_H

#include <stdint.h>

#include "error.h"

/* Every setting, by index; conf.c's keyword table maps names onto these. */
enum acc_field {
	AF_ALIASES,
	AF_ALLOW_FROM_OVERRIDE,
	AF_AUTH,
	AF_AUTO_FROM,
	AF_DOMAIN,
	AF_DROP_SENDERS,
	AF_DSN_NOTIFY,
	AF_DSN_RETURN,
	AF_FROM,
	AF_FROM_FULL_NAME,
	AF_HOST,
	AF_LOGFILE,
	AF_LOGFILE_TIME_FORMAT,
	AF_MAILDOMAIN,
	AF_NTLMDOMAIN,
	AF_OAUTH2_AUTH_ENDPOINT,
	AF_OAUTH2_CLIENT_ID,
	AF_OAUTH2_CLIENT_SECRET,
	AF_OAUTH2_DEVICE_ENDPOINT,
	AF_OAUTH2_ISSUER,
	AF_OAUTH2_KEEPALIVE,
	AF_OAUTH2_KEYRING,
	AF_OAUTH2_PROVIDER,
	AF_OAUTH2_SCOPE,
	AF_OAUTH2_TOKEN_ENDPOINT,
	AF_OAUTH2_TOKEN_FILE,
	AF_OAUTH2_TRUST_FILE,
	AF_PASSWORD,
	AF_PASSWORDEVAL,
	AF_PORT,
	AF_PROTOCOL,
	AF_PROXY_HOST,
	AF_PROXY_PASSWORD,
	AF_PROXY_PASSWORDEVAL,
	AF_PROXY_PORT,
	AF_PROXY_USER,
	AF_QUEUE,
	AF_QUEUE_BACKGROUND,
	AF_QUEUE_DIR,
	AF_QUEUE_MAX_AGE,
	AF_QUEUE_NOTIFY,
	AF_QUEUE_RETRY,
	AF_REMOVE_BCC_HEADERS,
	AF_REQUIRETLS,
	AF_SET_DATE_HEADER,
	AF_SET_FROM_HEADER,
	AF_SET_MSGID_HEADER,
	AF_SET_TO_HEADER,
	AF_SOCKET,
	AF_SOURCE_IP,
	AF_SYSLOG,
	AF_TIMEOUT,
	AF_TLS,
	AF_TLS_CERT_FILE,
	AF_TLS_CERTCHECK,
	AF_TLS_CRL_FILE,
	AF_TLS_FINGERPRINT,
	AF_TLS_HOST_OVERRIDE,
	AF_TLS_KEY_FILE,
	AF_TLS_MIN_DH_PRIME_BITS,
	AF_TLS_PRIORITIES,
	AF_TLS_STARTTLS,
	AF_TLS_TRUST_FILE,
	AF_USER,
	AF_N
};

/*
 * The typed value of a setting that takes words: "off" and "on" are 0 and
 * 1 for every such setting, so that a switch reads as a truth value.
 */
enum acc_word {
	ACC_OFF,
	ACC_ON,
	ACC_AUTO,	 /* set_*_header: add it when missing */
	ACC_UNDISCLOSED, /* set_to_header undisclosed_recipients */
	ACC_ON_FAILURE,	 /* queue on-failure */
	ACC_ALWAYS,	 /* queue always */
	ACC_HEADERS,	 /* dsn_return headers */
	ACC_FULL,	 /* dsn_return full */
	ACC_SMTP,	 /* protocol smtp */
	ACC_LMTP,	 /* protocol lmtp */
	ACC_MECHANISM,	 /* auth names a mechanism (the text says which) */
	ACC_LIST,	 /* dsn_notify names conditions (the text says which) */
	ACC_NEVER,	 /* dsn_notify never */
	ACC_WORD_N
};

/*
 * Each setting is kept twice: as written (checked and made canonical by
 * conf.c, for messages, -P and inheritance) and typed, parsed once.  An
 * account made by conf_account_new holds every default, so that reading a
 * setting never needs a default of its own; `set' tells the explicit ones.
 */
struct account {
	char *name;
	char *file; /* where it was defined ("" for the command line) */
	unsigned line;
	char *v[AF_N];	 /* values as validated by conf.c; NULL: none */
	long n[AF_N][2]; /* typed: an acc_word, a number, seconds */
	uint64_t set[(AF_N + 63) / 64]; /* which were set explicitly */
	struct account *next;
};

struct account *account_new(const char *name, const char *file, unsigned line);
void account_free(struct account *);
void account_free_list(struct account *);
/* Store a value checked by conf.c, with its typed form (n, n2). */
int account_set(struct account *, enum acc_field, const char *value, long n,
    long n2);
/* Forget that f was set explicitly: it holds a default. */
void account_mark_default(struct account *, enum acc_field);
/* Whether f was set explicitly (in a file or on the command line). */
int account_is_set(const struct account *, enum acc_field);
/* The value as written, or NULL when unset or empty. */
const char *account_str(const struct account *, enum acc_field);
/* A switch (on/off): whether it is on. */
int account_on(const struct account *, enum acc_field);
/* A number, a duration in seconds, or an enum acc_word. */
long account_num(const struct account *, enum acc_field);
/* The second number of a pair (queue_retry: the longest wait). */
long account_num2(const struct account *, enum acc_field);
/* Copy every setting that src set explicitly. */
int account_inherit(struct account *dst, const struct account *src);
struct account *account_find(struct account *list, const char *name);
/* Whether the setting holds a secret (masked wherever it is shown). */
int account_field_secret(enum acc_field);
/* The setting's name in the configuration file. */
const char *account_field_name(enum acc_field);
/* Whether the account speaks LMTP (protocol lmtp). */
int account_lmtp(const struct account *);
/* The port: the setting, else 465 for implicit TLS, else 25. */
int account_port(const struct account *);
/*
 * Whether the account has OAuth settings (oauth2_provider or
 * oauth2_token_endpoint): outbox-auth then supplies its tokens.
 */
int account_oauth(const struct account *);
/* Settings that must agree with each other; EX_CONFIG otherwise. */
int account_check(const struct account *, struct error *);

#endif
