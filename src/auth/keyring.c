/*
 * keyring.c: the Secret Service (libsecret): the SMTP password under the
 * attributes msmtp uses (host, service "smtp", user), and refresh tokens
 * kept there with keyring=on.  Never prompts; gives up after a few
 * seconds when the bus does not answer.
 */
#include <libsecret/secret.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "keyring.h"

#define KEYRING_TIMEOUT 5

struct watchdog {
	GCancellable *cancel;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

static void *
watch(void *arg)
{
	struct watchdog *w = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += KEYRING_TIMEOUT;
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
			break;
	if (!w->done)
		g_cancellable_cancel(w->cancel);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
watch_start(struct watchdog *w)
{
	memset(w, 0, sizeof(*w));
	w->cancel = g_cancellable_new();
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return pthread_create(&w->thread, NULL, watch, w) == 0 ? 0 : -1;
}

static void
watch_stop(struct watchdog *w)
{
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	g_object_unref(w->cancel);
}

static int
have_bus(void)
{
	const char *a = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *x = getenv("XDG_RUNTIME_DIR");
	char path[512];

	if (a != NULL && *a != '\0')
		return 1;
	if (x == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/bus", x);
	return access(path, F_OK) == 0;
}

/*
 * Before any call: a session bus to call on, and the watchdog that
 * cancels a call left unanswered.  0, or KR_NOBUS or KR_FAIL with why.
 */
static int
begin(struct watchdog *w, char *why, size_t n)
{
	if (!have_bus()) {
		snprintf(why, n, "no session bus");
		return KR_NOBUS;
	}
	if (watch_start(w) != 0) {
		snprintf(why, n, "cannot start a thread");
		return KR_FAIL;
	}
	return 0;
}

/*
 * Look up the secret of the first item matching attrs (NULL-terminated
 * name/value pairs).  KR_FOUND with *out allocated, KR_NONE, or KR_NOBUS,
 * KR_LOCKED, KR_FAIL with why set.
 */
static int
lookup(const char *const *attrs, char **out, char *why, size_t n)
{
	GHashTable *h;
	GList *items;
	GError *err = NULL;
	SecretService *svc;
	struct watchdog w;
	int rc;

	*out = NULL;
	if ((rc = begin(&w, why, n)) != 0)
		return rc;
	rc = KR_NONE;
	svc = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, w.cancel,
	    &err);
	if (svc == NULL) {
		snprintf(why, n, "no Secret Service: %s",
		    err != NULL ? err->message : "unknown error");
		g_clear_error(&err);
		watch_stop(&w);
		return KR_NOBUS;
	}
	h = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; attrs[i] != NULL && attrs[i + 1] != NULL; i += 2)
		g_hash_table_insert(h, (gpointer)attrs[i],
		    (gpointer)attrs[i + 1]);
	items = secret_service_search_sync(svc, NULL, h,
	    SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS, w.cancel, &err);
	g_hash_table_unref(h);
	if (err != NULL) {
		snprintf(why, n, "Secret Service: %s", err->message);
		rc = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ?
		    KR_NOBUS :
		    KR_FAIL;
		g_clear_error(&err);
	} else {
		int locked = 0;

		for (GList *l = items; l != NULL && rc == KR_NONE;
		     l = l->next) {
			SecretItem *it = l->data;
			SecretValue *v;

			if (secret_item_get_locked(it)) {
				locked = 1;
				continue;
			}
			v = secret_item_get_secret(it);
			if (v != NULL) {
				gsize len;
				const gchar *s = secret_value_get(v, &len);

				*out = strndup(s, len);
				rc = *out != NULL ? KR_FOUND : KR_FAIL;
				secret_value_unref(v);
			}
		}
		if (rc == KR_NONE && locked) {
			snprintf(why, n, "the keyring is locked");
			rc = KR_LOCKED;
		}
	}
	g_list_free_full(items, g_object_unref);
	g_object_unref(svc);
	watch_stop(&w);
	return rc;
}

int
keyring_password(const char *host, const char *user, char **out, char *why,
    size_t n)
{
	const char *attrs[] = { "host", host, "service", "smtp",
		user ? "user" : NULL, user, NULL, NULL };

	return lookup(attrs, out, why, n);
}

int
keyring_get_refresh(const char *token_file, char **out, char *why, size_t n)
{
	const char *attrs[] = { "application", "outbox", "token_file",
		token_file, NULL, NULL };

	return lookup(attrs, out, why, n);
}

int
keyring_put_refresh(const char *account, const char *token_file,
    const char *token, char *why, size_t n)
{
	static const SecretSchema schema = {
		.name = "org.outbox.oauth2",
		.flags = SECRET_SCHEMA_DONT_MATCH_NAME,
		.attributes = { { "application",
				    SECRET_SCHEMA_ATTRIBUTE_STRING },
		    { "token_file", SECRET_SCHEMA_ATTRIBUTE_STRING } },
	};
	GError *err = NULL;
	struct watchdog w;
	char label[256];
	gboolean ok;
	int rc;

	if ((rc = begin(&w, why, n)) != 0)
		return rc;
	snprintf(label, sizeof(label), "outbox OAuth2 refresh token (%s)",
	    account);
	ok = secret_password_store_sync(&schema, SECRET_COLLECTION_DEFAULT,
	    label, token, w.cancel, &err, "application", "outbox", "token_file",
	    token_file, NULL);
	watch_stop(&w);
	if (!ok) {
		rc = err != NULL &&
			g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ?
		    KR_NOBUS :
		    KR_LOCKED;

		snprintf(why, n, "cannot store in the keyring: %s",
		    err != NULL ? err->message : "unknown error");
		g_clear_error(&err);
		return rc;
	}
	return KR_FOUND;
}
