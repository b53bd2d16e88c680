/*
 * outbox: a sendmail-compatible mail submission client.
 * main.c: signals, the command line, one table from mode to handler, and
 * the one place that turns the outcome into a message and an exit code.
 * The handlers live in send.c (the modes that talk to the server now),
 * qrun.c (the queue), configure.c; preparation in prepare.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authorize.h"
#include "check.h"
#include "cli.h"
#include "configure.h"
#include "error.h"
#include "harden.h"
#include "idn.h"
#include "interrupt.h"
#include "log.h"
#include "prepare.h"
#include "qrun.h"
#include "sasl.h"
#include "send.h"
#include "spool.h"
#include "tls.h"

typedef int mode_fn(const struct cli *, FILE *, struct error *);

static int
help(const struct cli *c, FILE *out, struct error *err)
{
	cli_usage(out, c->prog);
	return 0;
}

static int
version(const struct cli *c, FILE *out, struct error *err)
{
	char *user = prepare_user_conf_path();

	fprintf(out, "outbox %s\n", OUTBOX_VERSION);
	fprintf(out, "TLS: GnuTLS %s; SASL: GNU SASL %s; IDN: libidn2 %s\n",
	    tls_version(), sasl_version(), idn_version());
	fprintf(out, "System configuration file: %s (else %s)\n",
	    PREPARE_SYSTEM_CONF, PREPARE_SYSTEM_CONF_MSMTP);
	fprintf(out,
	    "User configuration file: %s (else ~/.msmtprc, "
	    "$XDG_CONFIG_HOME/msmtp/config)\n",
	    user ? user : "?");
	fprintf(out, "System queue's drop directory: %s%s\n", SPOOL_DROP_DIR,
	    access(SPOOL_DROP_DIR, F_OK) == 0 ? "" : " (not set up)");
	fprintf(out,
	    "Copyright (C) 2026 the outbox developers. License GPLv3+: "
	    "GNU GPL version 3 or later.\n");
	free(user);
	return 0;
}

/* Installed as newaliases: package scripts run it. */
static int
newaliases(const struct cli *c, FILE *out, struct error *err)
{
	fputs("outbox has no alias database: aliases are read from the "
	      "file named by the aliases setting\n",
	    out);
	return 0;
}

static mode_fn *const modes[] = {
	[CLI_SEND] = send_stdin,
	[CLI_HELP] = help,
	[CLI_VERSION] = version,
	[CLI_PRETEND] = send_pretend,
	[CLI_SERVERINFO] = send_serverinfo,
	[CLI_RMQS] = send_rmqs,
	[CLI_CONFIGURE] = configure_run,
	[CLI_QUEUE_RUN] = qrun_run,
	[CLI_QUEUE_LIST] = qrun_list,
	[CLI_QUEUE_DROP] = qrun_drop,
	[CLI_BSMTP] = send_bs,
	[CLI_NEWALIASES] = newaliases,
	[CLI_CHECK] = check_run,
	[CLI_AUTHORIZE] = authorize_run,
};

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct error err;
	int code;

	error_clear(&err);
	/*
	 * A server that goes away mid-write is an error to report, not a
	 * signal to die of without a word or an exit code.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit is an error to report, like a full disk. */
	signal(SIGXFSZ, SIG_IGN);
	if (cli_parse(&cli, argc, argv, &err) == -1) {
		log_init(cli.prog ? cli.prog : "outbox", 0);
		log_error(&err);
		log_plain("Try '%s --help' for more information.",
		    cli.prog ? cli.prog : "outbox");
		free(cli.rcpt);
		return error_exit_code(err.kind);
	}
	log_init(cli.prog, cli.verbose);
	interrupt_init(cli.prog);
	/* Before any file, eval or password: never set-ID, no core dumps. */
	if (harden_process(&err) == -1) {
		log_error(&err);
		free(cli.rcpt);
		return error_exit_code(err.kind);
	}
	if (modes[cli.mode](&cli, stdout, &err) == -1 && !err.said)
		log_error(&err);
	code = error_exit_code(err.kind);
	free(cli.rcpt);
	return code;
}
