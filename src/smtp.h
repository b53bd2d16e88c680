/*
 * smtp.h: the SMTP client engine.  It holds no socket: replies go in,
 * command bytes and actions come out, and the driver (submit.c) does the
 * I/O the action asks for.
 */
#ifndef OUTBOX_SMTP_H
#define OUTBOX_SMTP_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "reply.h"

/*
 * RFC 2920: transactions whose commands may go out behind the current
 * one before its replies came.  Each costs the server a few reply lines
 * (some 150 bytes) it must be able to write while the client is still
 * writing: 64 keep them well inside the smallest socket buffers.
 */
#define SMTP_AHEAD_MAX 64

enum smtp_action {
	SMTP_A_READ, /* flush the output, read one reply, smtp_on_reply */
	SMTP_A_TLS,  /* flush, start TLS, then smtp_tls_started */
	SMTP_A_BODY, /* flush, send the content, then smtp_body_done */
	SMTP_A_DONE, /* flush what is left, close: the mail was accepted */
	SMTP_A_FAIL, /* flush unless smtp_must_drop, close: smtp_error */
	/*
	 * With params.more: one transaction is over (smtp_error says how,
	 * ERR_NONE when the mail was accepted) and the session is still
	 * open: smtp_next starts the next one, smtp_quit ends it.
	 */
	SMTP_A_NEXT,
	/*
	 * With params.token_retry: the server refused the OAuth token,
	 * which came from the cache.  Get a fresh one and hand it to
	 * smtp_auth_retry (or give up with smtp_abort).  Said once at most.
	 */
	SMTP_A_TOKEN,
};

enum smtp_state {
	SMTP_S_CONNECTED,
	SMTP_S_GREETING,
	SMTP_S_EHLO,
	SMTP_S_HELO,
	SMTP_S_STARTTLS,
	SMTP_S_TLS,
	SMTP_S_AUTH,
	SMTP_S_MAIL,
	SMTP_S_RCPT,
	SMTP_S_DATA,
	SMTP_S_BODY,
	SMTP_S_DOT,
	SMTP_S_ETRN,
	SMTP_S_RSET,  /* a refused transaction is being cleared */
	SMTP_S_RESET, /* a transaction sent ahead began with RSET */
	SMTP_S_READY, /* between transactions, waiting for smtp_next */
	SMTP_S_DONE,
	SMTP_S_FAILED,
};

/* EHLO keywords we act on (RFC 5321 4.1.1.1), one bit each. */
enum smtp_cap {
	SMTP_CAP_8BITMIME = 1 << 0,
	SMTP_CAP_AUTH = 1 << 1,
	SMTP_CAP_CHUNKING = 1 << 2,
	SMTP_CAP_DSN = 1 << 3,
	SMTP_CAP_ENHANCEDSTATUSCODES = 1 << 4,
	SMTP_CAP_PIPELINING = 1 << 5,
	SMTP_CAP_SIZE = 1 << 6,
	SMTP_CAP_SMTPUTF8 = 1 << 7,
	SMTP_CAP_STARTTLS = 1 << 8,
	SMTP_CAP_REQUIRETLS = 1 << 9,
};

struct smtp_params {
	const char *helo;  /* EHLO/HELO argument */
	int starttls;	   /* upgrade with STARTTLS before anything else */
	int starttls_auto; /* with starttls: plain when it is not offered */
	int tls;	   /* TLS is on from the start */
	const char *auth;  /* NULL: none; "on": automatic; else a name */
	const char *user;
	const char *password;
	const char *realm; /* ntlmdomain, for NTLM */
	const char *from;  /* "" for the null sender */
	const char *const *rcpt;
	size_t nrcpt;
	int eightbit;		/* the content has (or may have) 8-bit bytes */
	int lmtp;		/* RFC 2033: LHLO, and a reply per recipient */
	const char *dsn_notify; /* RFC 3461: "failure,delay", "never"... */
	const char *dsn_return; /* "headers" or "full" */
	const char *envid;	/* RFC 3461 4.4: sendmail's -V, or NULL */
	int whole; /* all the content is known: BDAT may carry it (RFC 3030) */
	/* RFC 1870: the content's size (CRLF, dots unstuffed); 0 unknown */
	unsigned long long size;
	int info_only;	  /* stop after EHLO (and TLS): -S */
	const char *etrn; /* RFC 1985: ask the server to run a queue */
	int check_only;	  /* after EHLO, TLS and AUTH: RSET, no MAIL */
	int timeout;	  /* seconds for every wait; 0: RFC 5321 values */
	int more;	  /* another transaction follows on this connection */
	/*
	 * RFC 8689: the message must travel over TLS on every hop; MAIL
	 * says REQUIRETLS, and without TLS or the extension nothing is sent.
	 */
	int requiretls;
	/*
	 * The password is an OAuth token from a cache: a refusal (535, or
	 * an RFC 7628 error challenge) asks for a fresh one (SMTP_A_TOKEN).
	 */
	int token_retry;
	/* auth on with an OAuth token: its mechanisms, best first. */
	const char *oauth_mechs;
};

enum smtp_trace {
	SMTP_TRACE_SEND,  /* a command line as sent (secrets redacted) */
	SMTP_TRACE_STATE, /* "OLD -> NEW" */
};

typedef void smtp_trace_fn(void *ctx, enum smtp_trace, const char *text);

struct smtp;

struct smtp *smtp_new(const struct smtp_params *, smtp_trace_fn *, void *);
void smtp_free(struct smtp *);
enum smtp_action smtp_start(struct smtp *);
enum smtp_action smtp_on_reply(struct smtp *, const struct reply *);
/* TLS is up; cb is the channel binding (may be NULL). */
enum smtp_action smtp_tls_started(struct smtp *, const char *cb_type,
    const unsigned char *cb, size_t cblen);
/* The content and its final dot were written (size: content bytes). */
enum smtp_action smtp_body_done(struct smtp *, unsigned long long size);
/* The engine cannot go on: the content could not be read, say. */
enum smtp_action smtp_abort(struct smtp *, const struct error *);

/*
 * After SMTP_A_NEXT: the next transaction on the same connection.  Only
 * the envelope and content fields of p are new; the session's stay.
 */
enum smtp_action smtp_next(struct smtp *, const struct smtp_params *);
/* After SMTP_A_TOKEN: AUTH again, on the same connection, with token. */
enum smtp_action smtp_auth_retry(struct smtp *, const char *token);
/* After SMTP_A_NEXT: nothing more to send; QUIT, then SMTP_A_DONE. */
enum smtp_action smtp_quit(struct smtp *);

/*
 * A queue flush in few round trips (RFC 2920 3.1, RFC 3030 4): while the
 * engine waits for replies, the next transaction may go out behind the
 * current one.  smtp_ahead_room says whether one may now: the server
 * pipelines, the newest transaction said more follow and its content is
 * on its way, and the window has room.  smtp_ahead queues its commands
 * (after a BDAT transaction, RSET first: RFC 3030 leaves open whether a
 * refused BDAT ends the transaction) and returns 1 when its content joins
 * them (send it as smtp_bdat says, then smtp_body_done), 0 when it waits
 * for the replies, -1 when the engine refused it without sending
 * anything (err: its outcome; the session goes on).  When a transaction
 * ends with transactions ahead, SMTP_A_NEXT is followed by smtp_resume,
 * which makes the oldest of them the current one.  Each keeps its own
 * outcome; a session that breaks takes those ahead with it.
 */
int smtp_ahead_room(const struct smtp *);
int smtp_ahead(struct smtp *, const struct smtp_params *, struct error *);
/* The content smtp_ahead asked for could not be read: not sent. */
void smtp_ahead_body_lost(struct smtp *);
/* Transactions ahead of the current one. */
size_t smtp_ahead_count(const struct smtp *);
enum smtp_action smtp_resume(struct smtp *);

/* Bytes to send; the driver takes them and empties the buffer. */
struct buf *smtp_output(struct smtp *);
/* Whether the output holds a secret (wipe it once sent). */
int smtp_output_secret(struct smtp *);
/* After a failure: close without sending anything more. */
int smtp_must_drop(const struct smtp *);
/* Seconds the driver may wait for the reply the engine expects. */
int smtp_wait_seconds(const struct smtp *);
const struct error *smtp_error(const struct smtp *);
enum smtp_state smtp_state(const struct smtp *);
unsigned smtp_caps(const struct smtp *);
const char *smtp_state_name(enum smtp_state);
/* Per recipient: the RCPT reply code, 0 if none came. */
int smtp_rcpt_code(const struct smtp *, size_t i);
/* Whether the server took the mail for recipient i (LMTP: its reply). */
int smtp_rcpt_delivered(const struct smtp *, size_t i);
/*
 * Whether the content goes as one "BDAT n LAST" (RFC 3030) rather than
 * after DATA: then it is sent neither dot-stuffed nor with a final dot.
 */
int smtp_bdat(const struct smtp *);
/* The greeting and the last EHLO reply (lines joined by \n), or "". */
const char *smtp_greeting(const struct smtp *);
const char *smtp_ehlo_reply(const struct smtp *);
/* The server's SIZE limit (RFC 1870), 0 if none was given. */
unsigned long long smtp_size_limit(const struct smtp *);
/* Whether tls_starttls auto went on in plain text. */
int smtp_plain_fallback(const struct smtp *);
/* Which mechanism AUTH used, or NULL. */
const char *smtp_auth_mech(const struct smtp *);

#endif
