#!/usr/bin/python3
"""outbox integration tests against the private Postfix + Dovecot instance
started by tests/integration/servers.

usage: itest.py --outbox PATH --itest DIR CASE...   run cases ("all":
                                                    every one)
       itest.py --list              print the case names (one ctest test
                                    integration/NAME each)

With ITEST_VERBOSE=1 in the environment, passing cases print outbox's -v
trace too.

DIR is the directory given to "servers start"; DIR/ports says where the
servers listen.  Each case writes its own outbox configuration (mode 0600),
runs outbox -v with the message on stdin and checks the exit code, stderr and
what Postfix delivered: DIR/mail/RECIPIENT/*.msg is the message as delivered,
which after removing the Received: header Postfix prepends must equal the
input with its line endings normalised to LF and a final newline added.
Which SASL mechanism was used is read from Postfix's log, not from outbox.
Standard library only.
"""

import base64
import hashlib
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
sys.dont_write_bytecode = True  # keep the source tree clean
from outboxtest import cases as registry  # noqa: E402

DELIVERY_WAIT = 20        # seconds to wait for Postfix to deliver
LARGE_DELIVERY_WAIT = 90
NOTHING_WAIT = 3          # seconds to wait before concluding "nothing arrived"
FROM = "sender@example.org"
EHLO_NAME = "outbox-client.example"


class Failure(Exception):
    pass


def read_ports(d):
    path = os.path.join(d, "ports")
    if not os.path.exists(path):
        raise Failure("%s missing: run 'tests/integration/servers start %s' "
                      "first (ctest does it through a fixture)" % (path, d))
    env = {}
    out = subprocess.run(["/bin/sh", "-c", 'set -a; . "$1" && env', "sh", path],
                         stdout=subprocess.PIPE, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout.decode()
    for line in out.splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env


class Case:
    def __init__(self, name, outbox, d):
        self.name = name
        self.outbox = os.path.abspath(outbox)
        self.dir = os.path.abspath(d)
        self.ports = read_ports(self.dir)
        self.domain = self.ports["DOMAIN"]
        self.token = "%d%04d" % (os.getpid(), random.randrange(10000))
        self.tmp = os.path.join(self.dir, "tmp", "%s.%s" % (name, self.token))
        os.makedirs(self.tmp, exist_ok=True)
        self.notes = []

    # --- helpers -----------------------------------------------------

    def rcpt(self, tag=""):
        local = "%s%s-%s" % (self.name.replace(".", "-"),
                             "-" + tag if tag else "", self.token)
        return "%s@%s" % (local, self.domain)

    def config(self, port, auth, tls="on", starttls="on", user=None,
               password=None, trust=None, extra=""):
        p = self.ports
        user = p["SASL_USER"] if user is None else user
        password = p["SASL_PASSWORD"] if password is None else password
        text = ("# written by tests/integration/itest.py for %s\n"
                "defaults\n"
                "timeout 30\n"
                "domain %s\n"
                "tls_trust_file %s\n"
                "\n"
                "account default\n"
                "host 127.0.0.1\n"
                "port %s\n"
                "from %s\n"
                "tls %s\n"
                "tls_starttls %s\n"
                "auth %s\n"
                % (self.name, EHLO_NAME, trust or p["CA_FILE"], port, FROM,
                   tls, starttls, auth))
        if auth != "off":
            text += "user %s\npassword %s\n" % (user, password)
        text += extra
        path = os.path.join(self.tmp, "outboxrc")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        self.cfg_text = text
        return path

    def run(self, cfg, args, message, timeout=90):
        """Run outbox -v; message is bytes or a path. Returns (rc, stderr)."""
        argv = [self.outbox, "-C", cfg, "-v"] + args
        self.argv = argv
        if isinstance(message, bytes):
            src = os.path.join(self.tmp, "input.eml")
            with open(src, "wb") as f:
                f.write(message)
        else:
            src = message
        t0 = time.monotonic()
        with open(src, "rb") as stdin:
            try:
                # No terminal, so outbox can never stop to prompt.
                r = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=timeout,
                                   start_new_session=True)
            except subprocess.TimeoutExpired as e:
                self.stderr = (e.stderr or b"").decode("utf-8", "replace")
                raise Failure("outbox did not finish within %ds" % timeout)
        self.elapsed = time.monotonic() - t0
        self.rc = r.returncode
        self.stderr = r.stderr.decode("utf-8", "replace")
        self.stdout = r.stdout.decode("utf-8", "replace")
        return r.returncode, self.stderr

    def expect_exit(self, want, phrase=None):
        if self.rc != want:
            raise Failure("outbox exited %s, expected %s" % (self.rc, want))
        if phrase and phrase not in self.stderr:
            raise Failure("stderr does not contain %r" % phrase)
        if self.stdout:
            raise Failure("outbox wrote to stdout: %r" % self.stdout[:200])

    def expect_no_secret(self, user, password):
        secrets = {
            password: "the password",
            base64.b64encode(b"\0" + user.encode() + b"\0" +
                             password.encode()).decode(): "the PLAIN response",
            base64.b64encode(password.encode()).decode(): "the base64 password",
        }
        for s, what in secrets.items():
            if s in self.stderr:
                raise Failure("the -v trace shows %s" % what)

    def mail_dir(self, rcpt):
        return os.path.join(self.dir, "mail", rcpt)

    def delivered(self, rcpt):
        d = self.mail_dir(rcpt)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, f) for f in os.listdir(d)
                      if f.endswith(".msg"))

    def wait_delivery(self, rcpt, wait=DELIVERY_WAIT):
        deadline = time.monotonic() + wait
        while True:
            files = self.delivered(rcpt)
            if files:
                time.sleep(0.2)     # would a duplicate follow?
                files = self.delivered(rcpt)
                if len(files) != 1:
                    raise Failure("%d messages delivered to %s, expected 1"
                                  % (len(files), rcpt))
                return files[0]
            if time.monotonic() > deadline:
                raise Failure("nothing delivered to %s within %ds"
                              % (rcpt, wait))
            time.sleep(0.1)

    def expect_nothing(self, *rcpts):
        time.sleep(NOTHING_WAIT)
        for r in rcpts:
            if self.delivered(r):
                raise Failure("a message was delivered to %s" % r)
        log = self.postfix_log()
        for r in rcpts:
            if re.search(r"to=<%s>, relay=" % re.escape(r), log):
                raise Failure("Postfix's log shows a delivery to %s" % r)

    def postfix_log(self):
        try:
            with open(self.ports["POSTFIX_LOG"], "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def envelope(self, msgfile):
        env = {}
        with open(msgfile[:-4] + ".env") as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                env[k] = v
        return env

    def check_message(self, msgfile, sent, rcpt, sender=FROM,
                      received_with="ESMTPSA"):
        """Compare the delivered message with what was sent; returns the
        Postfix queue id from the Received: header."""
        with open(msgfile, "rb") as f:
            got = f.read()
        env = self.envelope(msgfile)
        if env.get("recipient") != rcpt or env.get("sender") != sender:
            raise Failure("envelope is sender=<%s> recipient=<%s>, expected "
                          "<%s> <%s>" % (env.get("sender"),
                                         env.get("recipient"), sender, rcpt))
        m = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", got)
        if not m:
            raise Failure("delivered message does not start with Postfix's "
                          "Received: header: %r" % got[:200])
        received, body = m.group(0), got[m.end():]
        unfolded = re.sub(rb"\n[ \t]+", b" ", received).decode("ascii",
                                                               "replace")
        if not unfolded.startswith("Received: from %s " % EHLO_NAME):
            raise Failure("Received: header does not name EHLO %s: %s"
                          % (EHLO_NAME, unfolded.strip()))
        qid = re.search(r" with (\S+) id ([0-9A-Za-z]+)", unfolded)
        if not qid:
            raise Failure("cannot parse Received: header: %s" % unfolded)
        if qid.group(1) != received_with:
            raise Failure("Received: header says 'with %s', expected 'with "
                          "%s'" % (qid.group(1), received_with))
        want = normalise(sent)
        if body != want:
            raise Failure("delivered message differs from the input: %s"
                          % describe_difference(want, body))
        return qid.group(2)

    def expect_sasl(self, qid, mech, user):
        """Postfix logs the SASL method and user of the session that
        submitted queue id QID."""
        pat = re.compile(r"%s: client=\S+, sasl_method=(\S+), "
                         r"sasl_username=(.*)$" % re.escape(qid), re.M)
        deadline = time.monotonic() + 5
        while True:
            m = pat.search(self.postfix_log())
            if m:
                break
            if time.monotonic() > deadline:
                raise Failure("Postfix's log has no SASL line for queue id %s"
                              % qid)
            time.sleep(0.1)
        if m.group(1) != mech or m.group(2) != user:
            raise Failure("Postfix says sasl_method=%s sasl_username=%s, "
                          "expected %s %s" % (m.group(1), m.group(2), mech,
                                              user))
        self.notes.append("Postfix: %s sasl_method=%s sasl_username=%s"
                          % (qid, mech, user))

    def report_failure(self, err):
        out = sys.stderr
        print("FAIL %s: %s" % (self.name, err), file=out)
        if hasattr(self, "argv"):
            print("---- command: %s" % " ".join(shlex.quote(a)
                                                for a in self.argv), file=out)
            print("---- exit code: %s" % getattr(self, "rc", "?"), file=out)
            print("---- configuration (password hidden):", file=out)
            for line in self.cfg_text.splitlines():
                if line.startswith("password "):
                    line = "password ..."
                print("  " + line, file=out)
        if getattr(self, "stderr", ""):
            lines = self.stderr.splitlines()
            if len(lines) > 120:
                lines = lines[:60] + ["... (%d lines left out)"
                                      % (len(lines) - 120)] + lines[-60:]
            print("---- outbox stderr (-v):", file=out)
            for line in lines:
                print("  " + line[:300], file=out)
        log = self.postfix_log().splitlines()
        # The lines of the sessions since this case started.
        mine = [l for l in log if self.token in l]
        qids = set(re.findall(r"\b([0-9A-F]{6,}):", "\n".join(mine)))
        rel = [l for l in log if self.token in l
               or any(q + ":" in l for q in qids)]
        print("---- Postfix log (lines about this case, else the last 30):",
              file=out)
        for line in (rel or log[-30:])[-60:]:
            print("  " + line[:300], file=out)
        dlog = os.path.join(os.path.dirname(self.ports["POSTFIX_LOG"]),
                            "dovecot.log")
        try:
            with open(dlog, errors="replace") as f:
                dl = f.read().splitlines()[-10:]
            print("---- last lines of Dovecot's log:", file=out)
            for line in dl:
                print("  " + line[:300], file=out)
        except OSError:
            pass
        print("---- case files kept in %s" % self.tmp, file=out)

    def cleanup(self, rcpts=()):
        shutil.rmtree(self.tmp, ignore_errors=True)
        for r in rcpts:
            shutil.rmtree(self.mail_dir(r), ignore_errors=True)


def normalise(data):
    """What Postfix delivers for input DATA: CRLF and bare CR become LF, a
    final newline is added."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data


def describe_difference(want, got):
    n = 0
    limit = min(len(want), len(got))
    while n < limit and want[n] == got[n]:
        n += 1
    line = want.count(b"\n", 0, n) + 1
    return ("sent %d bytes (normalised), delivered %d; first difference at "
            "byte %d (line %d): expected %r, got %r"
            % (len(want), len(got), n, line, want[max(0, n - 20):n + 40],
               got[max(0, n - 20):n + 40]))


def simple_message(case, rcpt, body=None, extra_headers=b""):
    if body is None:
        body = (b"Hello from the outbox integration test %s.\n"
                b"\n"
                b"A second paragraph, long enough to wrap in a mail reader "
                b"but not long enough to need folding.\n" % case.encode())
    return (b"From: Test Sender <" + FROM.encode() + b">\n"
            b"To: <" + rcpt.encode() + b">\n"
            b"Subject: outbox integration test " + case.encode() + b"\n"
            b"Message-ID: <" + case.encode() + b"." + rcpt.encode() + b">\n"
            b"Date: Sat, 01 Jun 2024 12:00:00 +0000\n" + extra_headers +
            b"\n" + body)


# --- the cases -------------------------------------------------------------

CASES = registry.Registry()
case = CASES.case


def deliver_ok(c, port, auth, mech, tls="on", starttls="on", user=None,
               password=None, message=None, args=(), wait=DELIVERY_WAIT,
               timeout=90):
    """Submit one message to one recipient; expect exit 0 and the message
    delivered intact, authenticated with MECH."""
    p = c.ports
    user = p["SASL_USER"] if user is None else user
    password = p["SASL_PASSWORD"] if password is None else password
    rcpt = c.rcpt()
    msg = simple_message(c.name, rcpt) if message is None else message(rcpt)
    cfg = c.config(port, auth, tls=tls, starttls=starttls, user=user,
                   password=password)
    c.run(cfg, list(args) + ["--", rcpt], msg, timeout=timeout)
    c.expect_exit(0)
    c.expect_no_secret(user, password)
    f = c.wait_delivery(rcpt, wait)
    if not isinstance(msg, bytes):
        with open(msg, "rb") as fh:
            msg = fh.read()
    qid = c.check_message(f, msg, rcpt)
    c.expect_sasl(qid, mech, user)
    c.notes.append("outbox took %.2fs; %d bytes delivered intact"
                   % (c.elapsed, len(normalise(msg))))
    return [rcpt]


def submission_mech(mech):
    def run(c):
        return deliver_ok(c, c.ports["SUBMISSION_PORT"], mech.lower(), mech)
    return run


for _mech in ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"):
    case("587-" + _mech.lower())(submission_mech(_mech))


@case("587-auto")
def _(c):
    """auth on picks the strongest mechanism offered: Postfix relays
    Dovecot's list, whose strongest is SCRAM-SHA-256 (no -PLUS)."""
    return deliver_ok(c, c.ports["SUBMISSION_PORT"], "on", "SCRAM-SHA-256")


@case("465-auto")
def _(c):
    """Implicit TLS (tls_starttls off), auth on."""
    return deliver_ok(c, c.ports["SMTPS_PORT"], "on", "SCRAM-SHA-256",
                      starttls="off")


@case("587-scram-sha-256-user2")
def _(c):
    """A user name with '@' and '.', a password with ',' '=' '&'."""
    p = c.ports
    return deliver_ok(c, p["SUBMISSION_PORT"], "scram-sha-256",
                      "SCRAM-SHA-256", user=p["SASL_USER2"],
                      password=p["SASL_PASSWORD2"])


@case("587-plain-user2")
def _(c):
    p = c.ports
    return deliver_ok(c, p["SUBMISSION_PORT"], "plain", "PLAIN",
                      user=p["SASL_USER2"], password=p["SASL_PASSWORD2"])


@case("587-large")
def _(c):
    """About 20 MB: a MIME message with a 15 MiB base64 attachment made
    from a fixed seed (the same bytes every run)."""
    path = os.path.join(c.tmp, "large.eml")
    raw = random.Random(20240601).randbytes(15 * 1024 * 1024)
    digest = hashlib.sha256(raw).hexdigest()

    def message(rcpt):
        head = simple_message(
            c.name, rcpt, body=b"",
            extra_headers=b"MIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"=-outbox-itest\"\n")
        with open(path, "wb") as f:
            f.write(head)
            f.write(b"This is a multi-part message in MIME format.\n"
                    b"\n--=-outbox-itest\n"
                    b"Content-Type: text/plain; charset=us-ascii\n\n"
                    b"The attachment holds 15 MiB of pseudo-random bytes, "
                    b"sha256 " + digest.encode() + b".\n"
                    b"\n--=-outbox-itest\n"
                    b"Content-Type: application/octet-stream\n"
                    b"Content-Transfer-Encoding: base64\n"
                    b"Content-Disposition: attachment; filename=\"random.bin\""
                    b"\n\n")
            f.write(base64.encodebytes(raw))
            f.write(b"\n--=-outbox-itest--\n")
        return path
    rcpts = deliver_ok(c, c.ports["SUBMISSION_PORT"], "on", "SCRAM-SHA-256",
                       message=message, wait=LARGE_DELIVERY_WAIT,
                       timeout=180)
    c.notes.append("input %d bytes" % os.path.getsize(path))
    return rcpts


DOTS_BODY = (b".\n"
             b"..\n"
             b"...\n"
             b".leading dot\n"
             b"..two leading dots\n"
             b" .space then dot\n"
             b"\n"
             b".\n"
             b"\n"
             b"line before the end.\n"
             b". last line: a dot, a space, no newline")


@case("587-dots")
def _(c):
    """Lines starting with dots, lone '.' and '..' lines, no final newline
    (-i, so that no rule ending the input at a lone '.' line can apply)."""
    return deliver_ok(c, c.ports["SUBMISSION_PORT"], "plain", "PLAIN",
                      message=lambda r: simple_message(c.name, r, DOTS_BODY),
                      args=["-i"])


@case("587-8bit-crlf")
def _(c):
    """UTF-8 headers and body, CRLF line endings and one bare CR in the
    input; sent with BODY=8BITMIME (Postfix offers 8BITMIME)."""
    def message(r):
        body = ("Grüße aus Köln — ünïcödé ✓\n"
                "line with a bare CR here:\rand the rest after it\n"
                "last line\n").encode("utf-8")
        m = simple_message(c.name, r, body,
                           extra_headers="X-Test: Ærøskøbing\n".encode())
        return m.replace(b"\n", b"\r\n")
    rcpts = deliver_ok(c, c.ports["SUBMISSION_PORT"], "plain", "PLAIN",
                       message=message)
    if not re.search(r"^--> MAIL FROM:<%s> SIZE=\d+ BODY=8BITMIME$"
                     % re.escape(FROM), c.stderr, re.M):
        raise Failure("the -v trace has no '--> MAIL FROM:<%s> SIZE=n "
                      "BODY=8BITMIME' line" % FROM)
    return rcpts


@case("587-multi-rcpt")
def _(c):
    """Three recipients, one submission, envelope sender from -f: each gets
    the same message, all under one queue id."""
    rcpts = [c.rcpt("a"), c.rcpt("b"), c.rcpt("c")]
    sender = "envelope-" + c.token + "@example.org"
    msg = simple_message(c.name, rcpts[0])
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain")
    c.run(cfg, ["-f", sender, "--"] + rcpts, msg)
    c.expect_exit(0)
    qids = set()
    for r in rcpts:
        qids.add(c.check_message(c.wait_delivery(r), msg, r, sender=sender))
    if len(qids) != 1:
        raise Failure("the recipients got different queue ids %s" % qids)
    c.expect_sasl(qids.pop(), "PLAIN", c.ports["SASL_USER"])
    return rcpts


@case("25-no-tls")
def _(c):
    """The plain port (no TLS, no AUTH, relays for 127.0.0.0/8)."""
    rcpt = c.rcpt()
    msg = simple_message(c.name, rcpt)
    cfg = c.config(c.ports["SMTP_PORT"], "off", tls="off")
    c.run(cfg, ["--", rcpt], msg)
    c.expect_exit(0)
    c.check_message(c.wait_delivery(rcpt), msg, rcpt, received_with="ESMTP")
    return [rcpt]


IDN_DOMAIN = "bücher.example"
IDN_DOMAIN_ACE = "xn--bcher-kva.example"


@case("587-smtputf8")
def _(c):
    """An international address delivered by Postfix, which offers
    SMTPUTF8 (RFC 6531): the UTF-8 local part and domain go as they are,
    with SMTPUTF8 on MAIL, and DSN's ORCPT and ENVID are taken too."""
    rcpt = "jürgen-%s@%s" % (c.token, IDN_DOMAIN)
    msg = simple_message(c.name, rcpt)
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain")
    c.run(cfg, ["-N", "failure", "-V", "env+id=1", "--", rcpt], msg)
    c.expect_exit(0)
    if not re.search(r"^--> MAIL FROM:<%s> .*SMTPUTF8.* ENVID=env\+2Bid\+3D1"
                     % re.escape(FROM), c.stderr, re.M):
        raise Failure("no MAIL FROM with SMTPUTF8 and the xtext ENVID")
    if not re.search(r"^--> RCPT TO:<%s> NOTIFY=FAILURE ORCPT=utf-8;"
                     % re.escape(rcpt), c.stderr, re.M):
        raise Failure("no RCPT TO with NOTIFY and a utf-8 ORCPT")
    # The capture transport names its folder with each 8-bit byte as "_";
    # the envelope it records, and Postfix's log, have the address as it
    # was delivered.
    piped = "".join(ch if ord(ch) < 128 else "_" * len(ch.encode())
                    for ch in rcpt)
    c.check_message(c.wait_delivery(piped), msg, rcpt,
                    received_with="UTF8SMTPSA")
    if "to=<%s>" % rcpt not in c.postfix_log():
        raise Failure("Postfix logged no delivery to <%s>" % rcpt)
    return [piped]


@case("25-idn-a-labels")
def _(c):
    """The plain port does not offer SMTPUTF8 here: the domain goes in
    A-labels (UTS #46) and Postfix delivers to that address."""
    local = "idn-%s" % c.token
    rcpt = "%s@%s" % (local, IDN_DOMAIN)
    ace = "%s@%s" % (local, IDN_DOMAIN_ACE)
    msg = simple_message(c.name, ace)
    cfg = c.config(c.ports["SMTP_PORT"], "off", tls="off")
    c.run(cfg, ["--", rcpt], msg)
    c.expect_exit(0)
    if "SMTPUTF8" in c.stderr.split("--> MAIL", 1)[-1].split("\n", 1)[0]:
        raise Failure("SMTPUTF8 sent to a server that does not offer it")
    c.check_message(c.wait_delivery(ace), msg, ace, received_with="ESMTP")
    return [ace]


@case("587-wrong-password")
def _(c):
    rcpt = c.rcpt()
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain",
                   password="not-" + c.ports["SASL_PASSWORD"])
    c.run(cfg, ["--", rcpt], simple_message(c.name, rcpt))
    c.expect_exit(77, "authentication failed")
    c.expect_no_secret(c.ports["SASL_USER"], "not-" + c.ports["SASL_PASSWORD"])
    c.expect_nothing(rcpt)
    return [rcpt]


@case("587-no-auth")
def _(c):
    """STARTTLS but no AUTH: the submission port refuses the recipient
    (5xx to RCPT)."""
    rcpt = c.rcpt()
    cfg = c.config(c.ports["SUBMISSION_PORT"], "off")
    c.run(cfg, ["--", rcpt], simple_message(c.name, rcpt))
    c.expect_exit(65, "not accepted by the server")
    c.expect_nothing(rcpt)
    return [rcpt]


@case("587-rcpt-refused")
def _(c):
    """One of two recipients does not exist (550): outbox must exit 65 and
    not send the final dot, so the other one gets nothing either."""
    good, bad = c.rcpt(), "unknown-" + c.rcpt()
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain")
    c.run(cfg, ["--", good, bad], simple_message(c.name, good))
    c.expect_exit(65, "not accepted by the server")
    c.expect_nothing(good, bad)
    return [good, bad]


@case("587-nul-late")
def _(c):
    """A NUL byte 1 MB into the message, far past what outbox reads before
    MAIL FROM: it finds it while sending the data and must give up without
    the final dot, so that Postfix delivers nothing. Exit 65."""
    rcpt = c.rcpt()
    body = b"x" * 75 + b"\n"
    msg = simple_message(c.name, rcpt, body * 14000 + b"NUL here:\0:\n" +
                         body * 100)
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain")
    c.run(cfg, ["--", rcpt], msg)
    c.expect_exit(65, "contains a NUL byte")
    c.expect_nothing(rcpt)
    return [rcpt]


@case("587-untrusted-cert")
def _(c):
    """The system trust store does not know the test CA: the certificate
    check fails before AUTH, exit 69."""
    rcpt = c.rcpt()
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain", trust="system")
    c.run(cfg, ["--", rcpt], simple_message(c.name, rcpt))
    c.expect_exit(69, "certificate")
    if re.search(r"^--> AUTH", c.stderr, re.M):
        raise Failure("outbox sent AUTH over an unverified connection")
    c.expect_nothing(rcpt)
    return [rcpt]


def run_case(name, outbox, d):
    c = Case(name, outbox, d)
    t0 = time.monotonic()
    try:
        if not os.access(c.outbox, os.X_OK):
            raise Failure("%s is not an executable" % c.outbox)
        rcpts = CASES.fn(name)(c)
    except Failure as e:
        c.report_failure(e)
        return False
    for n in c.notes:
        print("  " + n)
    if os.environ.get("ITEST_VERBOSE") and getattr(c, "stderr", ""):
        print("  outbox exit %s after %.2fs, stderr:" % (c.rc, c.elapsed))
        for line in c.stderr.splitlines()[:80]:
            print("    " + line[:200])
    print("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
    c.cleanup(rcpts)
    return True


def run_cli(argv, doc, cases, run_one, needs_root=False):
    """The command line of the case files (tests/lib/outboxtest/cases.py):
    --list, or --outbox PATH --itest DIR and the cases."""
    def check(a):
        if not a.itest:
            return "--itest DIR (the servers' directory) is required"
        if needs_root and os.geteuid() != 0:
            return ("%s must run as root (mount namespaces)"
                    % os.path.basename(argv[0]))
        return None
    return registry.main(cases, lambda n, a: run_one(n, a.outbox, a.itest),
                         doc, argv[1:], check=check)


def main(argv):
    return run_cli(argv, __doc__, CASES, run_case)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
