/* cli.h: the sendmail and msmtp command line. */
#ifndef OUTBOX_CLI_H
#define OUTBOX_CLI_H

#include <stdio.h>

#include "error.h"

#define CLI_OVERRIDES_MAX 64

enum cli_mode {
	CLI_SEND,
	CLI_HELP,
	CLI_VERSION,
};

/* A setting given on the command line, by its configuration name. */
struct cli_override {
	const char *option; /* the long option as typed, without -- */
	const char *name;
	const char *value;
};

struct cli {
	enum cli_mode mode;
	const char *prog;     /* basename of argv[0], for messages */
	const char *conffile; /* -C */
	const char *account;  /* -a */
	const char *from;     /* -f, -r */
	const char *fullname; /* -F */
	int verbose;	      /* -v, -d */
	int host_given;	      /* --host: no configuration files */
	char **rcpt;	      /* the arguments left after the options */
	int nrcpt;
	struct cli_override ov[CLI_OVERRIDES_MAX];
	int nov;
};

int cli_parse(struct cli *, int argc, char **argv, struct error *);
void cli_usage(FILE *, const char *prog);

#endif
