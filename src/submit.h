/* submit.h: one submission over one connection: the driver. */
#ifndef OUTBOX_SUBMIT_H
#define OUTBOX_SUBMIT_H

#include "error.h"
#include "msg.h"
#include "smtp.h"
#include "tls.h"

struct submit_conf {
	const char *host; /* ASCII */
	int port;
	const char *source_ip;
	const char *socket_path; /* a Unix socket instead of host */
	const char *proxy_host;	 /* a SOCKS5 proxy, or NULL */
	int proxy_port;
	const char *proxy_user; /* RFC 1929, or NULL */
	const char *proxy_password;
	int timeout; /* seconds; 0: the defaults */
	int tls;
	int starttls;
	struct tls_conf tls_conf;
	struct smtp_params smtp;
	struct submit_info *info; /* with smtp.info_only */
	/*
	 * With smtp.token_retry: the OAuth token (force: a fresh one, the
	 * cached one was refused) and its mechanisms, best first; both
	 * stay the caller's until the next call.
	 */
	int (*fresh_token)(void *arg, int force, const char **token,
	    const char **mechs, struct error *);
	void *token_arg;
	int *plain_used; /* set to 1 when tls_starttls auto went plain */
	/*
	 * host may be the first of several servers (the host setting's
	 * list), tried in order while one cannot be reached or greets with
	 * a 4xx; host_used is set to the one the session went on with.
	 */
	const char *const *hosts;
	size_t nhosts;
	const char **host_used;
};

/* What -S shows: filled by submit when smtp.info_only is set. */
struct submit_info {
	char *greeting;
	char *ehlo;
	unsigned long long size_limit;
	char *tls; /* the session, then the certificates; or NULL */
	long long cert_expires; /* the server certificate's end, 0: none */
	const char *auth_mech;	/* the mechanism AUTH used, or NULL */
};

void submit_info_free(struct submit_info *);

/* Connect, run the engine to the end, and say what happened. */
int submit(const struct submit_conf *, struct msg *, struct error *);

/* One message of a session: its envelope (and session settings). */
struct submit_job {
	struct smtp_params smtp;
	struct msg *msg;
	void *tag; /* the caller's */
};

/* Fill the next job: 1, or 0 when there is none (-1 is taken as 0). */
typedef int submit_next_fn(void *ctx, struct submit_job *);
/* A job's outcome (ERR_NONE: accepted); s may be NULL. */
typedef void submit_done_fn(void *ctx, const struct submit_job *,
    const struct error *, const struct smtp *s);

/*
 * A job whose commands went out behind another's (pipelined) when the
 * session broke before any reply of its own came: the caller may offer
 * it again, on this connection's successor.
 */
typedef void submit_back_fn(void *ctx, const struct submit_job *);

/*
 * Several messages over one connection: 0 when the session ended well
 * (each message's own outcome went to done), -1 with err when it broke.
 * Nothing to send is 0 without connecting.  back may be NULL: then such
 * jobs share the session's outcome, as the one it broke in does.
 */
int submit_session(const struct submit_conf *, submit_next_fn *,
    submit_done_fn *, submit_back_fn *back, void *ctx, struct error *);

#endif
