#!/usr/bin/python3
"""outbox under the programs that really call a sendmail program, and
against servers other than Postfix's SMTP: Debian's mutt, neomutt, Alpine,
git send-email, bsd-mailx, s-nail and PHP, the exact argv of cron, cronie,
systemd-cron, at and fail2ban, a Python script; aiosmtpd, Dovecot's LMTP
server, a dante SOCKS5 proxy.

usage: callers.py --outbox PATH --itest DIR CASE...   run cases ("all":
                                                      every one)
       callers.py --list              print the case names (one ctest test
                                      integration/callers/NAME each)

DIR is the directory given to "servers start" (see itest.py, whose helpers
this file uses).  Needs root: every caller runs in a private mount namespace
(unshare -m) where

  - /etc is an overlay holding this case's resolv.conf (a name server on
    127.0.0.1 that does not exist, so that no caller ever asks a real one),
    hosts (this machine's name on loopback), and, for the callers that find
    outbox's configuration without -C, outbox.conf and outbox.aliases;
  - /usr/sbin/sendmail is, where the caller hard-codes it, bind-mounted
    over with outbox or with the recording shim below.

Nothing outside the namespace is changed.  Where a caller builds the
message itself, it runs a small recording shim (DIR/tmp/CASE/bin/shim) that
saves argv, standard input, standard error and the exit status, and passes
all of them on unchanged to outbox (through a link named "sendmail", so
that outbox's messages read "sendmail:" as when installed).  Every case then
checks the argv against the one documented for the caller
(shared/reference/callers.md), outbox's exit status, the envelope and the
message as the server delivered it: the input with its line endings made LF,
Bcc and Resent-Bcc fields removed, and exactly the header fields outbox
must add (Date, Message-ID, From when missing) in front.  No Bcc field and
no Bcc address ever reaches a delivered message.
Standard library only (aiosmtpd runs in smtpsink.py).
"""

import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402  (the helpers shared with itest.py)
from itest import Failure, describe_difference, normalise  # noqa: E402
from outboxtest import cases as registry  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
EHLO = itest.EHLO_NAME
CALLER_TIMEOUT = 60
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

# Run as: unshare -m --propagation private sh -c NS_SCRIPT sh NSDIR ETCDIR
# SENDMAIL COMMAND...  The overlay's upper layer lives on a tmpfs of the
# namespace's own (an overlay cannot have its upper layer on another
# overlay, which the build directory may be on in a container).
NS_SCRIPT = r'''
set -eu
ns=$1 etc=$2 sendmail=$3
shift 3
mount -t tmpfs -o mode=0755 outbox-callers "$ns"
mkdir "$ns/upper" "$ns/work"
chmod 755 "$ns/upper"
cp -a "$etc/." "$ns/upper/"
mount -t overlay outbox-callers \
    -o "lowerdir=/etc,upperdir=$ns/upper,workdir=$ns/work" /etc
if [ -n "$sendmail" ]; then
	if [ ! -e /usr/sbin/sendmail ]; then
		echo "callers: no /usr/sbin/sendmail to bind over" >&2
		exit 70
	fi
	mount --bind "$sendmail" /usr/sbin/sendmail
fi
exec "$@"
'''

SHIM = r"""#!/usr/bin/python3
# Recording shim for callers.py: saves argv, stdin, stderr and the exit
# status in REC/N/ and passes them on unchanged to outbox. Only outbox
# holds the caller's standard output, so that a caller speaking SMTP to it
# (-bs) sees it end when outbox exits.
import os, subprocess, sys, threading
rec, sendmail = @REC@, @SENDMAIL@
os.makedirs(rec, exist_ok=True)
n = 0
while True:
    d = os.path.join(rec, str(n))
    try:
        os.mkdir(d)
        break
    except FileExistsError:
        n += 1
with open(os.path.join(d, "argv"), "wb") as f:
    f.write(b"".join(os.fsencode(a) + b"\0" for a in sys.argv[1:]))
with open(os.path.join(d, "stderr"), "wb") as err:
    p = subprocess.Popen([sendmail] + sys.argv[1:], stdin=subprocess.PIPE,
                         stderr=err)
os.close(1)


def copy():
    with open(os.path.join(d, "stdin"), "wb") as f:
        while True:
            data = os.read(0, 65536)
            if not data:
                break
            f.write(data)
            f.flush()
            try:
                p.stdin.write(data)
                p.stdin.flush()
            except BrokenPipeError:
                pass
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass


threading.Thread(target=copy, daemon=True).start()
rc = p.wait()
with open(os.path.join(d, "stderr"), "rb") as f:
    os.write(2, f.read())
with open(os.path.join(d, "rc"), "w") as f:
    f.write("%d\n" % rc)
os._exit(rc if rc >= 0 else 128 - rc)
"""


class Caller(itest.Case):
    def __init__(self, name, outbox, d):
        super().__init__(name, outbox, d)
        self.home = os.path.join(self.tmp, "home")
        self.etc = os.path.join(self.tmp, "etc")
        self.bin = os.path.join(self.tmp, "bin")
        self.rec = os.path.join(self.tmp, "rec")
        for p in (self.home, self.etc, self.bin):
            os.makedirs(p, exist_ok=True)
        self.sendmail = os.path.join(self.bin, "sendmail")
        os.symlink(self.outbox, self.sendmail)
        self.cfg_text = ""
        self.daemons = []
        host = socket.gethostname()
        self.write(os.path.join(self.etc, "hosts"),
                   "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"
                   "127.0.1.1\t%s %s\n" % (host, host.split(".")[0]))
        self.write(os.path.join(self.etc, "resolv.conf"),
                   "# callers.py: no name server is ever asked\n"
                   "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    # --- files -------------------------------------------------------

    @staticmethod
    def write(path, text, mode=0o644):
        data = text.encode() if isinstance(text, str) else text
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def conf(self, sender, extra=""):
        """An account for the submission port: STARTTLS, AUTH PLAIN."""
        p = self.ports
        return ("# written by tests/integration/callers.py for %s\n"
                "defaults\ntimeout 30\ndomain %s\ntls_trust_file %s\n\n"
                "account default\nhost 127.0.0.1\nport %s\ntls on\n"
                "auth plain\nuser %s\npassword %s\nfrom %s\n%s"
                % (self.name, EHLO, p["CA_FILE"], p["SUBMISSION_PORT"],
                   p["SASL_USER"], p["SASL_PASSWORD"], sender, extra))

    def user_conf(self, text):
        """outbox's configuration found without -C: ~/.config/outbox/config
        of the private HOME."""
        self.cfg_text = text
        return self.write(os.path.join(self.home, ".config", "outbox",
                                       "config"), text, 0o600)

    def system_conf(self, text, aliases=None):
        """/etc/outbox.conf (and /etc/outbox.aliases), in the namespace
        only."""
        if aliases is not None:
            self.write(os.path.join(self.etc, "outbox.aliases"), aliases)
            text += "aliases /etc/outbox.aliases\n"
        self.cfg_text = text
        return self.write(os.path.join(self.etc, "outbox.conf"), text, 0o600)

    def shim(self):
        path = os.path.join(self.bin, "shim")
        self.write(path, SHIM.replace("@REC@", repr(self.rec))
                   .replace("@SENDMAIL@", repr(self.sendmail)), 0o755)
        return path

    def records(self):
        out = []
        if not os.path.isdir(self.rec):
            return out
        for n in sorted(os.listdir(self.rec), key=int):
            d = os.path.join(self.rec, n)
            r = {}
            for k in ("argv", "stdin", "stderr", "rc"):
                try:
                    with open(os.path.join(d, k), "rb") as f:
                        r[k] = f.read()
                except OSError:
                    r[k] = None
            r["argv"] = [a.decode() for a in (r["argv"] or b"").split(b"\0")
                         [:-1]]
            r["stderr"] = (r["stderr"] or b"").decode("utf-8", "replace")
            r["rc"] = int(r["rc"]) if r["rc"] else None
            out.append(r)
        return out

    def one_record(self, argv, rc=0):
        """The shim ran once, with ARGV; outbox exited RC."""
        recs = self.records()
        if len(recs) != 1:
            raise Failure("the caller ran the sendmail program %d times, "
                          "expected once" % len(recs))
        r = recs[0]
        self.stderr = r["stderr"]
        if r["argv"] != argv:
            raise Failure("the caller passed argv %r, expected %r (see "
                          "callers.md)" % (r["argv"], argv))
        if r["rc"] != rc:
            raise Failure("outbox exited %s under the caller, expected %s"
                          % (r["rc"], rc))
        if rc == 0 and r["stderr"]:
            raise Failure("outbox wrote to stderr: %r" % r["stderr"][:300])
        return r

    # --- running -----------------------------------------------------

    def env(self, **extra):
        e = {"PATH": PATH, "HOME": self.home, "LANG": "C.UTF-8",
             "USER": "root", "LOGNAME": "root", "TERM": "dumb", "TZ": "UTC"}
        e.update(extra)
        return e

    def ns_argv(self, argv, sendmail=None):
        nsdir = os.path.join(self.tmp, "ns")
        os.makedirs(nsdir, exist_ok=True)
        return (["unshare", "-m", "--propagation", "private", "/bin/sh",
                 "-c", NS_SCRIPT, "sh", nsdir, self.etc, sendmail or ""]
                + list(argv))

    def call(self, argv, stdin=b"", env=None, sendmail=None, cwd=None,
             timeout=CALLER_TIMEOUT):
        """Run ARGV in the namespace, STDIN (bytes) as its input; returns
        the exit status."""
        full = self.ns_argv(argv, sendmail)
        self.argv = argv
        t0 = time.monotonic()
        try:
            r = subprocess.run(full, input=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout,
                               env=env or self.env(), cwd=cwd or self.tmp,
                               start_new_session=True)
        except subprocess.TimeoutExpired as e:
            self.stderr = (e.stderr or b"").decode("utf-8", "replace")
            raise Failure("%s did not finish within %ds" % (argv[0], timeout))
        self.elapsed = time.monotonic() - t0
        self.rc = r.returncode
        self.stdout = r.stdout.decode("utf-8", "replace")
        self.stderr = r.stderr.decode("utf-8", "replace")
        return r.returncode

    def expect_caller_ok(self):
        if self.rc != 0:
            raise Failure("%s exited %s, expected 0" % (self.argv[0],
                                                         self.rc))

    def daemon(self, argv, ready, what, timeout=15):
        """Start a server of this case in its own session; READY() says
        when it accepts connections. Stopped by stop_daemons."""
        log = open(os.path.join(self.tmp, what + ".stderr"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.daemons.append(p)
        deadline = time.monotonic() + timeout
        while not ready():
            if p.poll() is not None:
                raise Failure("%s exited %s during start-up: %s" % (
                    what, p.returncode, self.tail(what + ".stderr")))
            if time.monotonic() > deadline:
                raise Failure("%s not ready within %ds" % (what, timeout))
            time.sleep(0.05)
        return p

    def tail(self, name, n=2000):
        try:
            with open(os.path.join(self.tmp, name), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop_daemons(self):
        for p in self.daemons:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.daemons:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.daemons = []

    # --- what was delivered ------------------------------------------

    def expect_delivered(self, rcpts, sent, sender, added=(), bcc=(),
                         received_with="ESMTPSA"):
        """Each of RCPTS got SENT once, in one submission, from SENDER, as
        described in the module's docstring; ADDED names the fields outbox
        must have put in front; BCC the blind recipients, in RCPTS too."""
        qids = set()
        for r in rcpts:
            f = self.wait_delivery(r)
            env = self.envelope(f)
            if env.get("recipient") != r or env.get("sender") != sender:
                raise Failure("%s: envelope sender=<%s> recipient=<%s>, "
                              "expected <%s> <%s>" % (
                                  f, env.get("sender"), env.get("recipient"),
                                  sender, r))
            with open(f, "rb") as fh:
                got = fh.read()
            m = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", got)
            if not m:
                raise Failure("delivered message has no Received: header "
                              "first: %r" % got[:200])
            received = re.sub(rb"\n[ \t]+", b" ", m.group(0)).decode(
                "ascii", "replace")
            if not received.startswith("Received: from %s " % EHLO):
                raise Failure("Received: header does not name EHLO %s: %s"
                              % (EHLO, received.strip()))
            q = re.search(r" with (\S+) id ([0-9A-Za-z]+)", received)
            if not q or q.group(1) != received_with:
                raise Failure("Received: header is not 'with %s id ...': %s"
                              % (received_with, received.strip()))
            qids.add(q.group(2))
            check_content(got[m.end():], sent, added, bcc, r)
        if len(qids) != 1:
            raise Failure("the recipients got %d submissions (queue ids %s),"
                          " expected one" % (len(qids), sorted(qids)))
        self.notes.append("delivered to %s under queue id %s; added %s"
                          % (", ".join(rcpts), qids.pop(),
                             ", ".join(added) or "nothing"))
        return qids

    def cleanup(self, rcpts=()):
        self.stop_daemons()
        super().cleanup(rcpts)


def header_of(data):
    end = data.find(b"\n\n")
    return data if end < 0 else data[:end + 1]


def fields(header):
    """[(name, raw field with its continuation lines)] of a header."""
    out = []
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + line)
        else:
            out.append((line.split(b":", 1)[0].strip().decode(
                "ascii", "replace"), line))
    return out


def without_bcc(data):
    """DATA (LF line endings) without its Bcc and Resent-Bcc fields."""
    head = header_of(data)
    kept = b"".join(raw for name, raw in fields(head)
                    if name.lower() not in ("bcc", "resent-bcc"))
    return kept + data[len(head):]


def check_content(got, sent, added, bcc, where):
    """GOT (what the server stored, after its own trace fields) must be the
    fields ADDED, in any order, followed by SENT normalised and without
    Bcc; no Bcc field, no BCC address."""
    want = without_bcc(normalise(sent))
    if not got.endswith(want):
        n = got.find(want[:40]) if len(want) >= 40 else -1
        raise Failure("message delivered to %s is not the input: %s" % (
            where, describe_difference(want, got[max(n, 0):])))
    front = got[:len(got) - len(want)]
    names = [name for name, _ in fields(front)]
    if sorted(n.lower() for n in names) != sorted(a.lower() for a in added):
        raise Failure("outbox added the fields %s to the message for %s, "
                      "expected %s" % (names, where, list(added)))
    present = {n.lower() for n, _ in fields(header_of(normalise(sent)))}
    for a in added:
        if a.lower() in present:
            raise Failure("test error: %s is in the input already" % a)
    for name, raw in fields(header_of(got)):
        if name.lower() in ("bcc", "resent-bcc"):
            raise Failure("a %s field reached %s: %r" % (name, where, raw))
    for b in bcc:
        if b.encode() in got:
            raise Failure("the Bcc address %s appears in the message "
                          "delivered to %s" % (b, where))


# --- the cases -------------------------------------------------------------

CASES = registry.Registry()
case = CASES.case


def mutt_like(c, program):
    """mutt/neomutt in batch mode: $sendmail is the shim with mutt's
    default options, use_envelope_from, DSN, an 8-bit body, Cc and Bcc.
    mutt removes the Bcc field itself and puts the Bcc recipient in
    argv."""
    to, cc, bcc = c.rcpt("to"), c.rcpt("cc"), c.rcpt("bcc")
    sender = "%s-user-%s@example.org" % (program, c.token)
    c.user_conf(c.conf("account-from@example.org"))
    rc = c.write(os.path.join(c.tmp, "muttrc"),
                 'set sendmail="%s -oem -oi"\n'
                 'set from="Mutt User <%s>"\n'
                 "set hostname=%s\n"
                 "set use_envelope_from=yes\n"
                 "set use_8bitmime=yes\n"
                 'set dsn_notify="failure,delay"\n'
                 "set dsn_return=hdrs\n"
                 'set record=""\n'
                 "set charset=utf-8\nset send_charset=utf-8\n"
                 "set write_bcc=no\n" % (c.shim(), sender, EHLO))
    body = ("%s via outbox %s\nGrüße aus Köln\n.\n..\nlast line\n"
            % (program, c.token)).encode()
    c.call([program, "-n", "-F", rc, "-s", "%s test %s" % (program, c.token),
            "-c", cc, "-b", bcc, "--", to], body)
    c.expect_caller_ok()
    r = c.one_record(["-oem", "-oi", "-B8BITMIME", "-f", sender, "-N",
                      "failure,delay", "-R", "hdrs", "--", to, cc, bcc])
    if body not in r["stdin"]:
        raise Failure("%s did not pass the body as typed" % program)
    c.expect_delivered([to, cc, bcc], r["stdin"], sender, bcc=[bcc])
    return [to, cc, bcc]


case("mutt")(lambda c: mutt_like(c, "mutt"))
case("neomutt")(lambda c: mutt_like(c, "neomutt"))


class Pty:
    """A program on a pseudo-terminal, driven by keystrokes."""

    def __init__(self, argv, env, log):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.out = b""
        self.log = open(log, "wb")
        self.status = None

    def text(self):
        """The output with escape sequences taken out: enough to find a
        prompt in."""
        t = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-B]|\x1b.", b" ",
                   self.out.replace(b"\0", b""))
        return re.sub(r"\s+", " ", t.decode("utf-8", "replace"))

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                if self.exited():
                    return
                continue
            try:
                d = os.read(self.fd, 65536)
            except OSError:
                d = b""
            if not d:
                self.exited(wait=True)
                return
            self.out += d
            self.log.write(d)
            self.log.flush()

    def exited(self, wait=False):
        if self.status is None:
            pid, st = os.waitpid(self.pid, 0 if wait else os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status is not None

    def wait_for(self, pattern, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if re.search(pattern, self.text()):
                return True
            if self.exited():
                self.pump(0.2)
                return bool(re.search(pattern, self.text()))
            self.pump(0.1)
        return False

    def send(self, keys):
        os.write(self.fd, keys.encode())

    def kill(self):
        if not self.exited():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.exited(wait=True)
        os.close(self.fd)
        self.log.close()


def alpine(c, pinerc_extra, sendmail=None):
    """Alpine composing from its command line (To), the Cc, Bcc and
    Subject fields and an 8-bit body typed in on a pseudo-terminal, ^X and
    'y' to send. Alpine puts the Bcc field in the message it hands over.
    Returns (to, cc, bcc, sender, pty)."""
    to, cc, bcc = c.rcpt("to"), c.rcpt("cc"), c.rcpt("bcc")
    sender = "root@example.org"   # user-domain, and the user we run as
    pinerc = c.write(os.path.join(c.tmp, "pinerc"),
                     "personal-name=Alpine User\n"
                     "user-domain=example.org\n"
                     "character-set=UTF-8\n"
                     "inbox-path=%s/inbox\n"
                     'default-fcc=""\n'
                     "postponed-folder=%s/postponed\n"
                     "default-composer-hdrs=To,Cc,Bcc,Subject\n"
                     "feature-list=quit-without-confirm,"
                     "disable-password-caching\n%s"
                     % (c.home, c.home, pinerc_extra))
    c.subject = "alpine test %s" % c.token
    argv = c.ns_argv(["/usr/bin/alpine", "-p", pinerc, to], sendmail)
    c.argv = ["alpine", "-p", pinerc, to]
    p = Pty([shutil.which("unshare")] + argv[1:],
            c.env(TERM="vt100"), os.path.join(c.tmp, "alpine.screen"))
    try:
        if not p.wait_for(r"COMPOSE MESSAGE", 20):
            raise Failure("Alpine's composer did not appear: %s"
                          % p.text()[-600:])
        for keys in (cc + "\r", bcc + "\r", c.subject + "\r",
                     "Alpine via outbox %s\rGrüße\r.\rlast line\r" % c.token):
            p.send(keys)
            p.pump(0.4)
        p.send("\x18")      # ^X: send
        if not p.wait_for(r"Send message\?", 10):
            raise Failure("Alpine did not ask 'Send message?': %s"
                          % p.text()[-600:])
        p.out = b""
        p.send("y")
        # Done when the shim has recorded outbox's exit status, or Alpine
        # reports an error or exits.
        deadline = time.monotonic() + 30
        while not (any(r["rc"] is not None for r in c.records())
                   or "POSTING ERRORS" in p.text() or p.exited()):
            if time.monotonic() > deadline:
                raise Failure("Alpine did not finish sending within 30s: %s"
                              % p.text()[-600:])
            p.pump(0.1)
        p.pump(1)
        if re.search("POSTING ERRORS", p.text()):
            p.pump(1)
            raise Failure("Alpine says POSTING ERRORS: %s" % p.text()[-800:])
    finally:
        c.alpine_screen = p.text()[-800:]
        p.kill()
    return to, cc, bcc, sender


@case("alpine-sendmail-path")
def _(c):
    """sendmail-path as Alpine's documentation says: the program must read
    the recipients from the header (-t): Alpine passes no options of its
    own."""
    c.user_conf(c.conf("account-from@example.org"))
    to, cc, bcc, sender = alpine(
        c, "sendmail-path=%s -oem -t -oi\nsmtp-server=\n" % c.shim())
    r = c.one_record(["-oem", "-t", "-oi"])
    if not re.search(rb"(?im)^bcc: *" + re.escape(bcc.encode()), r["stdin"]):
        raise Failure("Alpine did not put the Bcc field in the message (the "
                      "case relies on it)")
    c.expect_delivered([to, cc, bcc], r["stdin"], "account-from@example.org",
                       bcc=[bcc])
    return [to, cc, bcc]


@case("alpine-bs")
def _(c):
    """Alpine with neither sendmail-path nor smtp-server: c-client runs
    /usr/sbin/sendmail -bs -odb -oem and speaks SMTP to it over the pipe.
    /usr/sbin/sendmail is the recording shim in the namespace; the
    configuration is /etc/outbox.conf there."""
    c.system_conf(c.conf("account-from@example.org"))
    to, cc, bcc, sender = alpine(c, "smtp-server=\n", sendmail=c.shim())
    recs = c.records()
    if len(recs) != 1:
        raise Failure("Alpine ran /usr/sbin/sendmail %d times" % len(recs))
    r = recs[0]
    c.stderr = r["stderr"]
    if r["argv"] != ["-bs", "-odb", "-oem"]:
        raise Failure("Alpine passed %r, expected -bs -odb -oem" % r["argv"])
    if r["rc"] != 0:
        raise Failure("outbox -bs exited %s: %s" % (r["rc"], r["stderr"]))
    # The SMTP dialogue Alpine spoke: the envelope and the message.
    dialogue = r["stdin"].replace(b"\r\n", b"\n")
    m = re.search(rb"(?im)^MAIL FROM:<([^>]*)>", dialogue)
    rcpts = re.findall(rb"(?im)^RCPT TO:<([^>]*)>", dialogue)
    d = re.search(rb"(?ims)^DATA\n(.*?\n)\.\n", dialogue)
    if not (m and d):
        raise Failure("no MAIL FROM and DATA in what Alpine sent: %r"
                      % dialogue[:500])
    if sorted(x.decode() for x in rcpts) != sorted([to, cc, bcc]):
        raise Failure("Alpine's RCPT TO were %r" % rcpts)
    msg = re.sub(rb"(?m)^\.\.", b".", d.group(1))
    c.expect_delivered([to, cc, bcc], msg, m.group(1).decode(), bcc=[bcc])
    return [to, cc, bcc]


def git_repo(c):
    repo = os.path.join(c.tmp, "repo")
    env = c.env(GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Dev Eloper",
                GIT_AUTHOR_EMAIL="dev-%s@example.org" % c.token,
                GIT_COMMITTER_NAME="Dev Eloper",
                GIT_COMMITTER_EMAIL="dev-%s@example.org" % c.token)
    git = ["git", "-C", repo]
    subprocess.run(["git", "init", "-q", repo], check=True, env=env)
    with open(os.path.join(repo, "file.txt"), "w") as f:
        f.write("hello ünïcödé from %s\n.\nend\n" % c.token)
    subprocess.run(git + ["add", "file.txt"], check=True, env=env)
    subprocess.run(git + ["commit", "-q", "-m", "Add file.txt"], check=True,
                   env=env)
    subprocess.run(git + ["format-patch", "-q", "-1", "-o",
                          os.path.join(c.tmp, "patches")],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return repo, env


def git_send_email(c, how, envelope_sender=None):
    to, cc, bcc = c.rcpt("list"), c.rcpt("cc"), c.rcpt("bcc")
    c.user_conf(c.conf("account-from@example.org"))
    repo, env = git_repo(c)
    shim = c.shim()
    argv = ["git", "-C", repo, "send-email", "--confirm=never",
            "--suppress-cc=all", "--no-validate", "--quiet",
            "--smtp-domain=%s" % EHLO, "--8bit-encoding=UTF-8",
            "--from=Dev Eloper <dev-%s@example.org>" % c.token,
            "--to=" + to, "--cc=" + cc, "--bcc=" + bcc]
    argv += ["--sendmail-cmd=" + shim] if how == "cmd" else [
        "--smtp-server=" + shim]
    if envelope_sender:
        argv.append("--envelope-sender=" + envelope_sender)
    argv.append(os.path.join(c.tmp, "patches"))
    c.call(argv, env=env)
    c.expect_caller_ok()
    want = (["-f", envelope_sender] if envelope_sender else []) + [
        "-i", to, cc, bcc]
    r = c.one_record(want)
    c.expect_delivered([to, cc, bcc], r["stdin"],
                       envelope_sender or "account-from@example.org",
                       bcc=[bcc])
    return [to, cc, bcc]


@case("git-send-email-cmd")
def _(c):
    """--sendmail-cmd: git runs sh -c 'CMD "$@"' with -i and every
    recipient, Bcc included; no Bcc field in the message."""
    return git_send_email(c, "cmd")


@case("git-send-email-server")
def _(c):
    """--smtp-server=/abs/path with --envelope-sender: -f SENDER -i RCPTS."""
    return git_send_email(c, "server", "env-%s@example.org" % c.token)


@case("bsd-mailx")
def _(c):
    """bsd-mailx with set sendmail= (MAILRC) and -r: it runs -i -t -f FROM
    and leaves the Bcc field in; outbox must read it (-t) and remove it."""
    to, cc, bcc = c.rcpt("to"), c.rcpt("cc"), c.rcpt("bcc")
    sender = "mailx-%s@example.org" % c.token
    c.user_conf(c.conf("account-from@example.org"))
    mailrc = c.write(os.path.join(c.tmp, "mailrc"),
                     "set sendmail=%s\n" % c.shim())
    body = ("bsd-mailx via outbox %s\nÄrger über Öl\nlast\n"
            % c.token).encode()
    c.call(["bsd-mailx", "-s", "mailx test %s" % c.token, "-c", cc, "-b",
            bcc, "-r", sender, to], body, env=c.env(MAILRC=mailrc))
    c.expect_caller_ok()
    r = c.one_record(["-i", "-t", "-f", sender])
    if not re.search(rb"(?m)^Bcc: " + re.escape(bcc.encode()), r["stdin"]):
        raise Failure("bsd-mailx did not leave the Bcc field in (the case "
                      "relies on it)")
    c.expect_delivered([to, cc, bcc], r["stdin"], sender,
                       added=("Date", "Message-ID"), bcc=[bcc])
    return [to, cc, bcc]


@case("s-nail")
def _(c):
    """s-nail with -S mta=: -i -F NAME -f ADDR -- RCPTS (it removes Bcc
    itself). s-nail gives the MTA HOME from the password file, not ours,
    so the configuration is /etc/outbox.conf in the namespace."""
    to, cc, bcc = c.rcpt("to"), c.rcpt("cc"), c.rcpt("bcc")
    sender = "snail-%s@example.org" % c.token
    c.system_conf(c.conf("account-from@example.org"))
    body = "s-nail via outbox %s\nÄrger über Öl\nlast\n" % c.token
    c.call(["s-nail", "-:/", "-S", "mta=" + c.shim(), "-S",
            "hostname=" + EHLO, "-S", "ttycharset=utf-8", "-S",
            "DEAD=" + os.path.join(c.home, "dead.letter"),
            "-r", "S Nail <%s>" % sender, "-s", "s-nail test %s" % c.token,
            "-c", cc, "-b", bcc, to], body.encode())
    c.expect_caller_ok()
    r = c.one_record(["-i", "-F", "S Nail", "-f", sender, "--", to, cc, bcc])
    c.expect_delivered([to, cc, bcc], r["stdin"], sender, bcc=[bcc])
    return [to, cc, bcc]


PHP_SCRIPT = r'''
$ok = mail($argv[1], "PHP test " . $argv[4],
           "PHP mail() via outbox " . $argv[4] . "\nZweite Zeile: äöü\n.\nend",
           "From: PHP Script <php-" . $argv[4] . "@example.org>\r\n" .
           "Cc: " . $argv[2] . "\r\nBcc: " . $argv[3]);
exit($ok ? 0 : 3);
'''


@case("php-mail")
def _(c):
    """PHP's mail() with php.ini's default sendmail_path ("/usr/sbin/sendmail
    -t -i", the shim in the namespace): CRLF header, LF body, Bcc left in."""
    to, cc, bcc = c.rcpt("to"), c.rcpt("cc"), c.rcpt("bcc")
    c.user_conf(c.conf("account-from@example.org"))
    c.call(["php", "-n", "-r", PHP_SCRIPT, to, cc, bcc, c.token],
           sendmail=c.shim())
    c.expect_caller_ok()
    r = c.one_record(["-t", "-i"])
    if b"\r\n" not in r["stdin"] or b"\nZweite" not in r["stdin"]:
        raise Failure("PHP did not send mixed line endings (the case relies "
                      "on it)")
    c.expect_delivered([to, cc, bcc], r["stdin"], "account-from@example.org",
                       added=("Date", "Message-ID"), bcc=[bcc])
    return [to, cc, bcc]


PYTHON_SCRIPT = r'''
import subprocess, sys
from email.message import EmailMessage
to, cc, bcc, token = sys.argv[1:]
m = EmailMessage()
m["From"] = "Python Script <py-%s@example.org>" % token
m["To"], m["Cc"], m["Bcc"] = to, cc, bcc
m["Subject"] = "Python test " + token
m.set_content("subprocess via outbox %s\nÜmlaut\n.\n" % token)
p = subprocess.run(["/usr/sbin/sendmail", "-t", "-oi"], input=m.as_bytes())
sys.exit(p.returncode)
'''


@case("python-subprocess")
def _(c):
    """A Python script: EmailMessage with a Bcc field piped into
    /usr/sbin/sendmail -t -oi (the shim in the namespace)."""
    to, cc, bcc = c.rcpt("to"), c.rcpt("cc"), c.rcpt("bcc")
    c.user_conf(c.conf("account-from@example.org"))
    c.call([PY, "-c", PYTHON_SCRIPT, to, cc, bcc, c.token],
           sendmail=c.shim())
    c.expect_caller_ok()
    r = c.one_record(["-t", "-oi"])
    c.expect_delivered([to, cc, bcc], r["stdin"], "account-from@example.org",
                       added=("Date", "Message-ID"), bcc=[bcc])
    return [to, cc, bcc]


# The system programs below are run as their exact argv and input
# (callers.md), not installed: cron and systemd-cron conflict with each
# other, cronie is not in Debian, and cron, atd and fail2ban would install
# and start daemons on this machine; their mail comes a minute or more
# after a job runs.  outbox is bind-mounted over /usr/sbin/sendmail in the
# namespace, the configuration is /etc/outbox.conf there (no -C), and
# "root" resolves through /etc/outbox.aliases.

def system_caller(c, argv, message, sender=None, added=("Date",
                                                          "Message-ID"),
                  path_lookup=False):
    root = c.rcpt("root")
    mail = message(root).encode()
    c.system_conf(c.conf("host-%s@example.org" % c.token),
                  aliases="# callers.py\nroot: %s\n" % root)
    prog = "sendmail" if path_lookup else "/usr/sbin/sendmail"
    c.call([prog] + argv, mail, sendmail=c.outbox)
    if c.rc != 0 or c.stderr or c.stdout:
        raise Failure("%s exited %s, expected 0 and no output (stdout %r)"
                      % (" ".join([prog] + argv), c.rc, c.stdout[:200]))
    c.expect_delivered([root], mail,
                       sender or "host-%s@example.org" % c.token,
                       added=added)
    return [root]


CRON_BODY = ("Content-Type: text/plain; charset=UTF-8\n"
             "Content-Transfer-Encoding: 8bit\n"
             "X-Cron-Env: <SHELL=/bin/sh>\n"
             "X-Cron-Env: <HOME=/root>\n"
             "X-Cron-Env: <PATH=/usr/bin:/bin>\n"
             "X-Cron-Env: <LOGNAME=root>\n"
             "\n"
             "job output %s: ünïcödé\n.\nend of output\n")


@case("cron-debian")
def _(c):
    """Debian cron 3.0pl1: -FCronDaemon -i -B8BITMIME -oem MAILTO, MAILTO
    a bare local user; no Date, no Message-ID in its message."""
    return system_caller(
        c, ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
        lambda r: ("From: root (Cron Daemon)\nTo: root\n"
                   "Subject: Cron <root@host> /usr/local/bin/job %s\n"
                   % c.token) + CRON_BODY % c.token)


@case("cronie")
def _(c):
    """cronie: -FCronDaemon -i -odi -oem -oi -t -f USER, recipients from
    the To field only. outbox sends the bare -f name as it is, which
    Postfix qualifies with its myorigin (mail.example.test)."""
    return system_caller(
        c, ["-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root"],
        lambda r: ("From: root (Cron Daemon)\nTo: root\n"
                   "Subject: Cron <root@host> /usr/local/bin/job %s\n"
                   % c.token) + CRON_BODY % c.token,
        sender="root@mail.example.test")


@case("systemd-cron")
def _(c):
    """systemd-cron 1.15's mail_on_failure: sendmail found in PATH,
    -i -B8BITMIME MAILTO; a MIMEText message with Date, no Message-ID."""
    return system_caller(
        c, ["-i", "-B8BITMIME", "root"],
        lambda r: ('Content-Type: text/plain; charset="utf-8"\n'
                   "MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n"
                   "Date: Sat, 01 Jun 2024 12:00:00 +0000\n"
                   "From: root (systemd-cron) <root>\nTo: root\n"
                   "Subject: [vm] job cron-job-%s.service failed\n"
                   "Auto-Submitted: auto-generated\n\n"
                   "● cron-job.service - [Cron] job %s\n"
                   "   Active: failed (Result: exit-code)\n"
                   % (c.token, c.token)),
        added=("Message-ID",), path_lookup=True)


@case("at")
def _(c):
    """at (atd): -i USER; the job's output with Subject and To only."""
    return system_caller(
        c, ["-i", "root"],
        lambda r: ("Subject: Output from your job 42 %s\nTo: root\n\n"
                   "at job output %s\n" % (c.token, c.token)),
        added=("From", "Date", "Message-ID"))


@case("fail2ban")
def _(c):
    """fail2ban 1.0's sendmail-* actions: -f fail2ban root (the defaults,
    both bare local names); Date and From from printf, no Message-ID.
    outbox sends the bare sender as it is; Postfix qualifies it."""
    return system_caller(
        c, ["-f", "fail2ban", "root"],
        lambda r: ("Subject: [Fail2Ban] sshd: banned 192.0.2.7 from vm %s\n"
                   "Date: Sat, 01 Jun 2024 12:00:00 +0000\n"
                   "From: Fail2Ban <fail2ban>\nTo: root\n\n"
                   "Hi,\n\nThe IP 192.0.2.7 has just been banned by Fail2Ban "
                   "after 5 attempts against sshd.\n\nRegards,\n\nFail2Ban\n"
                   % c.token),
        sender="fail2ban@mail.example.test", added=("Message-ID",))


# --- servers ---------------------------------------------------------------

def free_port():
    """A TCP port free on 127.0.0.1 now, below the ephemeral range."""
    for _ in range(200):
        port = int.from_bytes(os.urandom(2), "big") % 10000 + 20000
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise Failure("no free port found")


def start_sink(c):
    out = os.path.join(c.tmp, "sink")
    port = free_port()
    c.daemon([PY, os.path.join(HERE, "smtpsink.py"), out, str(port),
              os.path.dirname(c.ports["CA_FILE"]), "sink-user",
              "sink-password"],
             lambda: os.path.exists(os.path.join(out, "ready")), "aiosmtpd")
    return out, port


def sink_config(c, port, extra=""):
    return c.config(port, "plain", user="sink-user",
                    password="sink-password", extra=extra)


def sink_delivered(c, out, n=1):
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(out, "%d.msg" % n)):
        if time.monotonic() > deadline:
            raise Failure("aiosmtpd received no message")
        time.sleep(0.05)
    if os.path.exists(os.path.join(out, "%d.msg" % (n + 1))):
        raise Failure("aiosmtpd received more than %d messages" % n)
    with open(os.path.join(out, "%d.env" % n)) as f:
        env = json.load(f)
    with open(os.path.join(out, "%d.msg" % n), "rb") as f:
        return env, f.read()


def sink_case(c, rcpt, extra="", peer="127.0.0.1", body=None):
    out, port = start_sink(c)
    msg = itest.simple_message(c.name, rcpt, body)
    c.run(sink_config(c, port, extra), ["--", rcpt], msg)
    c.expect_exit(0)
    env, got = sink_delivered(c, out)
    want = {"mail_from": itest.FROM, "rcpt_tos": [rcpt], "tls": True,
            "auth": "sink-user"}
    for k, v in want.items():
        if env[k] != v:
            raise Failure("aiosmtpd saw %s=%r, expected %r" % (k, env[k], v))
    if env["peer"][0] != peer:
        raise Failure("aiosmtpd saw the client at %s, expected %s"
                      % (env["peer"][0], peer))
    if b"\r\n" not in got or re.search(rb"[^\r]\n", got):
        raise Failure("aiosmtpd did not receive CRLF line endings")
    check_content(normalise(got), msg, (), (), rcpt)
    c.notes.append("aiosmtpd: %r" % env)
    env["received_bytes"] = len(got)
    return env


@case("aiosmtpd-starttls-auth")
def _(c):
    """aiosmtpd (another SMTP, TLS and AUTH implementation): STARTTLS,
    AUTH PLAIN, an 8-bit message with dot lines; BODY=8BITMIME declared,
    and SIZE: the exact size of the content as received."""
    env = sink_case(c, c.rcpt(), body=(
        "Grüße — 8-bit body\n.\n..\n.dot\nlast").encode())
    want = ["SIZE=%d" % env["received_bytes"], "BODY=8BITMIME"]
    if env["mail_options"] != want:
        raise Failure("MAIL FROM options %r, expected %r"
                      % (env["mail_options"], want))
    return []


@case("aiosmtpd-source-ip")
def _(c):
    """source_ip 127.0.0.2: the server sees the connection come from it."""
    sink_case(c, c.rcpt(), extra="source_ip 127.0.0.2\n", peer="127.0.0.2")
    return []


@case("aiosmtpd-smtputf8")
def _(c):
    """A recipient with a non-ASCII local part and domain: MAIL FROM must
    carry SMTPUTF8 (RFC 6531), and the address goes as UTF-8."""
    rcpt = "jürgen-%s@bücher.example" % c.token
    out, port = start_sink(c)
    msg = itest.simple_message(c.name, rcpt)
    c.run(sink_config(c, port), ["--", rcpt], msg)
    c.expect_exit(0)
    env, got = sink_delivered(c, out)
    if "SMTPUTF8" not in env["mail_options"] or env["rcpt_tos"] != [rcpt]:
        raise Failure("aiosmtpd saw %r" % env)
    check_content(normalise(got), msg, (), (), rcpt)
    return []


def lmtp_config(c, where, extra=""):
    p = c.ports
    conn = ("socket %s\n" % p["LMTP_SOCKET"] if where == "socket" else
            "host 127.0.0.1\nport %s\n" % p["LMTP_PORT"])
    text = ("# written by tests/integration/callers.py for %s\n"
            "account default\nprotocol lmtp\n%sdomain %s\nfrom %s\n"
            "logfile %s\n%s" % (c.name, conn, EHLO, itest.FROM,
                                os.path.join(c.tmp, "log"), extra))
    c.cfg_text = text
    return c.write(os.path.join(c.tmp, "outboxrc"), text, 0o600)


def lmtp_body(c):
    """The users' Maildirs are shared by the cases: the token finds ours."""
    return ("LMTP test %s\nGrüße\n.\nlast line\n" % c.token).encode()


def lmtp_delivered(c, user, token, want=1):
    """The messages holding TOKEN in USER's Maildir (new/)."""
    d = os.path.join(c.ports["LMTP_DIR"], user, "Maildir", "new")
    found = []
    for f in (os.listdir(d) if os.path.isdir(d) else []):
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()
        if token.encode() in data:
            found.append(data)
    if len(found) != want:
        raise Failure("%d messages for %s in %s, expected %d"
                      % (len(found), user, d, want))
    return found


def lmtp_check(c, user, msg, rcpt):
    data = lmtp_delivered(c, user, c.token)[0]
    # Dovecot's trace fields first: Return-Path, Delivered-To (only when
    # the session had a single recipient), Received.
    m = re.match(rb"Return-Path: <([^>]*)>\n(?:Delivered-To: ([^\n]*)\n)?"
                 rb"Received: from %s[^\n]*\n(?:[ \t][^\n]*\n)*"
                 % re.escape(EHLO.encode()), data)
    if not m:
        raise Failure("no Dovecot trace fields: %r" % data[:300])
    if (m.group(1).decode() != itest.FROM
            or m.group(2) not in (None, rcpt.encode())):
        raise Failure("Dovecot says Return-Path %s Delivered-To %s"
                      % (m.group(1), m.group(2)))
    check_content(data[m.end():], msg, (), (), user)


def log_line(c):
    try:
        with open(os.path.join(c.tmp, "log"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    if len(lines) != 1:
        raise Failure("logfile has %d lines, expected 1: %r"
                      % (len(lines), lines))
    return lines[0]


def expect_log(c, *patterns):
    line = log_line(c)
    for p in patterns:
        if not re.search(p, line):
            raise Failure("logfile line %r does not match %r" % (line, p))
    c.notes.append("log: " + line)


@case("lmtp-socket")
def _(c):
    """protocol lmtp over Dovecot's Unix-domain socket, two users given
    without a domain (passed to the LMTP server as they are)."""
    one, two = c.ports["LMTP_USERS"].split()
    msg = itest.simple_message(c.name, one, lmtp_body(c))
    c.run(lmtp_config(c, "socket"), ["--", one, two], msg)
    c.expect_exit(0)
    for u in (one, two):
        lmtp_check(c, u, msg, u)
    expect_log(c, r"socket=%s " % re.escape(c.ports["LMTP_SOCKET"]),
               r"recipients=%s,%s " % (one, two), r"exitcode=EX_OK$")
    if not re.search(r"^--> LHLO %s$" % EHLO, c.stderr, re.M):
        raise Failure("no LHLO in the -v trace")
    return []


@case("lmtp-quota")
def _(c):
    """protocol lmtp over TCP, three recipients; Dovecot takes all three
    RCPTs but refuses the mail for the one over quota after the data (one
    reply per recipient): the other two have it, outbox exits 69 naming the
    refused one, and the log line says so."""
    one, two = c.ports["LMTP_USERS"].split()
    full = c.ports["LMTP_FULL_USER"]
    rcpts = ["%s@%s" % (u, c.domain) for u in (one, full, two)]
    msg = itest.simple_message(c.name, rcpts[0], lmtp_body(c))
    c.run(lmtp_config(c, "tcp"), ["--"] + rcpts, msg)
    c.expect_exit(69, "the server did not deliver the mail to %s" % rcpts[1])
    if not re.search(r"server message: 552 5\.2\.2 <%s> Quota exceeded"
                     % re.escape(rcpts[1]), c.stderr):
        raise Failure("stderr does not repeat Dovecot's 552 reply for %s"
                      % rcpts[1])
    for other in (rcpts[0], rcpts[2]):
        if other in re.sub(r"(?m)^(-->|<--).*\n", "", c.stderr):
            raise Failure("stderr names %s, which got the mail" % other)
    lmtp_check(c, one, msg, rcpts[0])
    lmtp_check(c, two, msg, rcpts[2])
    lmtp_delivered(c, full, c.token, want=0)
    expect_log(c, r"host=127\.0\.0\.1 ", "recipients=" + ",".join(rcpts),
               r"smtpstatus=552 ", r"errormsg='the server did not deliver "
               r"the mail to %s'" % re.escape(rcpts[1]),
               r"exitcode=EX_UNAVAILABLE$")
    return []


@case("lmtp-unknown-user")
def _(c):
    """protocol lmtp, one of two users unknown: Dovecot refuses its RCPT
    (550), so outbox delivers to nobody and exits 65 naming it."""
    one = c.ports["LMTP_USERS"].split()[0]
    bad = "lmtp-nobody-%s" % c.token
    msg = itest.simple_message(c.name, one, lmtp_body(c))
    c.run(lmtp_config(c, "tcp"), ["--", one, bad], msg)
    c.expect_exit(65, "recipient address %s not accepted" % bad)
    time.sleep(1)
    lmtp_delivered(c, one, c.token, want=0)
    expect_log(c, r"smtpstatus=550 ", r"errormsg='recipient address %s not "
               r"accepted by the server'" % bad, r"exitcode=EX_DATAERR$")
    return []


@case("postfix-rcpt-refused-log")
def _(c):
    """Three recipients, the middle one refused by Postfix (550): nothing
    delivered, exit 65 naming it on stderr and in the logfile line."""
    good1, bad, good2 = c.rcpt("a"), "unknown-" + c.rcpt(), c.rcpt("b")
    log = os.path.join(c.tmp, "log")
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain",
                   extra="logfile %s\n" % log)
    c.run(cfg, ["--", good1, bad, good2], itest.simple_message(c.name, good1))
    c.expect_exit(65, "recipient address %s not accepted by the server" % bad)
    if good1 in re.sub(r"(?m)^(-->|<--).*\n", "", c.stderr):
        raise Failure("stderr names an accepted recipient")
    c.expect_nothing(good1, bad, good2)
    expect_log(c, "recipients=%s,%s,%s " % (good1, bad, good2),
               r"smtpstatus=550 ", r"errormsg='recipient address %s not "
               r"accepted by the server'" % re.escape(bad),
               r"exitcode=EX_DATAERR$")
    return [good1, bad, good2]


@case("socks5-dante")
def _(c):
    """proxy_host/proxy_port: Debian's dante-server on 127.0.0.1, going out
    from 127.0.0.3, to Postfix's submission port (STARTTLS and AUTH through
    the tunnel). Postfix sees the client at 127.0.0.3, and dante logged the
    connection."""
    port = free_port()
    log = os.path.join(c.tmp, "danted.log")
    conf = c.write(os.path.join(c.tmp, "danted.conf"),
                   "logoutput: %s\n"
                   "internal: 127.0.0.1 port = %d\n"
                   "external: 127.0.0.3\n"
                   "clientmethod: none\nsocksmethod: none\n"
                   "user.privileged: root\nuser.unprivileged: nobody\n"
                   "client pass {\n from: 127.0.0.0/8 to: 0.0.0.0/0\n"
                   " log: connect error\n}\n"
                   "socks pass {\n from: 127.0.0.0/8 to: 127.0.0.0/8\n"
                   " command: connect\n log: connect disconnect error\n}\n"
                   % (log, port))

    def listening():
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()
    c.daemon(["danted", "-f", conf, "-N", "1", "-p",
              os.path.join(c.tmp, "danted.pid")], listening, "danted")
    rcpt = c.rcpt()
    msg = itest.simple_message(c.name, rcpt)
    cfg = c.config(c.ports["SUBMISSION_PORT"], "plain",
                   extra="proxy_host 127.0.0.1\nproxy_port %d\n" % port)
    c.run(cfg, ["--", rcpt], msg)
    c.expect_exit(0)
    if "through the SOCKS proxy" not in c.stderr:
        raise Failure("the -v trace does not mention the proxy")
    f = c.wait_delivery(rcpt)
    qid = c.check_message(f, msg, rcpt)
    with open(f, "rb") as fh:
        received = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*",
                            fh.read()).group(0)
    if b"[127.0.0.3])" not in received:
        raise Failure("Received: does not show client 127.0.0.3: %r"
                      % received)
    if not re.search(r"%s: client=\S*\[127\.0\.0\.3\]" % qid,
                     c.postfix_log()):
        raise Failure("Postfix's log does not show %s from 127.0.0.3" % qid)
    if not re.search(r"127\.0\.0\.3\.\d+ 127\.0\.0\.1\.%s"
                     % c.ports["SUBMISSION_PORT"], c.tail("danted.log", 10**6)):
        raise Failure("dante's log shows no connection to port %s: %s"
                      % (c.ports["SUBMISSION_PORT"], c.tail("danted.log")))
    return [rcpt]


def run_case(name, outbox, d):
    c = Caller(name, outbox, d)
    t0 = time.monotonic()
    try:
        try:
            rcpts = CASES.fn(name)(c)
        finally:
            c.stop_daemons()
    except Failure as e:
        c.report_failure(e)
        for r in c.records():
            print("---- sendmail program run as %r, exit %s, stderr %r"
                  % (r["argv"], r["rc"], r["stderr"][:500]), file=sys.stderr)
        if getattr(c, "alpine_screen", None):
            print("---- Alpine's screen (text): %s" % c.alpine_screen,
                  file=sys.stderr)
        return False
    for n in c.notes:
        print("  " + n)
    print("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
    c.cleanup(rcpts)
    return True


def main(argv):
    return itest.run_cli(argv, __doc__, CASES, run_case, needs_root=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
