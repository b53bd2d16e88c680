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
	AF_DSN_NOTIFY,
	AF_DSN_RETURN,
	AF_FROM,
	AF_FROM_FULL_NAME,
	AF_HOST,
	AF_LOGFILE,
	AF_LOGFILE_TIME_FORMAT,
	AF_MAILDOMAIN,
	AF_NTLMDOMAIN,
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

struct account {
	char *name;
	char *file; /* where it was defined ("" for the command line) */
	unsigned line;
	char *v[AF_N]; /* values as validated by conf.c; NULL: unset */
	uint64_t set;  /* which were set explicitly */
	struct account *next;
};

struct account *account_new(const char *name, const char *file, unsigned line);
void account_free(struct account *);
void account_free_list(struct account *);
int account_set(struct account *, enum acc_field, const char *value);
/* The value, or NULL when unset or empty. */
const char *account_str(const struct account *, enum acc_field);
/* "on"/"off" settings, with the default when unset. */
int account_on(const struct account *, enum acc_field, int dflt);
long account_num(const struct account *, enum acc_field, long dflt);
/* Copy every setting that src set explicitly. */
int account_inherit(struct account *dst, const struct account *src);
struct account *account_copy(const struct account *, const char *name,
    const char *file, unsigned line);
struct account *account_find(struct account *list, const char *name);
/* The setting's name in the configuration file. */
const char *account_field_name(enum acc_field);
/* Whether the account speaks LMTP (protocol lmtp). */
int account_lmtp(const struct account *);
/* The port: the setting, else 465 for implicit TLS, else 25. */
int account_port(const struct account *);
/* Settings that must agree with each other; EX_CONFIG otherwise. */
int account_check(const struct account *, struct error *);

#endif
