/* error.h: what went wrong, and the one table that turns it into an exit code. */
#ifndef OUTBOX_ERROR_H
#define OUTBOX_ERROR_H

#include <stddef.h>

/*
 * The kinds follow what a caller must decide: retry later, fix the input,
 * fix the configuration, or give up.  error.c maps each kind to one sysexits
 * code; nothing else decides an exit code.
 */
enum error_kind {
	ERR_NONE = 0,
	ERR_USAGE, /* bad command line */
	ERR_DATA,  /* bad message or address; server refused envelope or data */
	ERR_NOINPUT, /* a named input file (certificate, trust file) unreadable */
	ERR_NOHOST,	 /* host name does not resolve */
	ERR_UNAVAILABLE, /* server lacks something we need, or refused for good */
	ERR_SOFTWARE,	 /* internal error, library initialisation */
	ERR_OSERR,	 /* system call failed: socket, out of memory */
	ERR_IO,		 /* local I/O error */
	ERR_TEMP,	 /* temporary: 4xx, timeout, connection trouble */
	ERR_PROTOCOL,	 /* the server broke the protocol */
	ERR_AUTH,	 /* authentication refused */
	ERR_CONFIG,	 /* configuration error */
};

#define ERROR_MSG_MAX 512
#define ERROR_REPLY_MAX 2048
#define ERROR_HINT_MAX 512

struct error {
	enum error_kind kind;
	int code;		 /* SMTP reply code, 0 if none */
	char msg[ERROR_MSG_MAX]; /* one line, no prefix */
	char
	    reply[ERROR_REPLY_MAX]; /* the server's reply lines, \n-separated */
	int said; /* told on stderr already: only its exit code is left */
	/*
	 * The line is whole: it names the account and what to do (a
	 * companion program's own line); no context, no hint is added.
	 */
	int whole;
	char hint[ERROR_HINT_MAX]; /* what to change (hint.c), or empty */
};

int error_set(struct error *, enum error_kind, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void error_clear(struct error *);
void error_set_reply(struct error *, int code, const char *text, size_t len);
int error_exit_code(enum error_kind);
/* The kind whose exit code a program returned (ERR_SOFTWARE if none). */
enum error_kind error_kind_of_exit(int code);
const char *error_exit_name(enum error_kind);
/* The SMTP reply class for a kind: 2 (none), 4 (temporary) or 5. */
int error_reply_class(enum error_kind);

#endif
