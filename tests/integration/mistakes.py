#!/usr/bin/python3
"""The twenty common mistakes of a new user (issue 14), each made against
servers on loopback, each a case.

usage: mistakes.py --list
       mistakes.py --outbox PATH --certs DIR [--keep] [--report] CASE... | all

Every case runs in private namespaces (unshare --mount --net, as root):
its own loopback, so the test servers listen on the ports a user would
name (587, 465) and nothing can leave the machine; /etc/nsswitch.conf
says "hosts: files" there, so an unknown name (under .invalid) is
answered without any query; /root (the home directory of the passwd
entry, where a run without HOME looks) is an empty directory of the
case's.  The servers are the test library's sink (plain, STARTTLS or
implicit TLS, with the certificates of tests/lib/outboxtest/certs.py).

Each case checks the exit code, that stderr is one clear line naming the
fix (and the hint line where there is one) and that nothing is lost: the
message is queued or kept in failed/, or the exit code tells the caller
it was not sent, and the server received no partial message.

--report prints one JSON line per case (every run of outbox with its
argv, exit status and stderr, and the checks that failed) and always
exits 0, so that an older outbox can be run through the same cases: the
before/after table of the issue is made from it.  Standard library only.
"""

import fcntl
import json
import os
import pty
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'lib'))
sys.dont_write_bytecode = True  # keep the source tree clean
from outboxtest import PY  # noqa: E402
from outboxtest import cases as registry  # noqa: E402
from outboxtest.smtpserver import Sink  # noqa: E402

REGISTRY = registry.Registry()
INSIDE = 'OUTBOX_MISTAKES_INSIDE'
FROM = 'alice@example.org'
RCPT = 'bob@example.net'
USER, PASSWORD = 'alice', 'the password'
MESSAGE = (b'From: Alice <alice@example.org>\n'
           b'To: Bob <bob@example.net>\n'
           b'Subject: the twenty mistakes\n'
           b'Message-ID: <mistake@example.org>\n'
           b'Date: Wed, 02 Dec 2026 12:00:00 +0000\n'
           b'\n'
           b'Hello Bob.\n')
# The client settings of every case: the sink on localhost:587 with
# STARTTLS, AUTH after TLS; queue settings only where a case adds them.
ACCOUNT = ('account default\n'
           'host localhost\n'
           'port 587\n'
           'tls on\n'
           'tls_trust_file {certs}/ca.pem\n'
           'auth on\n'
           'user alice\n'
           'password "the password"\n'
           'from alice@example.org\n')
QUEUE = ('queue on-failure\n'
         'queue_dir {queue}\n'
         'queue_background off\n')
SUBMISSION = {'tls': True, 'auth': ['PLAIN', 'LOGIN'], 'auth_tls': True,
              'user': USER, 'password': PASSWORD}
EX = {'OK': 0, 'USAGE': 64, 'DATAERR': 65, 'NOINPUT': 66, 'NOHOST': 68,
      'UNAVAILABLE': 69, 'SOFTWARE': 70, 'IOERR': 74, 'TEMPFAIL': 75,
      'PROTOCOL': 76, 'NOPERM': 77, 'CONFIG': 78}


class Failure(Exception):
    pass


class Result:
    def __init__(self, rc, err, elapsed):
        self.rc, self.err, self.elapsed = rc, err, elapsed
        self.lines = [ln for ln in err.split('\n') if ln.strip()]


class World:
    """One case's private world: a HOME, a queue directory, the
    configuration file, the servers, the runs of outbox."""

    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.dir = tempfile.mkdtemp(prefix='outbox-mistake.')
        self.home = self.path('home')
        self.queue = self.path('queue')
        self.conf = os.path.join(self.home, '.config', 'outbox', 'config')
        os.makedirs(os.path.dirname(self.conf))
        self.sinks = []
        self.checks = []
        self.result = None
        self.runs = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def env(self, **over):
        env = {'PATH': '/usr/bin:/bin', 'HOME': self.home,
               'XDG_STATE_HOME': self.path('state'),
               'XDG_CONFIG_HOME': os.path.join(self.home, '.config'),
               'LC_ALL': 'C', 'TZ': 'UTC'}
        env.update(over)
        return {k: v for k, v in env.items() if v is not None}

    def config(self, text, mode=0o600, path=None, queue=False):
        """Write the configuration ({certs} and {queue} filled in)."""
        path = path or self.conf
        if queue:
            text = 'defaults\n' + QUEUE + '\n' + text
        text = text.format(certs=self.args.certs, queue=self.queue)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def sink(self, rules=None, port=587, cert=None):
        """The library's sink on 127.0.0.1:PORT; CERT: serve that one of
        the test certificates instead of server.pem."""
        certs = self.args.certs
        if cert:
            certs = self.path('certs-' + cert)
            os.makedirs(certs)
            for src, dst in ((cert + '.pem', 'server.pem'),
                             (cert + '.key', 'server.key'),
                             ('ca.pem', 'ca.pem')):
                shutil.copy(os.path.join(self.args.certs, src),
                            os.path.join(certs, dst))
        # With --report a silent client is waited for as long as outbox
        # may wait for a greeting (5 minutes), to show what it does.
        s = Sink(dict(SUBMISSION, **(rules or {})), certs=certs, port=port,
                 timeout=400 if self.args.report else 60)
        self.sinks.append(s)
        return s

    def run(self, argv, stdin=MESSAGE, env=None, signal_at=None, tty=False):
        """Run outbox ARGV with STDIN; stderr on a terminal with TTY (a
        person at the keyboard); SIGNAL_AT: (seconds, signal) to send.
        It has a minute (with --report 330 s: long enough to see the
        5-minute greeting timeout of an older outbox)."""
        timeout = 330 if self.args.report else 60
        t0 = time.monotonic()
        if tty:
            master, errw = pty.openpty()
        else:
            master, errw = None, tempfile.TemporaryFile()
        p = subprocess.Popen([self.args.outbox] + argv,
                             stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=errw,
                             env=env or self.env(), cwd=self.dir,
                             start_new_session=True)
        chunks = []
        reader = None
        if tty:
            os.close(errw)
            reader = threading.Thread(target=drain, args=(master, chunks))
            reader.start()
        try:
            if signal_at:
                p.stdin.write(stdin)
                p.stdin.close()
                time.sleep(signal_at[0])
                p.send_signal(signal_at[1])
                p.wait(timeout)
            else:
                p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            late = True
        else:
            late = False
        finally:
            if reader:
                reader.join(10)
                os.close(master)
        if tty:
            err = b''.join(chunks).replace(b'\r\n', b'\n')
        else:
            errw.seek(0)
            err = errw.read()
            errw.close()
        r = Result(p.returncode, err.decode('utf-8', 'replace'),
                   time.monotonic() - t0)
        self.result = r
        self.runs.append({'argv': argv, 'tty': tty,
                          'rc': 'killed after %d s' % timeout if late
                          else r.rc, 'stderr': r.err})
        if late:
            raise Failure('outbox %s did not finish within %d s'
                          % (' '.join(argv), timeout))
        return r

    # -- checks -----------------------------------------------------------

    def check(self, cond, what):
        self.checks.append((bool(cond), what))

    def exit(self, r, name):
        self.check(r.rc == EX[name], 'exit %d (EX_%s), got %s'
                   % (EX[name], name, r.rc))

    def says(self, r, line, pattern):
        """stderr line LINE (0: the first) matches PATTERN."""
        got = r.lines[line] if len(r.lines) > line else None
        self.check(got is not None and re.search(pattern, got),
                   'stderr line %d matches /%s/, got %r'
                   % (line + 1, pattern, got))

    def lines(self, r, n):
        self.check(len(r.lines) == n, 'stderr has %d line(s), got %d'
                   % (n, len(r.lines)))

    @staticmethod
    def accepted(sink):
        return [t for s in sink.take() for t in s['transactions']
                if t['final'] and t['final'][0].startswith('2')]

    def nothing_delivered(self, sink):
        got = self.accepted(sink)
        self.check(not got, 'the server accepted no message, got %d'
                   % len(got))

    def delivered(self, sink, n=1):
        got = self.accepted(sink)
        self.check(len(got) == n, 'the server accepted %d message(s), '
                   'got %d' % (n, len(got)))
        return got

    def queued(self, n=1, sub='', held=None):
        """N messages in the queue (or its SUB directory), each holding
        the message; HELD: each marked held (or not)."""
        d = os.path.join(self.queue, sub) if sub else self.queue
        try:
            names = sorted(x for x in os.listdir(d) if x.endswith('.msg'))
        except FileNotFoundError:
            names = []
        where = 'queue/' + (sub + '/' if sub else '')
        self.check(len(names) == n, '%d message(s) in %s, got %d'
                   % (n, where, len(names)))
        for x in names:
            with open(os.path.join(d, x), 'rb') as f:
                data = f.read()
            self.check(b'Hello Bob.' in data, '%s%s holds the message'
                       % (where, x))
            if held is not None:
                with open(os.path.join(d, x[:-4] + '.env')) as f:
                    is_held = re.search(r'(?m)^held ', f.read())
                self.check(bool(is_held) == held, '%s%s is %sheld'
                           % (where, x, '' if held else 'not '))

    def finish(self):
        for s in self.sinks:
            s.close()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def drain(fd, chunks):
    """Read a terminal's output until its last writer has gone."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:         # EIO: the other side is closed
            return
        if not data:
            return
        chunks.append(data)


def mistake(name):
    return REGISTRY.case(name)


# -- the twenty ---------------------------------------------------------------
#
# Where a queue is configured, stderr goes to a terminal: outbox tells
# only a person at one that it queued or held a message (a caller may
# take any output for a failure).

FINGERPRINT = r'(?:[0-9A-F]{2}:){31}[0-9A-F]{2}'


@mistake('01-no-config-file')
def no_config_file(w):
    r = w.run([RCPT])
    w.exit(r, 'CONFIG')
    w.lines(r, 1)
    w.says(r, 0, r'no configuration file')
    w.says(r, 0, r'-C FILE.*create ~/\.config/outbox/config')


@mistake('02-config-without-from')
def config_without_from(w):
    s = w.sink()
    w.config(ACCOUNT.replace('from alice@example.org\n', ''))
    r = w.run([RCPT])
    w.exit(r, 'CONFIG')
    w.lines(r, 1)
    w.says(r, 0, r'no envelope-from.*set from .*-f')
    w.nothing_delivered(s)


@mistake('03-port-465-with-starttls')
def port_465_with_starttls(w):
    # The server waits for a TLS handshake; outbox for a greeting.
    s = w.sink({'implicit': True}, port=465)
    w.config(ACCOUNT.replace('port 587', 'port 465'))
    r = w.run([RCPT])
    w.exit(r, 'CONFIG')
    w.check(r.elapsed < 30, 'gave up after the short wait, not the '
            '5-minute greeting timeout (%.1f s)' % r.elapsed)
    w.says(r, 0, r'sent nothing in \d+ seconds')
    w.says(r, 1, r'hint: .*tls_starttls off')
    # With a queue it is held for the user to mend, not retried.
    w.config(ACCOUNT.replace('port 587', 'port 465'), queue=True)
    r = w.run([RCPT], tty=True)
    w.exit(r, 'OK')
    w.lines(r, 2)
    w.says(r, 0, r'sent nothing.*held as [0-9A-F]{16}: .*'
           r'tls_starttls off.*then run outbox -q')
    w.says(r, 1, r'1 message held, 0 failed: outbox -bp')
    w.queued(1, held=True)
    w.nothing_delivered(s)


@mistake('04-port-587-without-starttls')
def port_587_without_starttls(w):
    s = w.sink()
    w.config(ACCOUNT.replace('tls on\n', 'tls on\ntls_starttls off\n'))
    r = w.run([RCPT])
    # The wrong TLS mode for the port, as in case 3: a configuration error.
    w.exit(r, 'CONFIG')
    w.says(r, 0, r'TLS handshake failed: the server answered in plain '
           r'text')
    w.says(r, 1, r'hint: .*set tls_starttls on')
    w.check('unexpected TLS packet' not in r.err,
            "GnuTLS's sentence is not repeated")
    w.nothing_delivered(s)


@mistake('05-wrong-password')
def wrong_password(w):
    s = w.sink({'password': 'another password'})
    w.config(ACCOUNT)
    r = w.run([RCPT])
    w.exit(r, 'NOPERM')
    w.says(r, 0, r'authentication failed')
    w.says(r, 1, r'server message: 535 5\.7\.8')
    w.says(r, 2, r'hint: .*check password .*and user')
    w.nothing_delivered(s)


@mistake('06-unknown-keyword')
def unknown_keyword(w):
    w.config(ACCOUNT.replace('password "', 'pasword "'))
    r = w.run([RCPT])
    w.exit(r, 'CONFIG')
    w.lines(r, 1)
    w.says(r, 0, re.escape(w.conf) + r':8: unknown command pasword '
           r'\(did you mean password\?\)')


@mistake('07-password-file-mode-644')
def password_file_mode_644(w):
    w.config(ACCOUNT, mode=0o644)
    r = w.run([RCPT])
    w.exit(r, 'CONFIG')
    w.lines(r, 1)
    w.says(r, 0, re.escape(w.conf) + r' contains a password')
    w.says(r, 0, r'run chmod 600 ' + re.escape(w.conf) + '$')


@mistake('08-unresolvable-host')
def unresolvable_host(w):
    w.config(ACCOUNT.replace('host localhost', 'host smtp.example.invalid'),
             queue=True)
    r = w.run([RCPT])
    w.exit(r, 'NOHOST')
    w.says(r, 0, r'cannot resolve smtp\.example\.invalid')
    w.says(r, 1, r'hint: .*check host')
    # No retry can mend it: the message stays the caller's (exit 68).
    w.queued(0)
    w.queued(0, 'failed')


@mistake('09-closed-port')
def closed_port(w):
    w.config(ACCOUNT)
    r = w.run([RCPT])
    w.exit(r, 'TEMPFAIL')
    w.says(r, 0, r'cannot connect to localhost port 587: Connection '
           r'refused')
    w.says(r, 1, r'hint: .*check host and port')
    w.config(ACCOUNT, queue=True)
    r = w.run([RCPT], tty=True)
    w.exit(r, 'OK')
    w.lines(r, 1)
    w.says(r, 0, r'refused.*queued as [0-9A-F]{16} and will be sent later')
    w.queued(1)


@mistake('10-certificate-for-another-name')
def certificate_for_another_name(w):
    s = w.sink(cert='wrongname')
    w.config(ACCOUNT)
    r = w.run([RCPT])
    w.exit(r, 'UNAVAILABLE')
    w.says(r, 0, r'not valid for the name localhost; it is for '
           r'other\.example')
    w.says(r, 1, r'hint: .*tls_fingerprint ' + FINGERPRINT)
    w.says(r, 1, r'tls_trust_file')
    w.check('certificate is NOT trusted' not in r.err and
            'verification failed' not in r.err.lower(),
            "GnuTLS's sentence is not repeated")
    w.nothing_delivered(s)


@mistake('11-self-signed-certificate')
def self_signed_certificate(w):
    s = w.sink(cert='selfsigned')
    w.config(ACCOUNT)
    r = w.run([RCPT])
    w.exit(r, 'UNAVAILABLE')
    w.says(r, 0, r'certificate for localhost is self-signed')
    w.says(r, 1, r'hint: .*tls_fingerprint ' + FINGERPRINT +
           r'.*tls_trust_file')
    w.nothing_delivered(s)


@mistake('12-empty-message')
def empty_message(w):
    # As sendmail does, an empty input is sent, as a valid
    # message: the fields it needs are added, the body is empty.
    s = w.sink()
    w.config(ACCOUNT)
    r = w.run([RCPT], stdin=b'')
    w.exit(r, 'OK')
    w.lines(r, 0)
    got = w.delivered(s)
    data = got[0]['data'] if got else b''
    for name in (b'From', b'Date', b'Message-ID'):
        w.check(re.search(rb'(?m)^' + name + rb': \S', data),
                'the message got a %s field' % name.decode())


@mistake('13-no-blank-line-after-headers')
def no_blank_line_after_headers(w):
    s = w.sink()
    w.config(ACCOUNT)
    r = w.run([RCPT], stdin=b'Subject: hello\nHello Bob.\n')
    w.exit(r, 'OK')
    w.lines(r, 0)
    got = w.delivered(s)
    data = got[0]['data'] if got else b''
    # The empty line the header lacked goes before the text: the text is
    # the body, not a broken header field.
    w.check(b'Subject: hello\r\n' in data and
            data.endswith(b'\r\n\r\nHello Bob.\r\n'),
            'the text after the header arrives as the body, got %r' % data)


@mistake('14-recipient-with-trailing-space-or-comma-list')
def recipient_trailing_space_or_comma(w):
    s = w.sink()
    w.config(ACCOUNT)
    r = w.run(['bob@example.net, carol@example.net ', 'dave@example.net '])
    w.exit(r, 'OK')
    got = w.delivered(s)
    rcpts = [x['addr'] for x in got[0]['rcpt']] if got else []
    w.check(rcpts == ['bob@example.net', 'carol@example.net',
                      'dave@example.net'],
            'three recipients, got %r' % (rcpts,))
    r = w.run(['bob@example.net carol'])
    w.exit(r, 'USAGE')
    w.lines(r, 1)
    w.says(r, 0, r'the recipient argument "bob@example\.net carol" is not '
           r'a valid address')
    w.nothing_delivered(s)


@mistake('15-t-with-no-recipients')
def t_with_no_recipients(w):
    s = w.sink()
    w.config(ACCOUNT)
    r = w.run(['-t'], stdin=b'From: alice@example.org\nSubject: hi\n\n'
              b'Hello Bob.\n')
    w.exit(r, 'USAGE')
    w.lines(r, 1)
    w.says(r, 0, r'no recipients found \(looked at the command line and '
           r'the To, Cc and Bcc header fields\)')
    w.nothing_delivered(s)


@mistake('16-a-with-an-unknown-account')
def unknown_account(w):
    s = w.sink()
    w.config(ACCOUNT + '\naccount work\nhost localhost\nfrom a@work.example'
             '\n')
    r = w.run(['-a', 'wrok', RCPT])
    w.exit(r, 'CONFIG')
    w.lines(r, 2)
    w.says(r, 0, r'account wrok not found in ' + re.escape(w.conf))
    w.says(r, 1, r'hint: did you mean -a work\?')
    r = w.run(['-a', 'office', RCPT])
    w.exit(r, 'CONFIG')
    w.says(r, 1, r'hint: the accounts: default, work$')
    # No -a and no account named default: how to choose one.
    w.config(ACCOUNT.replace('account default', 'account work'))
    r = w.run([RCPT])
    w.exit(r, 'CONFIG')
    w.says(r, 0, r'account default not found')
    w.says(r, 1, r'hint: the accounts: work; choose one with -a, or make '
           r'one the default with "account default : NAME"$')
    w.nothing_delivered(s)


@mistake('17-535-after-a-password-change')
def auth_refused_after_password_change(w):
    s = w.sink({'password': 'the new password'})
    w.config(ACCOUNT, queue=True)
    r = w.run([RCPT], tty=True)
    w.exit(r, 'OK')
    w.lines(r, 2)
    w.says(r, 1, r'1 message held, 0 failed: outbox -bp')
    w.says(r, 0, r'authentication failed.*held as [0-9A-F]{16}: the server '
           r'refused the user name or password.*then run outbox -q')
    w.queued(1, held=True)
    w.nothing_delivered(s)
    # Mended, the held message goes with the next run, once.
    w.config(ACCOUNT.replace('"the password"', '"the new password"'),
             queue=True)
    r = w.run(['-q'], stdin=b'')
    w.exit(r, 'OK')
    w.delivered(s)
    w.queued(0)


@mistake('18-552-message-too-large')
def message_too_large(w):
    s = w.sink({'dot': '552 5.3.4 Message size exceeds fixed limit'})
    w.config(ACCOUNT, queue=True)
    r = w.run([RCPT])
    w.exit(r, 'UNAVAILABLE')
    w.says(r, 0, r'failed for good and was moved to ' +
           re.escape(w.queue) + r'/failed/.*552 5\.3\.4')
    w.check(re.search(r'(?m)^outbox: hint: the message is larger than the '
                      r'server takes', r.err), 'the hint names the size')
    w.check(r.err.count('hint:') == 1, 'the hint is said %d times'
            % r.err.count('hint:'))
    w.nothing_delivered(s)
    w.queued(0)
    w.queued(1, 'failed')


@mistake('19-ctrl-c-during-a-send')
def ctrl_c_during_send(w):
    s = w.sink({'dot_delay': 30})
    w.config(ACCOUNT, queue=True)
    r = w.run([RCPT], signal_at=(2.0, signal.SIGINT), tty=True)
    w.check(r.rc == -signal.SIGINT, 'ended by SIGINT as the shell expects, '
            'got %s' % r.rc)
    w.check(r.elapsed < 10, 'ended at once (%.1f s)' % r.elapsed)
    w.lines(r, 1)
    w.says(r, 0, r'^outbox: interrupted; the message is kept in the queue '
           r'as [0-9A-F]{16}: outbox -q sends it$')
    w.queued(1)
    s.close()
    w.sinks.remove(s)
    # The server never said 250: the next run sends it, once.
    s = w.sink()
    r = w.run(['-q'], stdin=b'')
    w.exit(r, 'OK')
    w.delivered(s)
    w.queued(0)


@mistake('20-run-as-cron-runs-it')
def run_as_cron(w):
    # No HOME, no terminal, LANG=C: the file is found through the
    # passwd entry's home directory (/root, private to this case).
    s = w.sink()
    os.makedirs('/root/.config/outbox')
    w.config(ACCOUNT, path='/root/.config/outbox/config')
    env = {'PATH': '/usr/bin:/bin', 'LANG': 'C', 'SHELL': '/bin/sh',
           'LOGNAME': 'root'}
    r = w.run([RCPT], env=env)
    w.exit(r, 'OK')
    w.lines(r, 0)
    w.delivered(s)
    # Without a password it would ask on the terminal: there is none.
    w.config(ACCOUNT.replace('password "the password"\n', ''),
             path='/root/.config/outbox/config')
    r = w.run([RCPT], env=env)
    w.exit(r, 'CONFIG')
    w.lines(r, 1)
    w.says(r, 0, r'no password for alice at localhost: .*password/'
           r'passwordeval .*no terminal to ask on')
    w.nothing_delivered(s)


# -- the namespaces -----------------------------------------------------------

def loopback_up():
    """Bring up lo in this new network namespace (SIOCSIFFLAGS)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack('16sH14x', b'lo', 0)
        flags = struct.unpack('16sH14x',
                              fcntl.ioctl(s, 0x8913, ifr))[1]  # SIOCGIFFLAGS
        ifr = struct.pack('16sH14x', b'lo', flags | 0x1)       # IFF_UP
        fcntl.ioctl(s, 0x8914, ifr)                            # SIOCSIFFLAGS
    finally:
        s.close()


def private_files(d):
    """Inside the mount namespace: names from files only, an empty /root."""
    nss = os.path.join(d, 'nsswitch.conf')
    with open(nss, 'w') as f:
        f.write('passwd: files\ngroup: files\nhosts: files\n')
    root = os.path.join(d, 'root')
    os.mkdir(root, 0o700)
    for src, dst in ((nss, '/etc/nsswitch.conf'), (root, '/root')):
        subprocess.run(['mount', '--bind', src, dst], check=True)


def run_inside(name, args):
    d = tempfile.mkdtemp(prefix='outbox-mistake-ns.')
    try:
        loopback_up()
        private_files(d)
        w = World(args, name)
        try:
            REGISTRY.fn(name)(w)
        except Failure as e:
            w.check(False, str(e))
        finally:
            w.finish()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    r = w.result
    report = {'case': name, 'runs': w.runs, 'checks': w.checks}
    print('RESULT ' + json.dumps(report))
    ok = all(c for c, _ in w.checks)
    for c, what in w.checks:
        if not c:
            print('FAIL: %s: %s' % (name, what))
    if not ok and r:
        print('stderr of the last run:\n' + r.err)
    return ok


def run_one(name, args):
    if os.environ.get(INSIDE):
        return run_inside(name, args)
    if os.geteuid() != 0:
        print('FAIL: %s: must run as root (unshare --mount --net)' % name)
        return False
    argv = ['unshare', '--mount', '--net', '--propagation', 'private',
            PY, '-B', os.path.abspath(__file__), '--outbox', args.outbox,
            '--certs', args.certs] + (['--keep'] if args.keep else []) + \
        (['--report'] if args.report else []) + [name]
    try:
        p = subprocess.run(argv, env=dict(os.environ, **{INSIDE: '1'}),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=1200 if args.report else 110)
    except subprocess.TimeoutExpired as e:
        print('FAIL: %s did not finish within %d s\n%s'
              % (name, e.timeout, (e.output or b'').decode('utf-8',
                                                          'replace')))
        return False
    out = p.stdout.decode('utf-8', 'replace')
    if args.report:
        for line in out.splitlines():
            if line.startswith('RESULT '):
                rep = json.loads(line[7:])
                failed = [w for c, w in rep['checks'] if not c]
                print(json.dumps({'case': name, 'runs': rep['runs'],
                                  'failed': failed}))
        return True
    sys.stdout.write(out)
    return p.returncode == 0


def options(ap):
    ap.add_argument('--report', action='store_true',
                    help='print each case\'s exit code and stderr as JSON, '
                    'and do not fail')


def check_args(args):
    if not args.certs or not os.path.exists(os.path.join(args.certs,
                                                         'ca.pem')):
        return '--certs DIR must hold the test certificates (certs.py DIR)'
    return None


if __name__ == '__main__':
    sys.exit(registry.main(REGISTRY, run_one, __doc__, options=options,
                           check=check_args))
