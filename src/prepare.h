/*
 * prepare.h: from what was asked for one message to a ready submission.
 *
 * A request says what was asked (from argv, from a queue entry, or from
 * one -bs transaction); preparation finds and merges the configuration
 * files, chooses the account, reads the message's header, works out the
 * envelope and the header edits, fetches the password, and fills a
 * struct submit_conf.  It prints nothing and exits nowhere.
 */
#ifndef OUTBOX_PREPARE_H
#define OUTBOX_PREPARE_H

#include <stddef.h>

#include "account.h"
#include "addr.h"
#include "cli.h"
#include "error.h"
#include "msg.h"
#include "submit.h"

/* The system's files: outbox's own, else msmtp's. */
#define PREPARE_SYSTEM_CONF OUTBOX_SYSCONFDIR "/outbox.conf"
#define PREPARE_SYSTEM_CONF_MSMTP OUTBOX_SYSCONFDIR "/msmtprc"

struct request {
	const char *conffile; /* -C; NULL: the usual places */
	const char *account;  /* -a; NULL: by sender, else "default" */
	int host_given;	      /* --host: the command line is the account */
	const struct cli_override *ov; /* settings given as options */
	int nov;
	const char *from;	/* -f; "<>" or "" for the null sender */
	int read_envelope_from; /* --read-envelope-from */
	char *const *rcpt;	/* each read as a To: field would be */
	size_t nrcpt;
	int read_recipients; /* -t: the header's too (and with none given) */
	const char *envid;   /* -V */
	int msg_fd;	     /* the message; -1: there is none */
	int account_only;    /* -P: choose the account, no more */
	int info_only;	     /* -S: connect and look; no login */
	const char *etrn;    /* --rmqs: what to ask the server to run */
	int check_only;	     /* --check: log in, RSET, QUIT */
	int requiretls;	     /* -bs: MAIL said REQUIRETLS (RFC 8689) */
};

/* What one request was asked from the command line. */
void prepare_request_from_cli(struct request *, const struct cli *);

/* The configuration read, and what one message needed; see prepare(). */
struct prepared {
	struct account *accounts;
	struct account *acc;		 /* the account chosen */
	char *conf_files;		 /* the files read, for messages */
	int plain_used;			 /* tls_starttls auto went plain */
	const char *host_used;		 /* the server of the host list used */
	char skipped[ERROR_MSG_MAX + 8]; /* a system file not read */
	int configured;			 /* the files were read */
	char *header_from;		 /* the From field's address */
	char *from;			 /* the envelope sender */
	struct addrlist rcpt;		 /* the envelope recipients */
	char *password;			 /* or the OAuth access token */
	char *oauth_mechs;    /* the token's SASL mechanisms, best first */
	char *proxy_password; /* RFC 1929, for the SOCKS proxy */
	char *host;	      /* in A-labels: the first of hosts */
	char **hosts;	      /* the host setting's list, in A-labels */
	size_t nhosts;
	char *tls_host; /* tls_host_override in A-labels */
	char *helo;	/* domain, substituted, in A-labels */
	struct msg *msg;
	struct submit_conf sc;
};

/*
 * Read the configuration (once: a -bs session prepares many messages
 * from one reading), choose the account, and with a message (msg_fd) read
 * its header and work out envelope and header edits; fill p->sc.  Call
 * prepare_message_free between two messages.
 */
int prepare(struct prepared *, const struct request *, struct error *);
/* Read the files alone (the queue's listing wants their queue_dir). */
int prepare_config(struct prepared *, const struct request *, struct error *);
/* Forget one message's part; the configuration stays. */
void prepare_message_free(struct prepared *);
void prepare_free(struct prepared *);

/* Where this user's configuration file is looked for first. */
char *prepare_user_conf_path(void);
/* Whether this user has a configuration file of their own. */
int prepare_has_user_file(void);

/*
 * from's and domain's substitutions: %U the user, %H the host name, %C
 * its canonical name, %M the mail name of the system, %F the From header's
 * address (header_from, may be NULL).
 */
char *prepare_expand(const char *text, const char *header_from, struct error *);

#endif
