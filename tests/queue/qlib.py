"""Shared helpers for outbox's queue tests: a private HOME and queue
directory, configurations, running outbox, reading the queue directory.
The sink and the delay proxy are the library's (tests/lib/outboxtest).

Standard library only.
"""

import calendar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
sys.dont_write_bytecode = True  # keep the source tree clean
# What the queue tests take from the library, through this module.
from outboxtest import PY, TOP, tool  # noqa: E402,F401
from outboxtest.procs import (Failure, SinkProcess, DelayProxy,  # noqa
                              free_port)

FROM = 'alice@example.org'
ID_RE = re.compile(r'^[0-9A-F]{16}$')


def check(cond, what, *args):
    if not cond:
        raise Failure(what % args if args else what)


# --- messages ---------------------------------------------------------------

def message(seq, rcpt='bob@example.net', body=None, sender=FROM, size=0,
            extra=b''):
    """A message with LF line ends carrying its own X-Seq and Message-ID
    (so outbox adds nothing).  SIZE pads the body to about that many
    bytes."""
    if body is None:
        body = b'Queue test message %s.\n' % seq.encode()
    parts, n = [body], len(body)
    while n < size:
        line = (b'%s padding line %08d ' % (seq.encode(), n)) \
            .ljust(76, b'x') + b'\n'
        parts.append(line)
        n += len(line)
    body = b''.join(parts)
    return (b'From: Alice <%s>\n'
            b'To: <%s>\n'
            b'Subject: queue test %s\n'
            b'Date: Sun, 22 Nov 2026 12:00:00 +0000\n'
            b'Message-ID: <%s@queue.test>\n'
            b'X-Seq: %s\n'
            % (sender.encode(), rcpt.encode(), seq.encode(), seq.encode(),
               seq.encode())) + extra + b'\n' + body


def crlf(data):
    """DATA as outbox stores and sends it: LF and bare CR become CRLF."""
    data = data.replace(b'\r\n', b'\n').replace(b'\r', b'\n')
    if not data.endswith(b'\n'):
        data += b'\n'
    return data.replace(b'\n', b'\r\n')


# --- the queue directory ------------------------------------------------------

def parse_env(text):
    """ID.env as a dict: single keys map to their last value, "rcpt" to a
    list of (STATE, ADDRESS), and "_lines" keeps every line."""
    env = {'rcpt': [], '_lines': []}
    for line in text.splitlines():
        if not line.strip():
            continue
        env['_lines'].append(line)
        key, _, value = line.partition(' ')
        if key == 'rcpt':
            state, _, addr = value.partition(' ')
            env['rcpt'].append((state, addr))
        else:
            env[key] = value
    return env


def parse_time(value):
    """A time stamp of the queue as seconds since the epoch: plain seconds,
    or ISO 8601 (2026-11-22T12:00:00Z, with an optional offset)."""
    value = value.strip()
    if re.fullmatch(r'\d+(\.\d+)?', value):
        return float(value)
    m = re.fullmatch(r'(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)'
                     r'(?:\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?', value)
    if not m:
        raise Failure('cannot read the time stamp %r' % value)
    t = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)))
    tz = m.group(7)
    if tz and tz != 'Z':
        sign = 1 if tz[0] == '+' else -1
        digits = tz[1:].replace(':', '')
        t -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return float(t)


class Entry:
    def __init__(self, qdir, ident, sub=''):
        self.id = ident
        self.dir = os.path.join(qdir, sub) if sub else qdir
        self.env_path = os.path.join(self.dir, ident + '.env')
        self.msg_path = os.path.join(self.dir, ident + '.msg')
        with open(self.env_path, encoding='utf-8', errors='replace') as f:
            self.env_text = f.read()
        self.env = parse_env(self.env_text)
        try:
            with open(self.msg_path, 'rb') as f:
                self.msg = f.read()
        except FileNotFoundError:
            self.msg = None

    def rcpts(self, state=None):
        return [a for s, a in self.env['rcpt'] if state is None or s == state]

    def seq(self):
        m = re.search(rb'(?im)^X-Seq:[ \t]*(\S+)', self.msg or b'')
        return m.group(1).decode() if m else None

    def __repr__(self):
        return 'Entry(%s: %s)' % (self.id, ' | '.join(self.env['_lines']))


def entries(qdir, sub=''):
    """The entries of QDIR (or of QDIR/failed with sub='failed'): one per
    ID.env, sorted by ID."""
    d = os.path.join(qdir, sub) if sub else qdir
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    out = []
    for n in sorted(names):
        if n.endswith('.env'):
            try:
                out.append(Entry(qdir, n[:-4], sub))
            except FileNotFoundError:
                pass            # removed meanwhile
    return out


def check_layout(qdir):
    """Every file at the top of QDIR is ID.env or ID.msg, each .env has
    its .msg, and IDs are 16 upper-case hex digits.  Returns the problems
    found (empty list: none)."""
    problems = []
    if not os.path.isdir(qdir):
        return problems
    envs, msgs = set(), set()
    for n in os.listdir(qdir):
        p = os.path.join(qdir, n)
        if n in ('tmp', 'failed') and os.path.isdir(p):
            continue
        base, dot, ext = n.rpartition('.')
        if ext == 'env':
            envs.add(base)
        elif ext == 'msg':
            msgs.add(base)
        elif n.startswith('.') or ext in ('lock', 'lck'):
            continue
        else:
            problems.append('unexpected file %s' % n)
            continue
        if not ID_RE.match(base):
            problems.append('%s: the ID is not 16 upper-case hex digits' % n)
    for i in sorted(envs - msgs):
        problems.append('%s.env without %s.msg' % (i, i))
    return problems


class Result:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.out, self.err, self.elapsed = rc, out, err, elapsed

    def __repr__(self):
        return 'exit %s, %.2fs\n---- stdout:\n%s---- stderr:\n%s' % (
            self.rc, self.elapsed, self.out, self.err)


class Outbox:
    """A private world for one test: HOME, XDG_STATE_HOME, a queue
    directory, configuration files, and outbox runs in it."""

    def __init__(self, outbox, workdir=None, keep=False):
        self.outbox = os.path.abspath(outbox)
        self.dir = workdir or tempfile.mkdtemp(prefix='outbox-qtest.')
        self.keep = keep
        self.home = os.path.join(self.dir, 'home')
        self.state = os.path.join(self.dir, 'state')
        self.qdir = os.path.join(self.dir, 'queue')
        os.makedirs(self.home, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)
        self.conf = os.path.join(self.dir, 'outboxrc')
        self.runs = []
        self.extra_env = {}  # say, OUTBOX_COMPANION_DIR for a stand-in

    def env(self):
        env = {'PATH': '/usr/bin:/bin', 'HOME': self.home,
               'XDG_STATE_HOME': self.state,
               'XDG_CONFIG_HOME': os.path.join(self.home, '.config'),
               'LC_ALL': 'C', 'TZ': 'UTC'}
        env.update(self.extra_env)
        return env

    def config(self, port, queue='on-failure', extra='', accounts=None,
               defaults='', path=None, qdir=None, background=False):
        """Write the configuration: a "defaults" section with the queue
        settings, then account "default" on 127.0.0.1:PORT (or ACCOUNTS:
        a list of (name, port, from, extra lines))."""
        qdir = qdir or self.qdir
        text = ('# outbox queue test\n'
                'defaults\n'
                'tls off\n'
                'timeout 5\n'
                'queue %s\n'
                'queue_dir %s\n'
                'queue_background %s\n'
                '%s'
                '\n' % (queue, qdir, 'on' if background else 'off',
                         defaults))
        if accounts is None:
            accounts = [('default', port, FROM, extra)]
        for name, p, frm, ext in accounts:
            text += ('account %s\n'
                     'host 127.0.0.1\n'
                     'port %d\n'
                     'from %s\n'
                     '%s\n' % (name, p, frm, ext))
        path = path or self.conf
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        self.conf_text = text
        return path

    def run(self, args, stdin=b'', timeout=60, conf=True, preexec=None,
            stderr_tty=False, wrap=()):
        """Run outbox ARGS (after -C CONF) with STDIN; WRAP is a command
        prefix (say, unshare ...) that ends by running its arguments."""
        argv = list(wrap) + [self.outbox] + (['-C', self.conf] if conf
                                             else []) + args
        t0 = time.monotonic()
        if stderr_tty:
            return self._run_tty(argv, stdin, timeout, t0)
        p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env(), start_new_session=True,
                             preexec_fn=preexec, cwd=self.dir)
        try:
            out, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            raise Failure('outbox %s did not finish within %ds; stderr: %s'
                          % (' '.join(args), timeout,
                             err.decode('utf-8', 'replace')))
        r = Result(p.returncode, out.decode('utf-8', 'replace'),
                   err.decode('utf-8', 'replace'), time.monotonic() - t0)
        self.runs.append((argv, r))
        return r

    def run_as(self, name, args, stdin=b'', timeout=60):
        """Run outbox under another argv[0] (a symbolic link NAME)."""
        link = os.path.join(self.dir, name)
        if not os.path.exists(link):
            os.symlink(self.outbox, link)
        saved = self.outbox
        self.outbox = link
        try:
            return self.run(args, stdin, timeout)
        finally:
            self.outbox = saved

    def _run_tty(self, argv, stdin, timeout, t0):
        import pty
        master, slave = pty.openpty()
        p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=slave,
                             env=self.env(), cwd=self.dir)
        os.close(slave)
        try:
            out, _ = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        err = b''
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        r = Result(p.returncode, out.decode('utf-8', 'replace'),
                   err.decode('utf-8', 'replace'), time.monotonic() - t0)
        self.runs.append((argv, r))
        return r

    def entries(self, sub='', qdir=None):
        return entries(qdir or self.qdir, sub)

    def failed(self, qdir=None):
        return entries(qdir or self.qdir, 'failed')

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self, ok, *servers):
        """Stop the servers; remove the directory after a pass, keep it
        (and say where) after a failure.  The exit status for main()."""
        for s in servers:
            s.stop()
        if ok:
            self.cleanup()
        else:
            print('kept %s' % self.dir)
        return 0 if ok else 1

    def transcript(self):
        out = []
        for argv, r in self.runs[-6:]:
            out.append('$ %s\n%r' % (' '.join(argv), r))
        return '\n'.join(out)


# --- an independent server ---------------------------------------------------

class RealSink:
    """aiosmtpd (the independent implementation) on loopback, recording
    each message as (MAIL FROM, [RCPT TO...], content).  refuse(address)
    may return a reply to refuse that recipient with."""

    def __init__(self, refuse=None, port=None):
        from aiosmtpd.controller import Controller

        sink = self
        self.messages = []
        self.port = port or free_port()

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address,
                                  options):
                why = refuse(address) if refuse else None
                if why:
                    return why
                envelope.rcpt_tos.append(address)
                return '250 OK'

            async def handle_DATA(self, server, session, envelope):
                sink.messages.append((envelope.mail_from,
                                      list(envelope.rcpt_tos),
                                      envelope.content))
                return '250 OK'

        self.c = Controller(Handler(), hostname='127.0.0.1', port=self.port)

    def start(self):
        self.c.start()
        return self

    def stop(self):
        self.c.stop()
