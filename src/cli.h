/* cli.h: the sendmail-style command line and the long options. */
#ifndef OUTBOX_CLI_H
#define OUTBOX_CLI_H

#include <stdio.h>

#include "error.h"

#define CLI_OVERRIDES_MAX 64

enum cli_mode {
	CLI_SEND,
	CLI_HELP,
	CLI_VERSION,
	CLI_PRETEND,	/* -P: print the configuration */
	CLI_SERVERINFO, /* -S: describe the server */
	CLI_RMQS,	/* --rmqs: ask the server to run a queue (ETRN) */
	CLI_CONFIGURE,	/* --configure: find the settings of an address */
	CLI_QUEUE_RUN,	/* -q, --flush: send what the queue holds */
	CLI_QUEUE_LIST, /* -bp, mailq: show the queue */
	CLI_QUEUE_DROP, /* --queue-drop=ID */
	CLI_BSMTP,	/* -bs: SMTP on standard input and output */
	CLI_NEWALIASES, /* newaliases, -bi: there is nothing to rebuild */
	CLI_CHECK,	/* --check: one session up to AUTH, no message */
	CLI_AUTHORIZE,	/* --authorize: get an OAuth2 refresh token */
};

/* A setting given on the command line, by its configuration name. */
struct cli_override {
	const char *option; /* the long option as typed, without -- */
	const char *name;
	const char *value;
};

struct cli {
	enum cli_mode mode;
	const char *prog;	 /* basename of argv[0], for messages */
	const char *conffile;	 /* -C */
	const char *account;	 /* -a */
	const char *from;	 /* -f, -r */
	const char *envid;	 /* -V: the DSN envelope identifier */
	int verbose;		 /* -v, -d */
	int read_recipients;	 /* -t */
	int read_envelope_from;	 /* --read-envelope-from */
	const char *rmqs;	 /* --rmqs: host, @domain or #queue */
	const char *configure;	 /* --configure: the address to look up */
	int configure_write;	 /* --write: append the account found */
	int configure_yes;	 /* --yes: without asking on the terminal */
	int warn_days;		 /* --warn-days: certificate must outlive it */
	const char *flow;	 /* --flow: device, browser or paste */
	int host_given;		 /* --host: no configuration files */
	char queue_by;		 /* -qI, -qR, -qS: by ID, recipient, sender */
	int queue_due_only;	 /* --queue-run: what the schedule says */
	const char *queue_match; /* what that selects by; queue_drop: ID */
	char **rcpt;		 /* the arguments left after the options */
	int nrcpt;
	struct cli_override ov[CLI_OVERRIDES_MAX];
	int nov;
};

int cli_parse(struct cli *, int argc, char **argv, struct error *);
void cli_usage(FILE *, const char *prog);

#endif
