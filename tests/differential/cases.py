"""The differential cases: outbox against msmtp (see diffrun.py).

Each case gives a configuration (msmtp format; @PORT@ is the test
server's port, @DIR@ the case's scratch directory, @CERTS@ the
certificate directory), an argv (after "-C CONFIG"), the standard input,
and the rules of the test server (the sink of tests/lib/outboxtest/
smtpserver.py; "unix": True puts it on a Unix-domain socket).  Both
programs run with HOME in the scratch directory, USER=LOGNAME=difftest, HOSTNAME=diffhost.example,
TZ=UTC, LC_ALL=C.UTF-8 (a case may change or unset these with env).

expect_diff lists the deliberate differences, aspect by aspect, with the
exact value expected from each side and where the difference is
documented; any difference not listed fails the case.
"""


class Case:
    def __init__(self, name, doc, config, argv, stdin, server=None,
                 exit="class", rcpt_order="list", expect=None,
                 expect_diff=None, files=None, env=None, timeout=20,
                 headers_absent=(), headers_present=(),
                 config_msmtp=None, msmtp_unsupported=None,
                 version_diff=None, no_config=False, proxy=None):
        self.name = name
        self.doc = doc
        self.config = config
        self.argv = list(argv)
        self.stdin = stdin if isinstance(stdin, bytes) else stdin.encode()
        self.server = dict(server or {})
        self.exit = exit
        self.rcpt_order = rcpt_order
        self.expect = dict(expect or {})
        self.expect_diff = dict(expect_diff or {})
        # Differences that come from the installed msmtp (1.8.23) being
        # older than the behaviour msmtp-compat.md describes (HEAD): not
        # outbox's choice, but checked exactly the same way.
        for k, v in (version_diff or {}).items():
            v = dict(v)
            v["why"] = "installed msmtp 1.8.23 is older than the " \
                "reference: " + v.get("why", "")
            self.expect_diff[k] = v
        self.files = dict(files or {})
        self.env = dict(env or {})
        self.timeout = timeout
        self.expect_headers_absent = list(headers_absent)
        self.expect_headers_present = list(headers_present)
        # A different file for msmtp, where the two spell one setting
        # differently (e.g. a command the installed msmtp predates).
        self.config_msmtp = config_msmtp
        # The installed msmtp lacks the feature: it must refuse the file
        # (exit 78), and outbox is checked against expect alone.
        self.msmtp_unsupported = msmtp_unsupported
        # Neither side gets -C: no configuration file at all (the HOME of
        # both is empty), for the SMTPSERVER and EMAIL fallback.
        self.no_config = no_config
        # Start the scripted suite's SOCKS5 proxy (socks5.py) with these
        # options; its port is @PROXY_PORT@.
        self.proxy = proxy
        # Unless a case says otherwise, both must deliver and exit 0.
        # A case expecting no delivery and naming no status expects a
        # failure status (non-zero) from both.
        self.expect_nonzero = False
        if "exit" not in self.expect and "exit" not in self.expect_diff:
            if self.expect.get("delivered") is False:
                self.expect_nonzero = True
            else:
                self.expect.setdefault("exit", 0)
                self.expect.setdefault("delivered", True)


def acct(extra="", frm="sender@example.org"):
    """A one-account file for the test server, plus extra lines."""
    return ("account default\nhost 127.0.0.1\nport @PORT@\ntimeout 10\n"
            "from %s\n%s" % (frm, extra))


MSG = ("Subject: differential\n"
       "To: Rcpt <rcpt@example.org>\n"
       "\n"
       "Hello,\n"
       "this is the body.\n")

# The header fields msmtp and outbox add by default: From, Date, Message-ID.
D = "Date: <value ignored>"
M = "Message-ID: <value ignored>"

FOUR_XX = ("msmtp exits 69 (EX_UNAVAILABLE) for a 4xx, outbox 75 "
           "(EX_TEMPFAIL): msmtp-compat.md, 'Where outbox deliberately "
           "differs', first row; outbox(1) EXIT STATUS")

EMAIL_PLAIN = ("outbox(1), DIFFERENCES FROM MSMTP: EMAIL must hold a plain "
               "address")
INJECT = ("msmtp-compat.md, deliberate differences: CR/LF in -f is refused "
          "(EX_USAGE); msmtp injects SMTP commands")

ACCOUNTS = """defaults
host 127.0.0.1
port @PORT@
timeout 10

account first
from first@example.org
domain first.example

account second
from second@example.org
domain second.example

account globbed
from *@glob.example
domain glob.example

account default : first
"""

ALIASES = """# aliases for the differential test
root: admin@example.org
team: alice@example.org, bob@example.org
ops: root, carol@example.org
postmaster: root
"""

CASES = [
    # -- envelope and the From/Date/Message-ID fields -----------------------
    Case("plain-send",
         "A plain message: From, Date and Message-ID are added before the "
         "message's own fields.",
         acct(), ["rcpt@example.org"], MSG,
         expect={"mail": "<sender@example.org>",
                 "rcpt": ["<rcpt@example.org>"],
                 "greeting": "EHLO localhost",
                 "headers": ["From: sender@example.org", D, M,
                             "Subject: differential",
                             "To: Rcpt <rcpt@example.org>"]}),
    Case("from-option",
         "-f overrides the account's from, for the envelope and the added "
         "From field.",
         acct(), ["-f", "other@example.org", "rcpt@example.org"], MSG,
         expect={"mail": "<other@example.org>",
                 "headers": ["From: other@example.org", D, M,
                             "Subject: differential",
                             "To: Rcpt <rcpt@example.org>"]}),
    Case("from-option-glued",
         "-fADDR glued, as sendmail callers write it.",
         acct(), ["-fother@example.org", "rcpt@example.org"], MSG,
         expect={"mail": "<other@example.org>"}),
    Case("from-override-off",
         "allow_from_override off: -f is accepted but the account's from "
         "stays.",
         acct("allow_from_override off\n"),
         ["-f", "other@example.org", "rcpt@example.org"], MSG,
         expect={"mail": "<sender@example.org>"}),
    Case("read-envelope-from",
         "--read-envelope-from takes the envelope sender from the From "
         "field (display name and angle brackets dropped).",
         acct(), ["--read-envelope-from", "rcpt@example.org"],
         "From: \"Doe, Jane\" <jane@example.org>\nSubject: ref\n\nbody\n",
         expect={"mail": "<jane@example.org>"}),

    # -- -t: recipients from the header ---------------------------------------
    Case("t-to-cc-bcc",
         "-t reads To, Cc and Bcc; the Bcc field is removed.",
         acct(), ["-t"],
         "To: a@example.org, B <b@example.org>\nCc: c@example.org\n"
         "Bcc: d@example.org\nSubject: t\n\nbody\n",
         expect={"rcpt": ["<a@example.org>", "<b@example.org>",
                          "<c@example.org>", "<d@example.org>"]},
         headers_absent=["Bcc"]),
    Case("t-plus-argv",
         "-t with recipients on the command line too: msmtp adds the "
         "header's recipients to the command line's.",
         acct(), ["-t", "x@example.org"],
         "To: a@example.org\nCc: c@example.org\nSubject: t\n\nbody\n",
         rcpt_order="set",
         expect={"rcpt": ["<x@example.org>", "<a@example.org>",
                          "<c@example.org>"]}),
    Case("t-resent",
         "-t with two Resent- blocks: only the first block's Resent-To/Cc/"
         "Bcc count; Bcc is removed; msmtp keeps Resent-Bcc, outbox "
         "removes it too.",
         acct(), ["-t"],
         "Resent-From: fwd@example.org\nResent-To: r1@example.org\n"
         "Resent-Cc: r2@example.org\nResent-Bcc: r3@example.org\n"
         "Received: from x by y; Mon, 2 Nov 2026 10:00:00 +0100\n"
         "Resent-From: old@example.org\nResent-To: old1@example.org\n"
         "From: orig@example.org\nTo: a@example.org\n"
         "Bcc: hidden@example.org\nSubject: resent\n\nbody\n",
         expect={"rcpt": ["<r1@example.org>", "<r2@example.org>",
                          "<r3@example.org>"]},
         headers_absent=["Bcc"],
         expect_diff={'headers': {'msmtp': ['Date: <value ignored>', 'Message-ID: <value ignored>', 'Resent-From: fwd@example.org', 'Resent-To: r1@example.org', 'Resent-Cc: r2@example.org', 'Resent-Bcc: r3@example.org', 'Received: from x by y; Mon, 2 Nov 2026 10:00:00 +0100', 'Resent-From: old@example.org', 'Resent-To: old1@example.org', 'From: orig@example.org', 'To: a@example.org', 'Subject: resent'], 'outbox': ['Date: <value ignored>', 'Message-ID: <value ignored>', 'Resent-From: fwd@example.org', 'Resent-To: r1@example.org', 'Resent-Cc: r2@example.org', 'Received: from x by y; Mon, 2 Nov 2026 10:00:00 +0100', 'Resent-From: old@example.org', 'Resent-To: old1@example.org', 'From: orig@example.org', 'To: a@example.org', 'Subject: resent'], 'why': 'outbox removes Resent-Bcc as well as Bcc (outbox(1) DIFFERENCES FROM MSMTP)'}}),
    Case("t-groups-comments",
         "-t with quoted display names holding commas, a group, comments "
         "and an empty group.",
         acct(), ["-t"],
         "To: \"Doe, John\" <john@example.org>, Team: a@example.org,\n"
         " b@example.org;, c@example.org (Carl, the \"boss\"),\n"
         " <d@example.org>, undisclosed-recipients:;\n"
         "Cc: (only a comment) e@example.org\nSubject: groups\n\nbody\n",
         expect={"rcpt": ["<john@example.org>", "<a@example.org>",
                          "<b@example.org>", "<c@example.org>",
                          "<d@example.org>", "<e@example.org>"]}),
    Case("argv-name-addr",
         "A command-line recipient written as 'Name <addr>'.",
         acct(), ["Rcpt Name <rcpt@example.org>"], MSG,
         expect={"rcpt": ["<rcpt@example.org>"]}),
    Case("argv-comma-list",
         "A command-line recipient holding a comma-separated list.",
         acct(), ["a@example.org, b@example.org"], MSG,
         expect={"rcpt": ["<a@example.org>", "<b@example.org>"]}),

    # -- Bcc ----------------------------------------------------------------
    Case("bcc-removed",
         "By default a Bcc field (even folded) is removed; recipients "
         "from argv.",
         acct(), ["rcpt@example.org", "hidden@example.org"],
         "To: rcpt@example.org\nBcc: hidden@example.org,\n"
         " other@example.org\nSubject: bcc\n\nbody\n",
         headers_absent=["Bcc"]),
    Case("bcc-kept-remove-off",
         "remove_bcc_headers off keeps the Bcc field.",
         acct("remove_bcc_headers off\n"),
         ["rcpt@example.org"],
         "To: rcpt@example.org\nBcc: hidden@example.org\nSubject: bcc\n\n"
         "body\n",
         headers_present=["Bcc"]),
    Case("bcc-kept-keepbcc",
         "keepbcc on (msmtp 1.4 spelling) keeps the Bcc field.",
         acct("keepbcc on\n"), ["-t"],
         "To: rcpt@example.org\nBcc: hidden@example.org\nSubject: bcc\n\n"
         "body\n",
         expect={"rcpt": ["<rcpt@example.org>", "<hidden@example.org>"]},
         headers_present=["Bcc"]),

    # -- set_from_header --------------------------------------------------
    Case("from-header-auto-existing",
         "set_from_header auto with a From field: it is kept as it is.",
         acct("set_from_header auto\n"), ["rcpt@example.org"],
         "From: Someone Else <else@example.org>\nSubject: f\n\nbody\n",
         expect={"headers": [D, M, "From: Someone Else <else@example.org>",
                             "Subject: f"]}),
    Case("from-header-auto-missing",
         "set_from_header auto without a From field: one is added.",
         acct("set_from_header auto\n"), ["rcpt@example.org"],
         "Subject: f\n\nbody\n",
         expect={"headers": ["From: sender@example.org", D, M,
                             "Subject: f"]}),
    Case("from-header-on-existing",
         "set_from_header on replaces an existing From field.",
         acct("set_from_header on\n"), ["rcpt@example.org"],
         "Subject: f\nFrom: Someone Else <else@example.org>\n\nbody\n",
         expect={"headers": ["From: sender@example.org", D, M,
                             "Subject: f"]}),
    Case("from-header-on-missing",
         "set_from_header on without a From field: one is added.",
         acct("set_from_header on\n"), ["rcpt@example.org"],
         "Subject: f\n\nbody\n",
         headers_present=["From"]),
    Case("from-header-off-existing",
         "set_from_header off keeps an existing From field.",
         acct("set_from_header off\n"), ["rcpt@example.org"],
         "From: Someone Else <else@example.org>\nSubject: f\n\nbody\n",
         headers_present=["From"]),
    Case("from-header-off-missing",
         "set_from_header off adds no From field.",
         acct("set_from_header off\n"), ["rcpt@example.org"],
         "Subject: f\n\nbody\n",
         headers_absent=["From"]),
    Case("add-missing-from-header-off",
         "add_missing_from_header off (old spelling of set_from_header off).",
         acct("add_missing_from_header off\n"), ["rcpt@example.org"],
         "Subject: f\n\nbody\n",
         headers_absent=["From"]),
    Case("from-header-on-with-F",
         "set_from_header on with -F: the new From field carries the name.",
         acct("set_from_header on\n"), ["-F", "Jane Doe",
                                         "rcpt@example.org"],
         "From: x@example.org\nSubject: f\n\nbody\n",
         expect={"headers": ["From: Jane Doe <sender@example.org>", D, M,
                             "Subject: f"]}),

    # -- full names --------------------------------------------------------
    Case("full-name-config",
         "from_full_name (ASCII) in the added From field (from_full_name "
         "is newer than the installed msmtp 1.8.23).",
         acct("from_full_name Jane Doe\n"), ["rcpt@example.org"],
         "Subject: n\n\nbody\n",
         msmtp_unsupported="from_full_name is not in msmtp 1.8.23",
         expect={"exit": 0, "delivered": True,
                 "headers": ["From: Jane Doe <sender@example.org>", D, M,
                             "Subject: n"]}),
    Case("full-name-F",
         "-F NAME (ASCII) in the added From field.",
         acct(), ["-F", "John Smith", "rcpt@example.org"],
         "Subject: n\n\nbody\n",
         expect={"headers": ["From: John Smith <sender@example.org>", D, M,
                             "Subject: n"]}),
    Case("full-name-F-over-config",
         "-F overrides from_full_name, as every command-line setting "
         "overrides the file (msmtp 1.8.23 lacks from_full_name).",
         acct("from_full_name Config Name\n"),
         ["-F", "John Smith", "rcpt@example.org"], "Subject: n\n\nbody\n",
         msmtp_unsupported="from_full_name is not in msmtp 1.8.23",
         expect={"exit": 0, "delivered": True,
                 "headers": ["From: John Smith <sender@example.org>", D, M,
                             "Subject: n"]}),
    Case("full-name-F-glued",
         "-FNAME glued, as cron passes it (-FCronDaemon).",
         acct(), ["-FCronDaemon", "rcpt@example.org"],
         "Subject: n\n\nbody\n",
         expect={"headers": ["From: CronDaemon <sender@example.org>", D, M,
                             "Subject: n"]}),
    Case("full-name-comma",
         "-F with a comma: msmtp writes the name unquoted "
         "(msmtp-compat.md 4.5).",
         acct(), ["-F", "Doe, John", "rcpt@example.org"],
         "Subject: n\n\nbody\n",
         expect_diff={'headers': {'msmtp': ['From: Doe, John <sender@example.org>', 'Date: <value ignored>', 'Message-ID: <value ignored>', 'Subject: n'], 'outbox': ['From: "Doe, John" <sender@example.org>', 'Date: <value ignored>', 'Message-ID: <value ignored>', 'Subject: n'], 'why': 'outbox quotes a name with specials (RFC 5322 3.2.3; outbox(1) DIFFERENCES FROM MSMTP)'}}),
    Case("full-name-non-ascii",
         "from_full_name with non-ASCII letters: RFC 2047 B-encoded "
         "(msmtp-compat.md 1.2; msmtp 1.8.23 lacks from_full_name).",
         acct("from_full_name J\u00fcrgen M\u00fcller\n"),
         ["rcpt@example.org"], "Subject: n\n\nbody\n",
         msmtp_unsupported="from_full_name is not in msmtp 1.8.23",
         expect={"exit": 0, "delivered": True,
                 "headers": ["From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= "
                             "<sender@example.org>", D, M, "Subject: n"]}),
    Case("full-name-F-non-ascii",
         "-F with non-ASCII letters: RFC 2047 B-encoded, as "
         "msmtp-compat.md 1.2 describes msmtp (HEAD); 1.8.23 sent the raw "
         "UTF-8 bytes.",
         acct(), ["-F", "Ren\u00e9e \u00d8stergaard", "rcpt@example.org"],
         "Subject: n\n\nbody\n",
         version_diff={"headers": {
             "msmtp": ["From: Ren\u00e9e \u00d8stergaard "
                       "<sender@example.org>", D, M, "Subject: n"],
             "outbox": ["From: =?UTF-8?B?UmVuw6llIMOYc3RlcmdhYXJk?= "
                        "<sender@example.org>", D, M, "Subject: n"],
             "why": "msmtp-compat.md 1.2 from_full_name: 'RFC 2047 "
                    "B-encoded if non-ASCII'"}}),

    # -- Date, Message-ID, To ---------------------------------------------------
    Case("date-header-off",
         "set_date_header off: no Date field is added.",
         acct("set_date_header off\n"), ["rcpt@example.org"], MSG,
         headers_absent=["Date"], headers_present=["Message-ID"]),
    Case("add-missing-date-header-off",
         "add_missing_date_header off (old spelling).",
         acct("add_missing_date_header off\n"), ["rcpt@example.org"], MSG,
         headers_absent=["Date"]),
    Case("msgid-header-off",
         "set_msgid_header off: no Message-ID field is added.",
         acct("set_msgid_header off\n"), ["rcpt@example.org"], MSG,
         headers_absent=["Message-ID"], headers_present=["Date"]),
    Case("date-local-zone",
         "The added Date is local time: TZ=IST-5:30 gives +0530.",
         acct(), ["rcpt@example.org"], MSG, env={"TZ": "IST-5:30"},
         headers_present=["Date"]),
    Case("existing-date-msgid-kept",
         "A message with its own Date and Message-ID keeps them and gets "
         "no second one.",
         acct(), ["rcpt@example.org"],
         "Date: Mon, 2 Nov 2026 10:00:00 +0100\n"
         "Message-ID: <own@example.org>\nSubject: m\n\nbody\n",
         expect={"headers": ["From: sender@example.org",
                             "Date: Mon, 2 Nov 2026 10:00:00 +0100",
                             "Message-ID: <own@example.org>",
                             "Subject: m"]}),
    Case("undisclosed-recipients",
         "undisclosed_recipients on: To, Cc and Bcc are replaced by "
         "'To: undisclosed-recipients:;'.",
         acct("undisclosed_recipients on\n"), ["-t"],
         "To: a@example.org\nCc: c@example.org\nBcc: d@example.org\n"
         "Subject: u\n\nbody\n",
         expect={"rcpt": ["<a@example.org>", "<c@example.org>",
                          "<d@example.org>"],
                 "headers": ["From: sender@example.org",
                             "To: undisclosed-recipients:;", D, M,
                             "Subject: u"]}),
    Case("set-to-header-undisclosed",
         "set_to_header undisclosed_recipients (msmtp 1.8.29) against the "
         "installed msmtp's equivalent 'undisclosed_recipients on'.",
         acct("set_to_header undisclosed_recipients\n"), ["-t"],
         "To: a@example.org\nCc: c@example.org\nSubject: u\n\nbody\n",
         config_msmtp=acct("undisclosed_recipients on\n"),
         expect={"headers": ["From: sender@example.org",
                             "To: undisclosed-recipients:;", D, M,
                             "Subject: u"]}),
    Case("set-to-header-on",
         "set_to_header on (msmtp 1.8.29; the installed 1.8.23 predates "
         "it): To/Cc/Bcc replaced by one To listing the envelope "
         "recipients, after From (msmtp-compat.md 1.2 and 4.5).",
         acct("set_to_header on\n"), ["-t", "x@example.org"],
         "To: a@example.org\nCc: c@example.org\nBcc: d@example.org\n"
         "Subject: u\n\nbody\n",
         msmtp_unsupported="set_to_header is new in msmtp 1.8.29",
         expect={"exit": 0, "delivered": True,
                 "headers": ["From: sender@example.org",
                             "To: x@example.org, a@example.org, "
                             "c@example.org, d@example.org", D, M,
                             "Subject: u"]}),

    # -- aliases ----------------------------------------------------------------
    Case("aliases-simple",
         "A local recipient replaced by its alias; headers unchanged.",
         acct("aliases @DIR@/aliases\n"), ["root"], MSG,
         files={"aliases": ALIASES},
         expect={"rcpt": ["<admin@example.org>"]}),
    Case("aliases-multi",
         "An alias with two addresses.",
         acct("aliases @DIR@/aliases\n"), ["team"], MSG,
         rcpt_order="set", files={"aliases": ALIASES},
         expect={"rcpt": ["<alice@example.org>", "<bob@example.org>"]}),
    Case("aliases-default",
         "default: catches unknown local names; addresses with @ are left "
         "alone.",
         acct("aliases @DIR@/aliases\n"), ["nobody"], MSG,
         files={"aliases": ALIASES + "default: catchall@example.org\n"},
         expect={"rcpt": ["<catchall@example.org>"]}),
    Case("aliases-nested",
         "An alias naming another alias is expanded again.",
         acct("aliases @DIR@/aliases\n"), ["ops"], MSG,
         rcpt_order="set", files={"aliases": ALIASES},
         expect={"rcpt": ["<admin@example.org>", "<carol@example.org>"]}),
    Case("aliases-list",
         "Several local recipients: msmtp expands only every other one "
         "(its bug); outbox expands all and drops duplicates.",
         acct("aliases @DIR@/aliases\n"),
         ["root", "team", "postmaster", "rcpt@example.org", "ops"], MSG,
         rcpt_order="set", files={"aliases": ALIASES},
         expect_diff={"rcpt": {
             "msmtp": ["<admin@example.org>", "<team>",
                       "<admin@example.org>", "<rcpt@example.org>",
                       "<carol@example.org>", "<admin@example.org>"],
             "outbox": [
                 "<admin@example.org>", "<alice@example.org>",
                 "<bob@example.org>", "<rcpt@example.org>",
                 "<carol@example.org>"],
             "why": "outbox fixes msmtp's aliases bug and removes "
                    "duplicates (outbox(1) DIFFERENCES FROM MSMTP)"}}),

    # -- account selection ----------------------------------------------------
    Case("from-subst",
         "from with %U and %H (USER=difftest, HOSTNAME=diffhost.example).",
         acct(frm="%U@%H"), ["rcpt@example.org"], MSG,
         expect={"mail": "<difftest@diffhost.example>"}),
    Case("from-subst-no-env",
         "from with %U and %H, USER, LOGNAME and HOSTNAME unset: the "
         "login name and the system's host name.",
         acct(frm="%U@%H"), ["rcpt@example.org"], MSG,
         env={"USER": None, "LOGNAME": None, "HOSTNAME": None}),
    Case("account-by-from-exact",
         "-f chooses the first account whose from matches exactly.",
         ACCOUNTS, ["-f", "second@example.org", "rcpt@example.org"], MSG,
         expect={"greeting": "EHLO second.example",
                 "mail": "<second@example.org>"}),
    Case("account-by-from-glob",
         "-f chooses an account whose from is a glob.",
         ACCOUNTS, ["-f", "anyone@glob.example", "rcpt@example.org"], MSG,
         expect={"greeting": "EHLO glob.example",
                 "mail": "<anyone@glob.example>"}),
    Case("account-by-from-detail",
         "-f user+detail@dom chooses the account of user@dom.",
         ACCOUNTS, ["-f", "second+lists@example.org", "rcpt@example.org"],
         MSG,
         expect={"greeting": "EHLO second.example",
                 "mail": "<second+lists@example.org>"}),
    Case("account-by-from-none",
         "-f matching no account: the default account is used.",
         ACCOUNTS, ["-f", "stranger@example.net", "rcpt@example.org"], MSG,
         expect={"greeting": "EHLO first.example",
                 "mail": "<stranger@example.net>"}),
    Case("account-a-beats-f",
         "-a wins over -f for choosing the account.",
         ACCOUNTS, ["-a", "first", "-f", "second@example.org",
                    "rcpt@example.org"], MSG,
         expect={"greeting": "EHLO first.example",
                 "mail": "<second@example.org>"}),
    Case("account-default-alias",
         "'account default : first' makes first the default.",
         ACCOUNTS, ["rcpt@example.org"], MSG,
         expect={"greeting": "EHLO first.example",
                 "mail": "<first@example.org>"}),
    Case("account-inherit",
         "'account b : a' takes a's explicit settings; defaults apply "
         "first.",
         "defaults\ntimeout 10\ndomain defaults.example\n\n"
         "account a\nhost 127.0.0.1\nport @PORT@\nfrom a@example.org\n"
         "domain a.example\nset_date_header off\nremove_bcc_headers off\n\n"
         "account b : a\nfrom b@example.org\n\n"
         "account default : b\n",
         ["rcpt@example.org"], "Bcc: hidden@example.org\nSubject: i\n\n"
         "body\n",
         expect={"greeting": "EHLO a.example", "mail": "<b@example.org>",
                 "headers": ["From: b@example.org", M,
                             "Bcc: hidden@example.org", "Subject: i"]}),
    Case("defaults-section",
         "Settings under defaults apply to the accounts after them.",
         "defaults\nhost 127.0.0.1\nport @PORT@\ntimeout 10\n"
         "domain d.example\nset_msgid_header off\n\n"
         "account default\nfrom d@example.org\n",
         ["rcpt@example.org"], MSG,
         expect={"greeting": "EHLO d.example", "mail": "<d@example.org>"},
         headers_absent=["Message-ID"]),
    Case("implicit-default-account",
         "Commands before any account line make the account 'default'.",
         "host 127.0.0.1\nport @PORT@\ntimeout 10\nfrom i@example.org\n",
         ["rcpt@example.org"], MSG,
         expect={"mail": "<i@example.org>"}),
    Case("domain-ehlo",
         "domain sets the EHLO argument.",
         acct("domain mail.example.org\n"), ["rcpt@example.org"], MSG,
         expect={"greeting": "EHLO mail.example.org"}),

    # -- message shapes ----------------------------------------------------------
    Case("no-header",
         "A message without any header field.",
         acct(), ["rcpt@example.org"],
         "Just a body line, no header.\nSecond line.\n",
         expect_diff={'separator': {'msmtp': False, 'outbox': True, 'why': 'outbox ends the fields it adds with a blank line, so the first body line is not read as a header (outbox(1) DIFFERENCES FROM MSMTP)'}}),
    Case("no-blank-line",
         "A header followed by a body line without a blank line between.",
         acct(), ["rcpt@example.org"],
         "Subject: no separator\nTo: rcpt@example.org\n"
         "This line is the body.\nSecond body line.\n",
         expect_diff={'separator': {'msmtp': False, 'outbox': True, 'why': 'outbox puts the blank line the header lacked before the first line that is not a field, so it is read as the body (outbox(1) DIFFERENCES FROM MSMTP)'}}),
    Case("header-only",
         "A message that is all header, without a final newline.",
         acct(), ["rcpt@example.org"], "Subject: only a header"),
    Case("mixed-line-endings",
         "CRLF and LF mixed, in the header and the body.",
         acct(), ["rcpt@example.org"],
         b"Subject: mixed\r\nTo: rcpt@example.org\n\r\nline one\r\n"
         b"line two\nline three\r\n\nlast"),
    Case("leading-dots",
         "Body lines starting with dots (and a lone dot) are delivered "
         "intact.",
         acct(), ["rcpt@example.org"],
         "Subject: dots\n\n.\n..\n.leading\n. space\nend\n.\n"),
    Case("folded-header",
         "Folded fields and a very long field pass unchanged.",
         acct(), ["rcpt@example.org"],
         "Subject: a folded\n\tsubject line\nX-Long: " + "x" * 1200 +
         "\nReferences: <a@example.org>\n <b@example.org>\n\nbody\n"),
    Case("bare-cr-body",
         "A bare CR inside a body line: msmtp passes it, outbox turns it "
         "into CRLF.",
         acct(), ["rcpt@example.org"],
         b"Subject: cr\n\nbefore\rafter\nnext\n",
         expect_diff={"body": {
             "msmtp": "before\rafter\nnext\n",
             "outbox": "before\nafter\nnext\n",
             "why": "bare CR normalised to CRLF (no SMTP smuggling): "
                    "msmtp-compat.md, deliberate differences table"}}),
    Case("eight-bit-8bitmime",
         "8-bit body, server offers 8BITMIME: outbox declares "
         "BODY=8BITMIME, msmtp never does.",
         acct(), ["rcpt@example.org"],
         "Subject: 8bit\n\nGr\u00fc\u00dfe aus K\u00f6ln\n",
         server={"ext": ["PIPELINING", "8BITMIME"]},
         expect_diff={"mail": {
             "msmtp": "<sender@example.org>",
             "outbox": "<sender@example.org> BODY=8BITMIME",
             "why": "outbox(1) DESCRIPTION: BODY=8BITMIME when the server "
                    "offers 8BITMIME and the message has a byte above 127; "
                    "msmtp-compat.md 4.2: msmtp ignores 8BITMIME"}}),

    # -- sendmail options ----------------------------------------------------
    Case("sendmail-flags",
         "-oi -oem -odi -B8BITMIME -i are accepted and change nothing.",
         acct(), ["-oi", "-oem", "-odi", "-B8BITMIME", "-i",
                  "rcpt@example.org"], MSG,
         expect={"rcpt": ["<rcpt@example.org>"]}),
    Case("end-of-options",
         "-- ends the options.",
         acct(), ["-i", "--", "rcpt@example.org"], MSG,
         expect={"rcpt": ["<rcpt@example.org>"]}),

    # -- DSN ---------------------------------------------------------------------
    Case("dsn-options",
         "-N and -R against a server offering DSN: NOTIFY= on RCPT, RET= "
         "on MAIL.",
         acct(), ["-N", "failure,delay", "-R", "hdrs", "rcpt@example.org"],
         MSG, server={"ext": ["PIPELINING", "DSN"]},
         expect={"mail": "<sender@example.org> RET=HDRS"},
         expect_diff={"rcpt": {
             "msmtp": ["<rcpt@example.org> NOTIFY=FAILURE,DELAY"],
             "outbox": ["<rcpt@example.org> NOTIFY=FAILURE,DELAY "
                        "ORCPT=rfc822;rcpt@example.org"],
             "why": "outbox(1) -N: ORCPT (RFC 3461 4.2) with every "
                    "recipient once DSN is used; msmtp sends none"}}),
    Case("dsn-config",
         "dsn_notify and dsn_return in the file.",
         acct("dsn_notify success\ndsn_return full\n"),
         ["rcpt@example.org"], MSG,
         server={"ext": ["PIPELINING", "DSN"]},
         expect={"mail": "<sender@example.org> RET=FULL"},
         expect_diff={"rcpt": {
             "msmtp": ["<rcpt@example.org> NOTIFY=SUCCESS"],
             "outbox": ["<rcpt@example.org> NOTIFY=SUCCESS "
                        "ORCPT=rfc822;rcpt@example.org"],
             "why": "outbox(1) -N: ORCPT (RFC 3461 4.2) with every "
                    "recipient once DSN is used; msmtp sends none"}}),
    Case("dsn-not-offered",
         "dsn_notify set, server without DSN: both fail, nothing sent.",
         acct("dsn_notify failure\n"), ["rcpt@example.org"], MSG,
         exit="exact",
         expect={"exit": 69, "delivered": False, "mail": None}),

    # -- LMTP -------------------------------------------------------------------
    Case("lmtp",
         "protocol lmtp: LHLO, and one final reply per recipient.",
         acct("protocol lmtp\n"),
         ["a@example.org", "b@example.org"], MSG, server={"lmtp": True},
         expect={"greeting": "LHLO localhost",
                 "rcpt": ["<a@example.org>", "<b@example.org>"]}),

    Case("lmtp-one-refused",
         "LMTP, the second recipient refused after the dot: the mail is "
         "not delivered to everyone, both report a failure.",
         acct("protocol lmtp\n"),
         ["a@example.org", "b@example.org"], MSG,
         server={"lmtp": True,
                 "dot_by": {"b@example.org": "550 5.2.2 mailbox full"}},
         expect={"greeting": "LHLO localhost", "delivered": False}),

    # -- refusals -------------------------------------------------------------
    Case("rcpt-5xx",
         "A 5xx to the only RCPT: both exit 65 (EX_DATAERR), nothing "
         "delivered.",
         acct(), ["bad@example.org"], MSG,
         server={"rcpt_by": {"bad@example.org": "550 5.1.1 no such user"}},
         exit="exact", expect={"exit": 65, "delivered": False}),
    Case("rcpt-5xx-one-of-two",
         "A 5xx to one of two RCPTs: the whole message fails, nothing is "
         "delivered to the other.",
         acct(), ["good@example.org", "bad@example.org"], MSG,
         server={"rcpt_by": {"bad@example.org": "550 5.1.1 no such user"}},
         exit="exact", expect={"exit": 65, "delivered": False}),
    Case("rcpt-4xx",
         "A 4xx to RCPT: msmtp 69, outbox 75 (deliberate).",
         acct(), ["later@example.org"], MSG,
         server={"rcpt_by": {"later@example.org": "450 4.2.1 try later"}},
         expect={"delivered": False},
         expect_diff={"exit": {"msmtp": 69, "outbox": 75, "why": FOUR_XX}}),
    Case("mail-5xx",
         "A 5xx to MAIL FROM: both exit 65.",
         acct(), ["rcpt@example.org"], MSG,
         server={"mail": "553 5.7.1 sender not allowed"},
         exit="exact", expect={"exit": 65, "delivered": False}),
    Case("data-end-4xx",
         "A 4xx after the final dot: msmtp 69, outbox 75 (deliberate).",
         acct(), ["rcpt@example.org"], MSG,
         server={"dot": "451 4.3.0 local error"},
         expect={"delivered": False},
         expect_diff={"exit": {"msmtp": 69, "outbox": 75, "why": FOUR_XX}}),

    # -- TLS ----------------------------------------------------------------
    Case("starttls",
         "STARTTLS with a tls_trust_file: EHLO again after the handshake, "
         "same message.",
         acct("tls on\ntls_trust_file @CERTS@/ca.pem\n"),
         ["rcpt@example.org"], MSG, server={"tls": True},
         expect={"greeting": "EHLO localhost"}),
    # -- more header handling ---------------------------------------------
    Case("bcc-lowercase",
         "A field named 'BCC' (any case) is a Bcc field and is removed.",
         acct(), ["rcpt@example.org"],
         "To: rcpt@example.org\nBCC: hidden@example.org\nSubject: b\n\n"
         "body\n",
         headers_absent=["Bcc"]),
    Case("from-case-insensitive",
         "An existing 'FROM:' field (any case) counts as a From field.",
         acct(), ["rcpt@example.org"],
         "FROM: Other <other@example.org>\nmessage-id: <own@example.org>\n"
         "Subject: c\n\nbody\n",
         expect={"headers": [D, "FROM: Other <other@example.org>",
                             "message-id: <own@example.org>",
                             "Subject: c"]}),
    Case("t-duplicate-recipients",
         "-t with the same address in To, Cc and on the command line.",
         acct(), ["-t", "a@example.org"],
         "To: a@example.org, b@example.org\nCc: A <a@example.org>\n"
         "Subject: d\n\nbody\n",
         expect_diff={'rcpt': {'msmtp': ['<a@example.org>', '<a@example.org>', '<b@example.org>', '<a@example.org>'], 'outbox': ['<a@example.org>', '<b@example.org>'], 'why': 'outbox sends each recipient once (outbox(1) DIFFERENCES FROM MSMTP)'}}),
    Case("t-read-envelope-from",
         "-t --read-envelope-from together, as mutt and neomutt pass them.",
         acct(), ["-t", "--read-envelope-from"],
         "From: Jane <jane@example.org>\nTo: a@example.org\nSubject: m\n\n"
         "body\n",
         expect={"mail": "<jane@example.org>",
                 "rcpt": ["<a@example.org>"]}),
    Case("t-no-recipients",
         "-t with no recipient anywhere: both refuse, nothing is sent.",
         acct(), ["-t"], "Subject: nobody\n\nbody\n",
         exit="exact", expect={"exit": 64, "delivered": False,
                               "greeting": None}),
    Case("read-envelope-from-missing",
         "--read-envelope-from and no From field: both refuse before "
         "connecting (msmtp 78 'envelope-from address is missing', "
         "outbox 64; the class is compared).",
         acct(), ["--read-envelope-from", "rcpt@example.org"],
         "Subject: no from\n\nbody\n",
         expect={"delivered": False, "greeting": None}),
    Case("empty-input",
         "An empty message (no bytes at all).",
         acct(), ["rcpt@example.org"], b""),
    Case("long-body-line",
         "A 5000-character body line is sent unchanged.",
         acct(), ["rcpt@example.org"],
         "Subject: long\n\n" + "y" * 5000 + "\nshort\n"),
    Case("eight-bit-no-8bitmime",
         "8-bit body, server without 8BITMIME: sent as it is, no BODY=.",
         acct(), ["rcpt@example.org"],
         "Subject: 8bit\n\nGr\u00fc\u00dfe aus K\u00f6ln\n",
         expect={"mail": "<sender@example.org>"}),

    # -- long options ----------------------------------------------------------
    Case("long-options-headers",
         "--set-from-header=on --set-date-header=off --set-msgid-header=off "
         "--remove-bcc-headers=off override the file.",
         acct("set_from_header off\n"),
         ["--set-from-header=on", "--set-date-header=off",
          "--set-msgid-header=off", "--remove-bcc-headers=off",
          "rcpt@example.org"],
         "From: x@example.org\nBcc: h@example.org\nSubject: l\n\nbody\n",
         expect={"headers": ["From: sender@example.org",
                             "Bcc: h@example.org", "Subject: l"]}),
    Case("long-options-envelope",
         "--from= --domain= --read-recipients --undisclosed-recipients.",
         acct(), ["--from=cli@example.org", "--domain=cli.example",
                  "--read-recipients", "--undisclosed-recipients"],
         "To: a@example.org\nSubject: l\n\nbody\n",
         expect={"mail": "<cli@example.org>",
                 "greeting": "EHLO cli.example",
                 "rcpt": ["<a@example.org>"]}),
    Case("long-option-aliases",
         "--aliases=FILE on the command line.",
         acct(), ["--aliases=@DIR@/aliases", "root"], MSG,
         files={"aliases": ALIASES},
         expect={"rcpt": ["<admin@example.org>"]}),
    Case("long-option-account",
         "--account=NAME chooses the account.",
         ACCOUNTS, ["--account=second", "rcpt@example.org"], MSG,
         expect={"greeting": "EHLO second.example",
                 "mail": "<second@example.org>"}),
    Case("host-option",
         "--host with --port and -f: no configuration file is read.",
         "this file must not be read\n",
         ["--host=127.0.0.1", "--port=@PORT@", "-f", "h@example.org",
          "rcpt@example.org"], MSG,
         expect={"mail": "<h@example.org>"}),

    # -- more configuration commands -----------------------------------------
    Case("auto-from",
         "auto_from on with maildomain (obsolete): USER@maildomain.",
         acct("auto_from on\nmaildomain auto.example\n"),
         ["rcpt@example.org"], MSG,
         expect={"mail": "<difftest@auto.example>"}),
    Case("auto-from-no-maildomain",
         "auto_from on, no from and no maildomain: msmtp's man page says "
         "the address is then the user name alone.",
         "account default\nhost 127.0.0.1\nport @PORT@\ntimeout 10\n"
         "auto_from on\n", ["rcpt@example.org"], MSG,
         expect={"mail": "<difftest>"}),
    Case("domain-subst",
         "domain with %H.",
         acct("domain %H\n"), ["rcpt@example.org"], MSG),
    Case("config-crlf-quotes",
         "A file with CRLF line endings and a quoted argument.",
         "account default\r\nhost 127.0.0.1\r\nport @PORT@\r\n"
         "timeout 10\r\nfrom \"q@example.org\"\r\n"
         "  # an indented comment\r\ndomain \"quoted.example\"\r\n",
         ["rcpt@example.org"], MSG,
         expect={"mail": "<q@example.org>",
                 "greeting": "EHLO quoted.example"}),
    Case("config-inline-hash",
         "'#' after a command is part of the argument, not a comment.",
         acct("domain inline.example#not-a-comment\n"),
         ["rcpt@example.org"], MSG,
         expect={"greeting": "EHLO inline.example#not-a-comment"}),
    Case("config-eval",
         "eval: the command's first output line replaces the line.",
         acct("eval echo domain evaluated.example\n"),
         ["rcpt@example.org"], MSG,
         expect={"greeting": "EHLO evaluated.example"}),
    Case("config-unknown-command",
         "An unknown command: both exit 78 before connecting.",
         acct("no_such_command on\n"), ["rcpt@example.org"], MSG,
         exit="exact", expect={"exit": 78, "greeting": None}),
    Case("config-default-redefined",
         "Commands before any account make 'default'; defining it again "
         "is an error (78).",
         "host 127.0.0.1\nport @PORT@\nfrom i@example.org\n\n"
         "account default\nhost 127.0.0.1\n",
         ["rcpt@example.org"], MSG,
         exit="exact", expect={"exit": 78, "greeting": None}),
    Case("unknown-account",
         "-a naming no account: 78.",
         acct(), ["-a", "nosuch", "rcpt@example.org"], MSG,
         exit="exact", expect={"exit": 78, "greeting": None}),
    Case("unix-socket",
         "socket: connect to a Unix-domain socket instead of host/port.",
         "account default\nsocket @DIR@/smtp.sock\ntimeout 10\n"
         "from sender@example.org\n",
         ["rcpt@example.org"], MSG, server={"unix": True}),
    Case("auth-plain-explicit",
         "auth plain named explicitly is used without TLS; user/password.",
         acct("auth plain\nuser alice\npassword s3cret\n"),
         ["rcpt@example.org"], MSG, server={"auth": ["PLAIN", "LOGIN"]},
         expect={"auth": "PLAIN alice s3cret"}),
    Case("auth-login-passwordeval",
         "auth login with passwordeval.",
         acct("auth login\nuser bob\npasswordeval echo from-eval\n"),
         ["rcpt@example.org"], MSG, server={"auth": ["PLAIN", "LOGIN"]},
         expect={"auth": "LOGIN bob from-eval"}),
    Case("auth-on-no-tls",
         "auth on without TLS, only PLAIN/LOGIN offered: both refuse to "
         "send the password (69).",
         acct("auth on\nuser alice\npassword s3cret\n"),
         ["rcpt@example.org"], MSG, server={"auth": ["PLAIN", "LOGIN"]},
         exit="exact", expect={"exit": 69, "auth": None,
                               "delivered": False}),
    Case("auth-on-starttls",
         "auth on under STARTTLS: PLAIN is chosen (GNU SASL order).",
         acct("tls on\ntls_trust_file @CERTS@/ca.pem\nauth on\n"
              "user alice\npassword s3cret\n"),
         ["rcpt@example.org"], MSG,
         server={"tls": True, "auth": ["PLAIN", "LOGIN"]},
         expect={"auth": "PLAIN alice s3cret"}),
    Case("implicit-tls",
         "tls_starttls off: TLS from the first byte.",
         acct("tls on\ntls_starttls off\ntls_trust_file @CERTS@/ca.pem\n"),
         ["rcpt@example.org"], MSG,
         server={"tls": True, "implicit": True},
         expect={"greeting": "EHLO localhost"}),
    Case("starttls-not-offered",
         "tls on, server without STARTTLS: both exit 69, nothing sent.",
         acct("tls on\ntls_trust_file @CERTS@/ca.pem\n"),
         ["rcpt@example.org"], MSG,
         exit="exact", expect={"exit": 69, "mail": None,
                               "delivered": False}),

    # -- protocol ------------------------------------------------------------
    Case("no-pipelining",
         "A server without PIPELINING: same envelope and message.",
         acct(), ["a@example.org", "b@example.org"], MSG,
         server={"ext": []}),
    Case("helo-fallback",
         "EHLO refused with 502: both fall back to HELO.",
         acct("domain fb.example\n"), ["rcpt@example.org"], MSG,
         server={"ehlo": "502 5.5.2 no EHLO here"},
         expect={"greeting": "HELO fb.example"}),
    Case("greeting-5xx",
         "A 554 greeting: both fail before EHLO.",
         acct(), ["rcpt@example.org"], MSG,
         server={"greeting": "554 5.3.2 go away"},
         expect={"greeting": None, "delivered": False},
         expect_diff={"exit": {
             "msmtp": 76, "outbox": 69,
             "why": "msmtp: greeting not 220 is EX_PROTOCOL "
                    "(msmtp-compat.md 3.1); outbox(1) EXIT STATUS: 69 for "
                    "'a 5xx greeting'"}}),
    Case("greeting-4xx",
         "A 421 greeting: msmtp 76, outbox 75.",
         acct(), ["rcpt@example.org"], MSG,
         server={"greeting": "421 4.3.2 busy"},
         expect={"greeting": None, "delivered": False},
         expect_diff={"exit": {
             "msmtp": 76, "outbox": 75,
             "why": "outbox(1) EXIT STATUS: any 4xx reply, the greeting "
                    "included, is 75"}}),
    Case("mail-4xx",
         "A 4xx to MAIL FROM: msmtp 69, outbox 75 (deliberate).",
         acct(), ["rcpt@example.org"], MSG,
         server={"mail": "451 4.3.0 try later"},
         expect={"delivered": False},
         expect_diff={"exit": {"msmtp": 69, "outbox": 75, "why": FOUR_XX}}),
    Case("data-5xx",
         "A 5xx to DATA.",
         acct(), ["rcpt@example.org"], MSG,
         server={"data": "554 5.6.0 no data for you"},
         expect={"delivered": False, "exit": 65}, exit="exact"),
    Case("data-end-5xx",
         "A 5xx after the final dot.",
         acct(), ["rcpt@example.org"], MSG,
         server={"dot": "554 5.7.1 spam"},
         expect={"delivered": False}, exit="exact"),
    Case("from-crlf-injection",
         "-f holding CRLF: msmtp sends the injected command to the server; "
         "outbox refuses the argument (64) before connecting.",
         acct(), ["-f", "a@example.org>\r\nRCPT TO:<injected@example.org",
                  "rcpt@example.org"], MSG,
         expect={"delivered": False},
         expect_diff={
             "exit": {"msmtp": 65, "outbox": 64, "why": INJECT},
             "greeting": {"msmtp": "EHLO localhost", "outbox": None,
                          "why": INJECT},
             "mail": {"msmtp": "<a@example.org>", "outbox": None,
                      "why": INJECT},
             "rcpt": {"msmtp": ["<injected@example.org>",
                                "<rcpt@example.org>"], "outbox": [],
                      "why": INJECT}}),

    # -- SOCKS5 (RFC 1928, 1929) ---------------------------------------------
    Case("socks5-through-proxy",
         "proxy_host and proxy_port: both speak SMTP through the SOCKS5 "
         "proxy, which needs no authentication, and have it resolve the "
         "server's name (the test proxy takes the name localhost only).",
         acct("proxy_host 127.0.0.1\nproxy_port @PROXY_PORT@\n"
              "host localhost\n"),
         ["rcpt@example.org"], MSG, proxy=[],
         expect={"mail": "<sender@example.org>"}),
    Case("socks5-proxy-requires-password",
         "The proxy wants a user name and password and none is configured: "
         "both give up before any SMTP.",
         acct("proxy_host 127.0.0.1\nproxy_port @PROXY_PORT@\n"),
         ["rcpt@example.org"], MSG, proxy=["--require-auth"],
         expect={"delivered": False, "greeting": None, "exit": 69},
         exit="exact"),
    Case("socks5-proxy-user-password",
         "proxy_user and proxy_password (RFC 1929): outbox logs in to the "
         "proxy and delivers; msmtp 1.8.23 has no proxy_user.",
         acct("proxy_host 127.0.0.1\nproxy_port @PROXY_PORT@\n"
              "proxy_user carol\nproxy_password Pr0xy-pw\n"),
         ["rcpt@example.org"], MSG, proxy=["--auth", "carol:Pr0xy-pw"],
         msmtp_unsupported="proxy_user is not in msmtp (outbox.conf(5))",
         expect={"delivered": True, "exit": 0,
                 "mail": "<sender@example.org>"}),

    # -- SMTPSERVER and EMAIL ------------------------------------------------
    Case("env-no-configuration-file",
         "No configuration file at all: SMTPSERVER names the server, EMAIL "
         "the envelope sender (and the added From).",
         None, ["--port=@PORT@", "rcpt@example.org"], MSG, no_config=True,
         env={"SMTPSERVER": "127.0.0.1", "EMAIL": "env@example.org"},
         expect={"mail": "<env@example.org>",
                 "rcpt": ["<rcpt@example.org>"]}),
    Case("env-f-overrides-email",
         "-f wins over EMAIL; SMTPSERVER alone is then enough.",
         None, ["--port=@PORT@", "-f", "cli@example.org", "rcpt@example.org"],
         MSG, no_config=True, env={"SMTPSERVER": "127.0.0.1"},
         expect={"mail": "<cli@example.org>"}),
    Case("env-file-without-default-account",
         "A file whose only account is not named default, no -a: the "
         "environment's account is used.",
         "account other\nhost 192.0.2.1\nfrom other@example.org\n",
         ["--port=@PORT@", "rcpt@example.org"], MSG,
         env={"SMTPSERVER": "127.0.0.1", "EMAIL": "env@example.org"},
         expect={"mail": "<env@example.org>"}),
    Case("env-default-account-wins",
         "An account named default wins over SMTPSERVER and EMAIL.",
         acct(), ["rcpt@example.org"], MSG,
         env={"SMTPSERVER": "192.0.2.1", "EMAIL": "env@example.org"},
         expect={"mail": "<sender@example.org>"}),
    Case("env-smtpserver-without-sender",
         "SMTPSERVER with neither EMAIL nor -f: no account, exit 78 on "
         "both sides, no connection.",
         None, ["--port=@PORT@", "rcpt@example.org"], MSG, no_config=True,
         env={"SMTPSERVER": "127.0.0.1"},
         expect={"delivered": False, "greeting": None, "exit": 78},
         exit="exact"),
    Case("env-email-with-display-name",
         "EMAIL with a display name: msmtp puts it all inside MAIL FROM:<>, "
         "outbox refuses it (78) before connecting.  (No Message-ID: "
         "msmtp 1.8.23 would make a malformed one from that sender.)",
         None, ["--port=@PORT@", "--set-msgid-header=off",
                "rcpt@example.org"], MSG, no_config=True,
         env={"SMTPSERVER": "127.0.0.1", "EMAIL": "Env <env@example.org>"},
         expect_diff={k: dict(v, why=EMAIL_PLAIN) for k, v in {
             "exit": {"msmtp": 0, "outbox": 78},
             "greeting": {"msmtp": "EHLO localhost", "outbox": None},
             "mail": {"msmtp": "<Env <env@example.org>>", "outbox": None},
             "rcpt": {"msmtp": ["<rcpt@example.org>"], "outbox": []},
             "delivered": {"msmtp": True, "outbox": False},
             "headers": {"msmtp": ["From: Env <env@example.org>", D,
                                   "Subject: differential",
                                   "To: Rcpt <rcpt@example.org>"],
                         "outbox": None},
             "separator": {"msmtp": True, "outbox": None},
             "body": {"msmtp": "Hello,\nthis is the body.\n",
                      "outbox": None}}.items()},
         exit="exact"),
]

