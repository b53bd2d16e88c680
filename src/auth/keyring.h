/* keyring.h: the Secret Service lookups outbox-auth makes (keyring.c). */
#ifndef OUTBOX_AUTH_KEYRING_H
#define OUTBOX_AUTH_KEYRING_H

#include <stddef.h>

enum {
	KR_FOUND,
	KR_NONE,
	KR_NOBUS,
	KR_LOCKED,
	KR_FAIL
};

int keyring_password(const char *host, const char *user, char **out, char *why,
    size_t n);
int keyring_get_refresh(const char *token_file, char **out, char *why,
    size_t n);
int keyring_put_refresh(const char *account, const char *token_file,
    const char *token, char *why, size_t n);

#endif
