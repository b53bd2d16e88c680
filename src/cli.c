/* cli.c: sendmail's options (glued or split) and the long options. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum act {
	A_CONF,	      /* -C FILE */
	A_ACCOUNT,    /* -a NAME */
	A_FROM,	      /* -f ADDR, -r ADDR */
	A_VERBOSE,    /* -v, -d */
	A_MODE,	      /* -b MODE */
	A_READ_RCPT,  /* -t */
	A_PRETEND,    /* -P */
	A_SERVERINFO, /* -S */
	A_ENVID,      /* -V ID */
	A_SETTING,    /* sets the account setting named in `what' */
	A_IGNORE,     /* accepted, does nothing: `what' says why */
	A_LATER,      /* known, not handled by this version: `what' names it */
	A_QUEUE,      /* -q[f|I|R|S...] */
};

/*
 * sendmail's single-letter options.  The ones outbox accepts and ignores
 * are here with the reason, so that callers passing them keep working.
 */
static const struct shortopt {
	char letter;
	int arg; /* 0 none, 1 required, 2 optional and glued only */
	enum act act;
	const char *what;
} shortopts[] = {
	{ 'A', 1, A_IGNORE, "selects a sendmail configuration file" },
	{ 'B', 1, A_IGNORE,
	    "8-bit content is declared from the content itself" },
	{ 'C', 1, A_CONF, NULL },
	{ 'F', 1, A_SETTING, "from_full_name" },
	{ 'G', 0, A_IGNORE, "gateway submission changes nothing here" },
	{ 'L', 1, A_IGNORE, "sets a syslog tag" },
	{ 'N', 1, A_SETTING, "dsn_notify" },
	{ 'O', 1, A_IGNORE, "sets a sendmail configuration option" },
	{ 'P', 0, A_PRETEND, NULL },
	{ 'R', 1, A_SETTING, "dsn_return" },
	{ 'S', 0, A_SERVERINFO, NULL },
	{ 'V', 1, A_ENVID, NULL },
	{ 'X', 1, A_IGNORE,
	    "would log traffic to a file named on the command line; never "
	    "written, for safety" },
	{ 'a', 1, A_ACCOUNT, NULL },
	{ 'b', 1, A_MODE, NULL },
	{ 'd', 2, A_VERBOSE, NULL },
	{ 'f', 1, A_FROM, NULL },
	{ 'h', 1, A_IGNORE, "sets a hop count" },
	{ 'i', 0, A_IGNORE,
	    "a lone dot never ends the message: outbox always reads to "
	    "the end" },
	{ 'm', 0, A_IGNORE, "\"me too\" is the server's business" },
	{ 'n', 0, A_IGNORE, "turns off aliasing" },
	{ 'o', 1, A_IGNORE, "sendmail -o options (-oi, -oem, -odi, ...)" },
	{ 'q', 2, A_QUEUE, NULL },
	{ 'r', 1, A_FROM, NULL },
	{ 't', 0, A_READ_RCPT, NULL },
	{ 'v', 0, A_VERBOSE, NULL },
};

/* Long options; those with a setting override the account's. */
static const struct longopt {
	const char *name;
	int arg;	     /* 0 none, 1 required, 2 optional (=value) */
	char letter;	     /* same as this short option */
	const char *setting; /* or this configuration setting */
} longopts[] = {
	{ "account", 1, 'a', NULL },
	{ "add-missing-date-header", 2, 0, "add_missing_date_header" },
	{ "add-missing-from-header", 2, 0, "add_missing_from_header" },
	{ "aliases", 1, 0, "aliases" },
	{ "auth", 2, 0, "auth" },
	{ "authorize", 0, 0, NULL },
	{ "auto-from", 2, 0, "auto_from" },
	{ "check", 0, 0, NULL },
	{ "configure", 1, 0, NULL },
	{ "connect-timeout", 1, 0, "connect_timeout" },
	{ "debug", 2, 'd', NULL },
	{ "domain", 1, 0, "domain" },
	{ "dsn-notify", 1, 0, "dsn_notify" },
	{ "dsn-return", 1, 0, "dsn_return" },
	{ "file", 1, 'C', NULL },
	{ "flow", 1, 0, NULL },
	{ "flush", 0, 0, NULL },
	{ "from", 1, 'f', NULL },
	{ "help", 0, 0, NULL },
	{ "host", 1, 0, "host" },
	{ "keepbcc", 2, 0, "keepbcc" },
	{ "logfile", 1, 0, "logfile" },
	{ "logfile-time-format", 1, 0, "logfile_time_format" },
	{ "maildomain", 1, 0, "maildomain" },
	{ "passwordeval", 1, 0, "passwordeval" },
	{ "port", 1, 0, "port" },
	{ "pretend", 0, 'P', NULL },
	{ "protocol", 1, 0, "protocol" },
	{ "proxy-host", 1, 0, "proxy_host" },
	{ "proxy-port", 1, 0, "proxy_port" },
	{ "queue-drop", 1, 0, NULL },
	{ "queue-run", 0, 0, NULL },
	{ "read-envelope-from", 0, 0, NULL },
	{ "read-recipients", 0, 't', NULL },
	{ "remove-bcc-headers", 2, 0, "remove_bcc_headers" },
	{ "requiretls", 2, 0, "requiretls" },
	{ "rmqs", 1, 0, NULL },
	{ "serverinfo", 0, 'S', NULL },
	{ "set-date-header", 2, 0, "set_date_header" },
	{ "set-from-header", 2, 0, "set_from_header" },
	{ "set-msgid-header", 2, 0, "set_msgid_header" },
	{ "set-to-header", 2, 0, "set_to_header" },
	{ "socket", 1, 0, "socket" },
	{ "source-ip", 1, 0, "source_ip" },
	{ "syslog", 2, 0, "syslog" },
	{ "timeout", 1, 0, "timeout" },
	{ "tls", 2, 0, "tls" },
	{ "tls-cert-file", 1, 0, "tls_cert_file" },
	{ "tls-certcheck", 2, 0, "tls_certcheck" },
	{ "tls-crl-file", 1, 0, "tls_crl_file" },
	{ "tls-fingerprint", 1, 0, "tls_fingerprint" },
	{ "tls-force-sslv3", 2, 0, "tls_force_sslv3" },
	{ "tls-host-override", 1, 0, "tls_host_override" },
	{ "tls-key-file", 1, 0, "tls_key_file" },
	{ "tls-min-dh-prime-bits", 1, 0, "tls_min_dh_prime_bits" },
	{ "tls-priorities", 1, 0, "tls_priorities" },
	{ "tls-starttls", 2, 0, "tls_starttls" },
	{ "tls-trust-file", 1, 0, "tls_trust_file" },
	{ "undisclosed-recipients", 2, 0, "undisclosed_recipients" },
	{ "user", 1, 0, "user" },
	{ "version", 0, 0, NULL },
	{ "warn-days", 1, 0, NULL },
	{ "write", 0, 0, NULL },
	{ "yes", 0, 0, NULL },
};

static const struct shortopt *
find_short(char c)
{
	size_t i;

	for (i = 0; i < sizeof(shortopts) / sizeof(shortopts[0]); i++)
		if (shortopts[i].letter == c)
			return &shortopts[i];
	return NULL;
}

static int
add_override(struct cli *c, const char *option, const char *setting,
    const char *value, struct error *err)
{
	if (c->nov == CLI_OVERRIDES_MAX)
		return error_set(err, ERR_USAGE, "too many options");
	c->ov[c->nov].option = option;
	c->ov[c->nov].name = setting;
	c->ov[c->nov].value = value;
	c->nov++;
	if (strcmp(setting, "host") == 0)
		c->host_given = 1;
	return 0;
}

/*
 * RFC 3461 4.4: the envelope identifier goes in xtext (a byte outside
 * printable ASCII, "+" or "=" takes three characters), 100 at most.
 */
static int
set_envid(struct cli *c, const char *arg, struct error *err)
{
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)arg; *p != '\0'; p++)
		n += *p > ' ' && *p < 0x7f && *p != '+' && *p != '=' ? 1 : 3;
	if (n == 0 || n > 100)
		return error_set(err, ERR_USAGE,
		    "-V: the envelope identifier must be 1 to 100 characters "
		    "once encoded (RFC 3461)");
	c->envid = arg;
	return 0;
}

/*
 * -q runs the queue once; -qf the same (in the foreground, as always);
 * -qIabc, -qRabc, -qSabc pick messages by ID, recipient or sender and
 * send them now.  A daemon's interval (-q30m) is for a timer to keep.
 */
static int
queue_option(struct cli *c, const char *arg, struct error *err)
{
	c->mode = CLI_QUEUE_RUN;
	if (*arg == '\0' || strcmp(arg, "f") == 0)
		return 0;
	if (strchr("IRS", *arg) != NULL) {
		if (arg[1] == '\0')
			return error_set(err, ERR_USAGE,
			    "-q%c needs what to match, glued to it "
			    "(-q%cTEXT)",
			    *arg, *arg);
		c->queue_by = *arg;
		c->queue_match = arg + 1;
		return 0;
	}
	if (*arg >= '0' && *arg <= '9')
		return error_set(err, ERR_USAGE,
		    "-q%s: outbox does not stay running to flush at "
		    "intervals; run -q from a timer (see outbox(1))",
		    arg);
	return error_set(err, ERR_USAGE, "unknown queue option -q%s", arg);
}

static int
apply_short(struct cli *c, const struct shortopt *o, const char *arg,
    struct error *err)
{
	static const char *const shown[] = { "-F", "-N", "-R" };

	switch (o->act) {
	case A_CONF:
		c->conffile = arg;
		break;
	case A_ACCOUNT:
		c->account = arg;
		break;
	case A_FROM:
		c->from = arg;
		break;
	case A_VERBOSE:
		c->verbose++;
		break;
	case A_READ_RCPT:
		c->read_recipients = 1;
		break;
	case A_PRETEND:
		c->mode = CLI_PRETEND;
		break;
	case A_SERVERINFO:
		c->mode = CLI_SERVERINFO;
		break;
	case A_ENVID:
		return set_envid(c, arg, err);
	case A_MODE:
		/* -bm is the default mode: deliver the message. */
		if (strcmp(arg, "m") == 0)
			break;
		if (strcmp(arg, "s") == 0) {
			c->mode = CLI_BSMTP;
			break;
		}
		if (strcmp(arg, "p") == 0) {
			c->mode = CLI_QUEUE_LIST;
			break;
		}
		if (strcmp(arg, "i") == 0) {
			c->mode = CLI_NEWALIASES;
			break;
		}
		return error_set(err, ERR_USAGE,
		    "unsupported operation mode -b%s", arg);
	case A_SETTING:
		/* sendmail's -R says "hdrs" where the setting says headers. */
		if (o->letter == 'R' && strcmp(arg, "hdrs") == 0)
			arg = "headers";
		return add_override(c,
		    shown[o->letter == 'F'   ? 0 :
			    o->letter == 'N' ? 1 :
					       2],
		    o->what, arg, err);
	case A_QUEUE:
		return queue_option(c, arg, err);
	case A_IGNORE:
		break;
	case A_LATER:
		return error_set(err, ERR_USAGE,
		    "%s is not supported by this version of outbox", o->what);
	}
	return 0;
}

static int
parse_long(struct cli *c, int argc, char **argv, int *i, struct error *err)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '='), *val = NULL;
	size_t n = eq ? (size_t)(eq - name) : strlen(name), k;
	const struct longopt *o = NULL;

	for (k = 0; k < sizeof(longopts) / sizeof(longopts[0]); k++)
		if (strlen(longopts[k].name) == n &&
		    strncmp(longopts[k].name, name, n) == 0)
			o = &longopts[k];
	if (o == NULL)
		return error_set(err, ERR_USAGE, "unknown option --%.*s",
		    (int)n, name);
	if (eq != NULL) {
		if (o->arg == 0)
			return error_set(err, ERR_USAGE,
			    "option --%s takes no value", o->name);
		val = eq + 1;
	} else if (o->arg == 1) {
		if (*i + 1 >= argc)
			return error_set(err, ERR_USAGE,
			    "option --%s needs a value", o->name);
		val = argv[++*i];
	}
	if (strcmp(o->name, "help") == 0) {
		c->mode = CLI_HELP;
		return 0;
	}
	if (strcmp(o->name, "version") == 0) {
		c->mode = CLI_VERSION;
		return 0;
	}
	if (strcmp(o->name, "read-envelope-from") == 0) {
		c->read_envelope_from = 1;
		return 0;
	}
	if (strcmp(o->name, "configure") == 0) {
		c->mode = CLI_CONFIGURE;
		c->configure = val;
		return 0;
	}
	if (strcmp(o->name, "write") == 0) {
		c->configure_write = 1;
		return 0;
	}
	if (strcmp(o->name, "yes") == 0) {
		c->configure_yes = 1;
		return 0;
	}
	if (strcmp(o->name, "check") == 0) {
		c->mode = CLI_CHECK;
		return 0;
	}
	if (strcmp(o->name, "warn-days") == 0) {
		char *end;
		long days = strtol(val, &end, 10);

		if (*val == '\0' || *end != '\0' || days < 0 || days > 36500)
			return error_set(err, ERR_USAGE,
			    "--warn-days wants a number of days, not \"%s\"",
			    val);
		c->warn_days = (int)days;
		return 0;
	}
	if (strcmp(o->name, "authorize") == 0) {
		c->mode = CLI_AUTHORIZE;
		return 0;
	}
	if (strcmp(o->name, "flow") == 0) {
		if (strcmp(val, "device") != 0 && strcmp(val, "browser") != 0 &&
		    strcmp(val, "paste") != 0)
			return error_set(err, ERR_USAGE,
			    "--flow: expected device, browser or paste, not "
			    "\"%s\"",
			    val);
		c->flow = val;
		return 0;
	}
	if (strcmp(o->name, "flush") == 0) {
		c->mode = CLI_QUEUE_RUN;
		return 0;
	}
	if (strcmp(o->name, "queue-run") == 0) {
		c->mode = CLI_QUEUE_RUN;
		c->queue_due_only = 1;
		return 0;
	}
	if (strcmp(o->name, "queue-drop") == 0) {
		c->mode = CLI_QUEUE_DROP;
		c->queue_match = val;
		return 0;
	}
	if (strcmp(o->name, "rmqs") == 0) {
		if (*val == '\0')
			return error_set(err, ERR_USAGE,
			    "--rmqs needs a host, "
			    "@domain or #queue");
		c->mode = CLI_RMQS;
		c->rmqs = val;
		return 0;
	}
	/* sendmail's "hdrs" is the setting's "headers", as with -R. */
	if (o->setting != NULL && strcmp(o->setting, "dsn_return") == 0 &&
	    strcmp(val, "hdrs") == 0)
		val = "headers";
	if (o->setting != NULL)
		return add_override(c, o->name, o->setting, val ? val : "",
		    err);
	return apply_short(c, find_short(o->letter), val, err);
}

/* One "-xyz" cluster; options with a value take the rest or the next. */
static int
parse_short(struct cli *c, int argc, char **argv, int *i, struct error *err)
{
	const char *p = argv[*i] + 1, *arg;
	const struct shortopt *o;

	for (; *p != '\0'; p++) {
		if ((o = find_short(*p)) == NULL)
			return error_set(err, ERR_USAGE, "unknown option -%c",
			    *p);
		if (o->arg == 0) {
			if (apply_short(c, o, NULL, err) == -1)
				return -1;
			continue;
		}
		if (p[1] != '\0')
			arg = p + 1;
		else if (o->arg == 2)
			arg = "";
		else if (*i + 1 < argc)
			arg = argv[++*i];
		else
			return error_set(err, ERR_USAGE,
			    "option -%c needs a value", *p);
		return apply_short(c, o, arg, err);
	}
	return 0;
}

int
cli_parse(struct cli *c, int argc, char **argv, struct error *err)
{
	const char *slash;
	int i, nargs = 0;

	memset(c, 0, sizeof(*c));
	c->prog = argc > 0 && argv[0] != NULL ? argv[0] : "outbox";
	if ((slash = strrchr(c->prog, '/')) != NULL)
		c->prog = slash + 1;
	/* Installed under sendmail's other names. */
	if (strcmp(c->prog, "mailq") == 0)
		c->mode = CLI_QUEUE_LIST;
	if (strcmp(c->prog, "newaliases") == 0)
		c->mode = CLI_NEWALIASES;
	if ((c->rcpt = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				c->rcpt[nargs++] = argv[i];
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			c->rcpt[nargs++] = argv[i];
			continue;
		}
		if (argv[i][1] == '-') {
			if (parse_long(c, argc, argv, &i, err) == -1)
				return -1;
		} else if (parse_short(c, argc, argv, &i, err) == -1)
			return -1;
	}
	c->nrcpt = nargs;
	if (c->host_given && c->account != NULL)
		return error_set(err, ERR_USAGE,
		    "cannot use both --host and --account");
	if ((c->configure_write || c->configure_yes) &&
	    c->mode != CLI_CONFIGURE)
		return error_set(err, ERR_USAGE,
		    "%s goes with --configure only",
		    c->configure_write ? "--write" : "--yes");
	if (c->configure_yes && !c->configure_write)
		return error_set(err, ERR_USAGE,
		    "--yes goes with --write only");
	if (c->from != NULL && c->read_envelope_from)
		return error_set(err, ERR_USAGE,
		    "cannot use both -f and --read-envelope-from");
	if (c->mode != CLI_SEND && c->mode != CLI_HELP &&
	    c->mode != CLI_VERSION && nargs > 0)
		return error_set(err, ERR_USAGE, "%s takes no recipients",
		    c->mode == CLI_SERVERINFO ?
			"-S" :
			c->mode == CLI_PRETEND ?
			"-P" :
			c->mode == CLI_QUEUE_RUN ?
			(c->queue_due_only ? "--queue-run" : "-q") :
			c->mode == CLI_QUEUE_LIST ? "-bp" :
			c->mode == CLI_QUEUE_DROP ? "--queue-drop" :
			c->mode == CLI_CONFIGURE  ? "--configure" :
			c->mode == CLI_CHECK	  ? "--check" :
			c->mode == CLI_BSMTP ? "-bs (they come with RCPT)" :
			c->mode == CLI_NEWALIASES ? "newaliases" :
			c->mode == CLI_AUTHORIZE  ? "--authorize" :
						    "--rmqs");
	return 0;
}

void
cli_usage(FILE *fp, const char *prog)
{
	fprintf(fp,
	    "usage: %s [options] [--] recipient...\n"
	    "       %s -S [options]      describe the server\n"
	    "       %s --check [-a ACCOUNT] [--warn-days=N]  log in as a "
	    "send would, send\n"
	    "                        no message (RSET, QUIT); exit 0 when "
	    "all is well\n"
	    "       %s -P [options]      print the configuration in use\n"
	    "       %s --rmqs=HOST|@DOMAIN|#QUEUE [options]\n"
	    "       %s --configure=ADDRESS [--write [--yes]] [-a NAME] [-C FILE]\n"
	    "                        [--passwordeval=CMD]  find the "
	    "server (autoconfig over\n"
	    "                        HTTPS, MX, SRV, known providers) and "
	    "print an account;\n"
	    "                        --write appends it to the file "
	    "(asking first), then\n"
	    "                        checks it as --check does when "
	    "--passwordeval is given\n"
	    "       %s -q [-qIID|-qRRCPT|-qSSENDER]  send what the queue "
	    "holds, now (--flush)\n"
	    "       %s --queue-run       send what is due (for a timer)\n"
	    "       %s -bp               list the queue (also as mailq)\n"
	    "       %s --queue-drop=ID   delete a queued message\n"
	    "       %s -bs [options]     speak SMTP on standard input and "
	    "output\n"
	    "       %s --authorize [-a ACCOUNT] [--flow=device|browser|paste]\n"
	    "                         sign in once, for an OAuth2 account\n"
	    "Send the message on standard input to the recipients, through "
	    "the SMTP server\nof the chosen account.\n"
	    "\n"
	    "  -C, --file=FILE       use this configuration file\n"
	    "  -a, --account=NAME    use this account (default: chosen by "
	    "-f, else \"default\")\n"
	    "  -f, -r, --from=ADDR   envelope sender (\"<>\" for none)\n"
	    "  --read-envelope-from  take the envelope sender from the From "
	    "header field\n"
	    "  -t, --read-recipients add the recipients in To, Cc and Bcc\n"
	    "  -F NAME               the sender's full name, for an added "
	    "From field\n"
	    "  -N LIST, -R RET       delivery status notifications "
	    "(--dsn-notify, --dsn-return)\n"
	    "  --requiretls          ask for TLS on every hop to the "
	    "recipients (RFC 8689)\n"
	    "  -V ENVID              envelope identifier for those "
	    "notifications\n"
	    "  -v, -d, --debug       print the SMTP dialogue (secrets "
	    "hidden)\n"
	    "  -S, --serverinfo      print what the server offers, and its "
	    "certificate\n"
	    "  -P, --pretend         print the configuration in use, and "
	    "stop\n"
	    "  --rmqs=HOST|@DOMAIN|#QUEUE  ask the server to send its "
	    "queued mail (ETRN)\n"
	    "  --host=HOST           use no configuration file; settings "
	    "from options\n"
	    "  --SETTING=VALUE       any setting of the configuration file, "
	    "'_' written '-':\n"
	    "                        --port, --timeout, --tls, --auth, "
	    "--user, --logfile, ...\n"
	    "                        (see outbox.conf(5); there is no "
	    "--password)\n"
	    "  --help, --version\n"
	    "\n"
	    "Accepted and ignored, as sendmail callers pass them: -i, -oXXX, "
	    "-B TYPE, -G,\n"
	    "-h N, -L TAG, -m, -n, -O OPT, -A X, -X FILE, -bm.\n"
	    "With \"queue on-failure\" or \"queue always\" in the account, "
	    "a message that cannot\nbe sent now is kept in the queue "
	    "(queue_dir) and sent by -q; see outbox(1).\n"
	    "Exit status: 0 sent (or queued); 75 temporary failure (try "
	    "again later); "
	    "others: see outbox(1).\n",
	    prog, prog, prog, prog, prog, prog, prog, prog, prog, prog, prog,
	    prog);
}
