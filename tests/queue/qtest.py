#!/usr/bin/python3
"""Cases for outbox's durable queue, against the library's SMTP server
(tests/lib/outboxtest/smtpserver.py: its sink mode records every message,
its script mode counts round trips) and, for the integration cases, the
private Postfix of tests/integration/servers behind the library's delay
proxy; and the fault injections of fault_*.py.

usage: qtest.py --outbox PATH [--itest DIR] CASE...   run cases ("all":
                                          every one; the postfix-* cases
                                          need --itest DIR)
       qtest.py --list                    print the case names

Each case runs in a private directory (HOME, XDG_STATE_HOME, queue_dir,
configuration) that is removed when it passes and kept when it fails;
its failure report shows the last outbox runs, their stderr, and the
queue directory.  QTEST_KEEP=1 keeps it always.

Standard library only.
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import (Failure, check, message, crlf, Outbox, SinkProcess,  # noqa
                  DelayProxy, free_port, parse_time, check_layout, FROM,
                  ID_RE, PY, TOP, tool)
from outboxtest import cases as registry  # noqa: E402
import fault_concurrent  # noqa: E402
import fault_disk  # noqa: E402
import fault_kill  # noqa: E402
import flights  # noqa: E402

CASES = registry.Registry()
TRUST = '/etc/ssl/certs/ca-certificates.crt'


def case(name, integration=False):
    return CASES.case(name, integration=integration)


# --- failure kinds --------------------------------------------------------------

# name: (sink rules or None for "nothing listens", extra account lines,
#        text the entry's last error must contain)
TEMPORARY = {
    'refused': (None, '', ''),
    'greeting-421': ({'greeting': '421 4.3.2 Service not available'}, '',
                     '421'),
    'mail-451': ({'mail': '451 4.3.0 Try again later'}, '', '451'),
    'rcpt-450': ({'rcpt': '450 4.2.1 Mailbox busy'}, '', '450'),
    'data-451': ({'data': '451 4.3.0 Not now'}, '', '451'),
    'dot-452': ({'dot': '452 4.3.1 Insufficient storage'}, '', '452'),
    'timeout-greeting': ({'greeting': 'sleep 8'}, 'timeout 2\n', ''),
    'timeout-dot': ({'dot': 'sleep 8'}, 'timeout 2\n', ''),
    'lost-after-mail': ({'mail': 'close'}, '', ''),
    'tls-handshake-cut': ({'tls': 'cut'},
                          'tls on\ntls_starttls on\ntls_trust_file %s\n'
                          % TRUST, ''),
}

PERMANENT = {
    'greeting-554': ({'greeting': '554 5.3.2 No service here'}, '', '554'),
    'mail-553': ({'mail': '553 5.1.8 Sender refused'}, '', '553'),
    'rcpt-550': ({'rcpt': '550 5.1.1 No such user'}, '', '550'),
    'data-554': ({'data': '554 5.3.4 No DATA for you'}, '', '554'),
    'dot-554': ({'dot': '554 5.6.0 Content refused'}, '', '554'),
}


class World:
    """One case's outbox world and its sink."""

    def __init__(self, outbox, rules=None, sink=True):
        self.o = Outbox(outbox, keep=os.environ.get('QTEST_KEEP') == '1')
        self.sink = SinkProcess(self.o.dir, rules) if sink else None
        self.t0 = time.time()

    def port_for(self, rules):
        """The port to configure: the sink's, or a closed one (rules None)."""
        if rules is None:
            return free_port()
        self.sink.set_rules(rules)
        return self.sink.port

    def report(self):
        out = ['---- case directory: %s' % self.o.dir,
               '---- last outbox runs:', self.o.transcript()]
        if os.path.exists(self.o.conf):
            out += ['---- configuration:', self.o.conf_text]
        out.append('---- queue directory %s:' % self.o.qdir)
        for sub in ('', 'failed'):
            for e in self.o.entries(sub):
                out.append('  %s%s.env:' % (sub + '/' if sub else '', e.id))
                out += ['    ' + ln for ln in e.env['_lines']]
        if self.sink:
            out.append('---- sink events:')
            for e in self.sink.events()[-40:]:
                e.pop('data', None)
                out.append('  %s' % e)
        return '\n'.join(out)

    def stop(self):
        if self.sink:
            self.sink.stop()


def one_entry(w, sub=''):
    es = w.o.entries(sub)
    check(len(es) == 1, 'expected one entry in %s/%s, found %d: %r',
          w.o.qdir, sub, len(es), es)
    return es[0]


def no_entries(w):
    es = w.o.entries()
    check(not es, 'expected an empty queue, found %r', es)


def notice_only(w, to=None):
    """What a message given up on leaves in the queue: exactly one notice
    to its sender, from the null sender."""
    es = w.o.entries()
    check(len(es) == 1, 'expected one notice in the queue, found %r', es)
    e = es[0]
    check(e.env.get('from', '') == '', 'the notice is from %r, not <>',
          e.env.get('from'))
    check(e.rcpts('pending') == [to or FROM], 'the notice goes to %r',
          e.rcpts('pending'))
    check(b'multipart/report' in e.msg and b'delivery-status' in e.msg,
          'the notice is no delivery status notification')
    return e


def check_stored(w, e, msg, rcpts=('bob@example.net',), attempts=None,
                 error=None, account='default'):
    """The entry holds the message as it will be sent, and its metadata."""
    check(ID_RE.match(e.id), 'entry ID %r is not 16 upper-case hex digits',
          e.id)
    check(e.env.get('id') == e.id, '"id" line %r, expected %s',
          e.env.get('id'), e.id)
    check(e.msg == crlf(msg), 'stored message differs from the input with '
          'CRLF line ends:\n%r\nexpected\n%r', e.msg, crlf(msg))
    check(e.env.get('account') == account, 'account %r, expected %r',
          e.env.get('account'), account)
    check(w.o.conf in e.env_text, 'the configuration source %s is not '
          'recorded in the entry', w.o.conf)
    check(e.env.get('from') == FROM, 'from %r, expected %s',
          e.env.get('from'), FROM)
    check(sorted(e.rcpts('pending')) == sorted(rcpts),
          'pending recipients %r, expected %r', e.env['rcpt'], list(rcpts))
    created = parse_time(e.env.get('created', ''))
    check(w.t0 - 5 <= created <= time.time() + 5,
          'created %s is not the time of the run', e.env.get('created'))
    parse_time(e.env.get('next', ''))
    if attempts is not None:
        check(e.env.get('attempts') == str(attempts),
              'attempts %r, expected %d', e.env.get('attempts'), attempts)
    if error is not None:
        check(e.env.get('error'), 'no last error recorded')
        check(error in e.env.get('error', ''),
              'last error %r does not contain %r', e.env.get('error'), error)
    check(not check_layout(w.o.qdir), 'queue layout: %s',
          check_layout(w.o.qdir))


def expect_delivered(w, msg, seq, rcpts=('bob@example.net',), count=1):
    got = [m for m in w.sink.wait_messages(count) if m['seq'] == seq]
    check(len(got) == count, 'message %s delivered %d times, expected %d',
          seq, len(got), count)
    m = got[-1]
    check(m['bytes'] == crlf(msg), 'delivered bytes differ from the input:'
          '\n%r\nexpected\n%r', m['bytes'], crlf(msg))
    check(sorted(m['rcpt']) == sorted(rcpts), 'delivered to %r, expected '
          '%r', m['rcpt'], list(rcpts))
    check(m['sender'] == FROM, 'envelope sender %r', m['sender'])
    return m


def flush_one_now(w, e, msg, seq):
    """With the server accepting again, -qI<ID> sends the entry at once
    whatever its schedule; it is then gone."""
    w.sink.set_rules({})
    r = w.o.run(['-qI' + e.id])
    check(r.rc == 0, '-qI%s exited %s, expected 0', e.id, r.rc)
    expect_delivered(w, msg, seq)
    no_entries(w)
    check(not w.o.failed(), 'failed/ is not empty')


def fix_port(w, rules):
    """The server is back: after "refused" the configuration points at the
    live sink; after a cut TLS handshake the account drops TLS (the sink
    cannot finish one).  The flush uses the account's settings as they are
    now."""
    if rules is None:
        w.o.config(w.sink.port, queue=w.mode, extra=w.extra)
    elif rules.get('tls'):
        w.o.config(w.sink.port, queue=w.mode)


def perm_code(w, rules, extra):
    """The exit code queue off gives for this permanent failure, in a
    separate queue directory."""
    o2 = Outbox(w.o.outbox, os.path.join(w.o.dir, 'off'))
    w.sink.set_rules(rules)
    o2.config(w.sink.port, queue='off', extra=extra)
    r = o2.run(['bob@example.net'], message('probe'))
    check(r.rc not in (0, 75), 'queue off: a permanent failure exited %s',
          r.rc)
    return r.rc


def make_mode_cases():
    for kind, (rules, extra, code) in TEMPORARY.items():
        def off(c, rules=rules, extra=extra):
            w = c.world()
            w.o.config(w.port_for(rules), queue='off', extra=extra)
            r = w.o.run(['bob@example.net'], message('m1'))
            check(r.rc == 75, 'queue off: exit %s, expected 75', r.rc)
            no_entries(w)
            check(not w.sink.messages(), 'something was delivered')
        case('off-temp-' + kind)(off)

        def onf(c, rules=rules, extra=extra, code=code):
            w = c.world()
            w.mode, w.extra = 'on-failure', extra
            w.o.config(w.port_for(rules), queue='on-failure', extra=extra)
            msg = message('m1')
            r = w.o.run(['bob@example.net'], msg)
            check(r.rc == 0, 'on-failure, temporary failure: exit %s, '
                  'expected 0 (queued)', r.rc)
            check(r.err == '', 'stderr is not a terminal, yet outbox wrote '
                  '%r', r.err)
            e = one_entry(w)
            check_stored(w, e, msg, attempts=1, error=code)
            check(parse_time(e.env['next']) > time.time() + 60,
                  'next attempt %s is not in the future (default retry 5m)',
                  e.env['next'])
            check(not w.sink.messages(), 'something was delivered')
            fix_port(w, rules)
            flush_one_now(w, e, msg, 'm1')
        case('on-failure-temp-' + kind)(onf)

        def always(c, rules=rules, extra=extra, code=code):
            w = c.world()
            w.mode, w.extra = 'always', extra
            port = w.port_for(rules)
            w.o.config(port, queue='always', extra=extra)
            msg = message('m1')
            r = w.o.run(['bob@example.net'], msg)
            check(r.rc == 0, 'queue always: exit %s, expected 0', r.rc)
            check(w.sink.connections() == 0, 'queue always connected')
            e = one_entry(w)
            check_stored(w, e, msg, attempts=0)
            check(parse_time(e.env['next']) <= time.time() + 1,
                  'a new entry is not due at once: next %s', e.env['next'])
            r = w.o.run(['-q'])
            check(r.rc == 75, '-q after a temporary failure: exit %s, '
                  'expected 75', r.rc)
            e = one_entry(w)
            check_stored(w, e, msg, attempts=1, error=code)
            nxt = parse_time(e.env['next'])
            check(time.time() + 240 < nxt < time.time() + 310,
                  'next attempt %s is not about 5 minutes away',
                  e.env['next'])
            fix_port(w, rules)
            flush_one_now(w, e, msg, 'm1')
        case('always-temp-' + kind)(always)

    for kind, (rules, extra, code) in PERMANENT.items():
        def off(c, rules=rules, extra=extra):
            w = c.world()
            w.o.config(w.port_for(rules), queue='off', extra=extra)
            r = w.o.run(['bob@example.net'], message('m1'))
            check(r.rc not in (0, 75), 'exit %s for a permanent failure',
                  r.rc)
            no_entries(w)
            check(not w.o.failed(), 'queue off stored a failed/ entry')
        case('off-perm-' + kind)(off)

        def onf(c, rules=rules, extra=extra, code=code, kind=kind):
            w = c.world()
            want = perm_code(w, rules, extra)
            w.o.config(w.port_for(rules), queue='on-failure', extra=extra)
            msg = message('m1')
            r = w.o.run(['bob@example.net'], msg)
            check(r.rc == want, 'on-failure, permanent failure: exit %s, '
                  'expected %s as with queue off', r.rc, want)
            no_entries(w)
            f = one_entry(w, 'failed')
            check('failed/' in r.err and f.id in r.err,
                  'stderr does not name failed/%s', f.id)
            check(f.env.get('failed'), 'no "failed REASON" line')
            check(code in f.env_text, 'the reason does not quote %s', code)
            check(f.msg == crlf(msg), 'failed/%s.msg is not the message',
                  f.id)
            check(not w.sink.messages(), 'something was delivered')
            if kind == 'rcpt-550':
                check(f.rcpts('failed') == ['bob@example.net'],
                      'the refused recipient is not marked failed: %r',
                      f.env['rcpt'])
        case('on-failure-perm-' + kind)(onf)

        def always(c, rules=rules, extra=extra, code=code, kind=kind):
            w = c.world()
            want = perm_code(w, rules, extra)
            w.o.config(w.port_for(rules), queue='always', extra=extra)
            msg = message('m1')
            r = w.o.run(['bob@example.net'], msg)
            check(r.rc == 0, 'queue always: exit %s', r.rc)
            r = w.o.run(['-q'])
            check(r.rc == want, '-q with a permanent failure: exit %s, '
                  'expected %s', r.rc, want)
            notice_only(w)
            f = one_entry(w, 'failed')
            check(f.env.get('failed') and code in f.env_text,
                  'failed/%s has no reason quoting %s', f.id, code)
            check(f.msg == crlf(msg), 'failed/%s.msg is not the message',
                  f.id)
            if kind == 'rcpt-550':
                check(f.rcpts('failed') == ['bob@example.net'],
                      'the refused recipient is not marked failed: %r',
                      f.env['rcpt'])
        case('always-perm-' + kind)(always)


make_mode_cases()


# --- DNS failures (root: a private resolv.conf in a mount namespace) --------

def dns_wrap(c, w):
    """Start tests/integration/dns.py on [::1]:53 (SERVFAIL for names under
    servfail.test, NXDOMAIN for others) and return the command prefix that
    runs outbox with a resolv.conf naming only it, bind-mounted over
    /etc/resolv.conf in a private mount namespace."""
    check(os.geteuid() == 0, 'this case needs root (unshare -m, port 53)')
    ready = os.path.join(w.o.dir, 'dns.ready')
    dns = subprocess.Popen([PY, os.path.join(TOP, 'tests', 'integration',
                                             'dns.py'),
                            '--address', '::1', '--ready', ready],
                           stdout=subprocess.DEVNULL)
    c.cleanups.append(lambda: (dns.terminate(), dns.wait(5)))
    deadline = time.monotonic() + 5
    while not os.path.exists(ready):
        check(dns.poll() is None, 'dns.py exited %s', dns.returncode)
        check(time.monotonic() < deadline, 'dns.py is not ready')
        time.sleep(0.05)
    resolv = os.path.join(w.o.dir, 'resolv.conf')
    with open(resolv, 'w') as f:
        f.write('nameserver ::1\noptions timeout:1 attempts:1\n')
    return ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c',
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv]


@case('on-failure-temp-dns-servfail')
def _(c):
    """The server's name gets SERVFAIL (a temporary DNS failure): queue
    on-failure stores the message, exit 0; once the account names a
    reachable server, -qI delivers it."""
    w = c.world()
    wrap = dns_wrap(c, w)
    w.o.config(w.sink.port, queue='on-failure')
    text = w.o.conf_text.replace('host 127.0.0.1', 'host mx.servfail.test')
    with open(w.o.conf, 'w') as f:
        f.write(text)
    w.o.conf_text = text
    msg = message('m1')
    r = w.o.run(['bob@example.net'], msg, wrap=wrap)
    check(r.rc == 0, 'SERVFAIL with on-failure: exit %s, expected 0', r.rc)
    e = one_entry(w)
    check_stored(w, e, msg, attempts=1)
    w.o.config(w.sink.port, queue='on-failure')
    flush_one_now(w, e, msg, 'm1')


@case('on-failure-perm-dns-nxdomain')
def _(c):
    """The server's name does not exist (NXDOMAIN): not a temporary
    failure, so queue on-failure exits with the code queue off gives and
    keeps no live entry.  (No server refused the message with a 5xx, so
    outbox does not put it in failed/ either: the caller is told.)"""
    w = c.world()
    wrap = dns_wrap(c, w)
    text = None
    for mode in ('off', 'on-failure'):
        w.o.config(w.sink.port, queue=mode)
        text = w.o.conf_text.replace('host 127.0.0.1',
                                     'host mx.nxdomain.example')
        with open(w.o.conf, 'w') as f:
            f.write(text)
        w.o.conf_text = text
        r = w.o.run(['bob@example.net'], message('m1'), wrap=wrap)
        check(r.rc not in (0, 75), 'NXDOMAIN, queue %s: exit %s', mode,
              r.rc)
        check(r.err.strip(), 'NXDOMAIN, queue %s: no message', mode)
        if mode == 'off':
            want = r.rc
            no_entries(w)
            check(not w.o.failed(), 'queue off stored something')
    check(r.rc == want, 'on-failure exit %s, queue off %s', r.rc, want)
    no_entries(w)
    c.notes.append('NXDOMAIN: exit %s, failed/ entries %d'
                   % (r.rc, len(w.o.failed())))


# --- schedule, age, selection, listing ------------------------------------------

@case('retry-schedule-doubles-up-to-max')
def _(c):
    """queue_retry 60 150: the first retry 60 s after the failure, then
    120 s, then 150 (the cap), 150; -qI forces each attempt."""
    w = c.world()
    w.o.config(w.port_for({'rcpt': '451 4.3.0 later'}), queue='on-failure',
               defaults='queue_retry 60 150\n')
    r = w.o.run(['bob@example.net'], message('m1'))
    check(r.rc == 0, 'exit %s', r.rc)
    want = [60, 120, 150, 150]
    for i, gap in enumerate(want):
        e = one_entry(w)
        now = time.time()
        got = parse_time(e.env['next']) - now
        check(gap - 5 <= got <= gap + 1, 'after attempt %d the next is %.0f '
              's away, expected %d', i + 1, got, gap)
        check(e.env.get('attempts') == str(i + 1), 'attempts %r, expected '
              '%d', e.env.get('attempts'), i + 1)
        if i + 1 < len(want):
            r = w.o.run(['-qI' + e.id])
            check(r.rc == 75, '-qI: exit %s, expected 75', r.rc)


@case('retry-due-only-after-min')
def _(c):
    """queue_retry 2s 4s: the scheduled run (--queue-run) right after the
    failure sends nothing (not due, exit 0, no connection); once 2 s have
    passed it delivers."""
    w = c.world()
    dead = free_port()
    w.o.config(dead, queue='on-failure', defaults='queue_retry 2s 4s\n')
    msg = message('m1')
    r = w.o.run(['bob@example.net'], msg)
    check(r.rc == 0, 'exit %s', r.rc)
    w.o.config(w.sink.port, queue='on-failure',
               defaults='queue_retry 2s 4s\n')
    r = w.o.run(['--queue-run'])
    check(r.rc == 0, '--queue-run with nothing due: exit %s, expected 0',
          r.rc)
    check(w.sink.connections() == 0, '--queue-run connected with nothing '
          'due')
    one_entry(w)
    time.sleep(2.2)
    r = w.o.run(['--queue-run'])
    check(r.rc == 0, '--queue-run: exit %s', r.rc)
    expect_delivered(w, msg, 'm1')
    no_entries(w)


@case('q-sends-what-is-not-yet-due')
def _(c):
    """-q attempts every queued message now, as sendmail's and Postfix's
    do, whatever its schedule (queue_retry 1h): the user who runs it has
    mended something.  The scheduled run (--queue-run) does not."""
    w = c.world()
    dead = free_port()
    w.o.config(dead, queue='on-failure', defaults='queue_retry 1h 2h\n')
    msg = message('m1')
    check(w.o.run(['bob@example.net'], msg).rc == 0, 'enqueue')
    w.o.config(w.sink.port, queue='on-failure',
               defaults='queue_retry 1h 2h\n')
    r = w.o.run(['--queue-run'])
    check(r.rc == 0 and w.sink.connections() == 0,
          '--queue-run sent an entry not due (exit %s)', r.rc)
    one_entry(w)
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q: exit %s', r.rc)
    expect_delivered(w, msg, 'm1')
    no_entries(w)


@case('held-535-sent-by-q-after-the-fix')
def _(c):
    """queue on-failure and the server refuses the login (535 5.7.8): the
    message is held, not lost and not the caller's failure (exit 0; one
    stderr line naming the fix, only to a terminal); -bp shows it held
    with the fix; the timer's --queue-run leaves it (retrying a wrong
    password locks accounts); -q after the password is mended sends it."""
    w = c.world()
    w.sink.set_rules({'auth': ['PLAIN'], 'user': 'alice',
                      'password': 'right'})
    w.o.config(w.sink.port, queue='on-failure',
               extra='auth plain\nuser alice\npassword wrong\n')
    msg = message('m1')
    r = w.o.run(['bob@example.net'], msg)
    check(r.rc == 0, 'a refused login with a queue: exit %s', r.rc)
    check(r.err == '', 'stderr, not a terminal: %r', r.err)
    e = one_entry(w)
    check('535' in e.env.get('held', ''), 'the entry is not held for the '
          '535: %r', e.env_text)
    check(not w.sink.messages(), 'something was delivered')
    r = w.o.run(['tom@example.net'], message('m2'), stderr_tty=True)
    check(r.rc == 0, 'on a terminal: exit %s', r.rc)
    check('held as' in r.err and 'outbox -q' in r.err,
          'the terminal is not told: %r', r.err)
    # And every interactive run says what waits, in one line.
    check('2 messages held, 0 failed: outbox -bp' in r.err,
          'no reminder of the held messages: %r', r.err)
    r = w.o.run(['-bp'])
    check(r.rc == 0 and r.out.count('held: ') == 2 and 'password' in r.out,
          '-bp does not show the held messages and the fix:\n%s', r.out)
    before = w.sink.connections()
    r = w.o.run(['--queue-run'])
    check(r.rc == 0 and w.sink.connections() == before,
          '--queue-run tried a held message (exit %s)', r.rc)
    w.o.config(w.sink.port, queue='on-failure',
               extra='auth plain\nuser alice\npassword right\n')
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q after the fix: exit %s %r', r.rc, r.err)
    check('2 sent' in r.out, '-q does not say what it did: %r', r.out)
    got = sorted(m['seq'] for m in w.sink.messages())
    check(got == ['m1', 'm2'], 'delivered %r', got)
    no_entries(w)


@case('flush-refusals-get-the-hint')
def _(c):
    """A queue flush says what to change, as a direct send does: a login
    refused with 535 5.7.8 holds the message with the hint for it (in -bp
    and on stderr), a sender refused with 550 5.7.60 moves it to failed/
    with the send-as hint on stderr."""
    w = c.world()
    w.sink.set_rules({'auth': ['PLAIN'], 'user': 'alice',
                      'password': 'right'})
    w.o.config(w.sink.port, queue='always',
               extra='auth plain\nuser alice\npassword wrong\n')
    check(w.o.run(['bob@example.net'], message('h1')).rc == 0, 'enqueue')
    r = w.o.run(['-q'])
    check(r.rc != 0, '-q exit 0 with the login refused')
    check('hint: the server refused the user name or password' in r.err,
          'no hint on stderr: %r', r.err)
    e = one_entry(w)
    check('some providers want the whole address' in e.env.get('held', ''),
          'held without the hint: %r', e.env.get('held'))
    r = w.o.run(['-bp'])
    check('some providers want the whole address' in r.out,
          '-bp does not show the hint: %s', r.out)
    q2 = os.path.join(w.o.dir, 'q2')
    w.sink.set_rules({'mail': '550 5.7.60 SMTP; Client does not have '
                      'permissions to send as this sender'})
    w.o.config(w.sink.port, queue='always', qdir=q2)
    check(w.o.run(['bob@example.net'], message('h2')).rc == 0, 'enqueue')
    r = w.o.run(['-q'])
    check('moved to' in r.err and
          'hint: this login may not send as the envelope sender' in r.err,
          'no hint for the refused sender: %r', r.err)
    check(len(w.o.failed(qdir=q2)) == 1, 'failed/: %r',
          w.o.failed(qdir=q2))


@case('oauth-dead-refresh-token-held-keepalive-by-queue-run')
def _(c):
    """queue on-failure and outbox-auth (a stand-in) says the refresh token
    is dead (exit 77): the message is held, not failed and not the
    caller's failure; -bp shows the line naming outbox --authorize -a;
    nothing connected.  A queue run asks outbox-auth for a keepalive of
    the OAuth account, and of no other."""
    w = c.world()
    stubs = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         '..', 'scripted', 'stubs')
    log = os.path.join(w.o.dir, 'stub.log')
    w.o.extra_env = {
        'OUTBOX_COMPANION_DIR': os.path.abspath(stubs), 'STUB_LOG': log,
        'STUB_EXIT': '77',
        'STUB_SAY': 'outbox: account default: the refresh token was '
                    'refused (invalid_grant); run outbox --authorize -a '
                    'default'}
    w.o.config(w.sink.port, queue='on-failure', accounts=[
        ('default', w.sink.port, 'alice@example.org',
         'auth xoauth2\nuser alice\noauth2_provider microsoft\n'
         'oauth2_client_id test-client\n'),
        ('plain', w.sink.port, 'bob@example.org', '')])
    r = w.o.run(['bob@example.net'], message('m1'))
    check(r.rc == 0, 'a dead refresh token with a queue: exit %s %r',
          r.rc, r.err)
    e = one_entry(w)
    check('outbox --authorize -a default' in e.env.get('held', ''),
          'the entry is not held for the dead token: %r', e.env_text)
    check(w.sink.connections() == 0, 'outbox connected without a token')
    r = w.o.run(['-bp'])
    check(r.rc == 0 and 'held: ' in r.out and
          'outbox --authorize -a default' in r.out,
          '-bp does not say why the message waits:\n%s', r.out)
    os.unlink(log)
    w.o.extra_env.pop('STUB_EXIT')
    r = w.o.run(['--queue-run'])
    check(r.rc == 0, '--queue-run: exit %s %r', r.rc, r.err)
    with open(log) as f:
        calls = f.read().splitlines()
    check(calls == ['keepalive  account=default'],
          'outbox-auth calls in a queue run: %r', calls)
    one_entry(w)


@case('max-age-expired-moves-to-failed')
def _(c):
    """queue_max_age 1s: an entry that still fails after that long moves to
    failed/ with its reason and a log line; the flush exits non-zero."""
    w = c.world()
    log = os.path.join(w.o.dir, 'outbox.log')
    w.o.config(w.port_for({'rcpt': '451 4.3.0 later'}), queue='on-failure',
               defaults='queue_max_age 1s\nqueue_retry 1s 1s\n'
               'logfile %s\n' % log)
    msg = message('m1')
    r = w.o.run(['bob@example.net'], msg)
    check(r.rc == 0, 'exit %s', r.rc)
    e = one_entry(w)
    time.sleep(1.6)
    r = w.o.run(['-q'])
    check(r.rc not in (0,), '-q moving an expired entry to failed/ exited 0')
    notice_only(w)
    f = one_entry(w, 'failed')
    check(f.id == e.id, 'failed/ holds %s, expected %s', f.id, e.id)
    check(f.env.get('failed'), 'no "failed REASON" line')
    check(f.msg == crlf(msg), 'failed/%s.msg is not the message', f.id)
    with open(log, errors='replace') as fh:
        text = fh.read()
    check(re.search(r'%s.*fail|fail.*%s' % (e.id, e.id), text),
          'no log line says %s failed:\n%s', e.id, text)


@case('max-age-default-5d-in-bp')
def _(c):
    """Without queue_max_age nothing expires within the test: a fresh entry
    is still queued after -q."""
    w = c.world()
    w.o.config(w.port_for({'rcpt': '451 4.3.0 later'}), queue='always')
    w.o.run(['bob@example.net'], message('m1'))
    r = w.o.run(['-q'])
    check(r.rc == 75, '-q: exit %s', r.rc)
    one_entry(w)
    check(not w.o.failed(), 'a fresh entry moved to failed/')


@case('bp-and-mailq-list-entries')
def _(c):
    """-bp and mailq: each entry's ID, size, sender, recipients with their
    state and last error; a line with the count (first or last); how many
    are in failed/."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    m1, m2 = message('m1'), message('m2', size=3000)
    check(w.o.run(['bob@example.net', 'dave@example.net'], m1).rc == 0,
          'enqueue m1')
    check(w.o.run(['carol@example.net'], m2).rc == 0, 'enqueue m2')
    es = w.o.entries()
    check(len(es) == 2, '%d entries', len(es))
    # Make one fail permanently: carol is refused.
    w.sink.set_rules({'rcpt_by': {'carol': '550 5.1.1 no carol'},
                      'rcpt': '451 4.3.0 later'})
    r = w.o.run(['-q'])
    check(r.rc not in (0, 75), '-q: exit %s', r.rc)
    live, failed = w.o.entries(), w.o.failed()
    # carol's message went to failed/, and its notice to the sender waits.
    notices = [e for e in live if e.env.get('from', '') == '']
    live = [e for e in live if e.env.get('from', '') != '']
    check(len(live) == 1 and len(failed) == 1 and len(notices) == 1,
          'live %r failed %r notices %r', live, failed, notices)
    for how in ('-bp', 'mailq'):
        r = w.o.run(['-bp']) if how == '-bp' else w.o.run_as('mailq', [])
        check(r.rc == 0, '%s: exit %s', how, r.rc)
        e = live[0]
        for text in (e.id, FROM, 'bob@example.net', 'dave@example.net',
                     'pending', '451'):
            check(text in r.out, '%s does not show %r:\n%s', how, text,
                  r.out)
        check(str(len(e.msg)) in r.out or '%.1f' % (len(e.msg) / 1024)
              in r.out or '%d' % ((len(e.msg) + 1023) // 1024) in r.out,
              '%s shows no size for %s (%d bytes):\n%s', how, e.id,
              len(e.msg), r.out)
        # The count: on a line of its own, first or last.
        lines = [ln for ln in r.out.splitlines() if ln.strip()]
        check(lines and any(re.search(r'\b2 (message|entr)', ln)
                            for ln in (lines[0], lines[-1])),
              '%s: no line counts 1 entry first or last:\n%s', how, r.out)
        check(re.search(r'(?i)1\b[^\n]*failed|failed[^\n]*\b1\b', r.out),
              '%s does not say 1 entry is in failed/:\n%s', how, r.out)
    w.o.run(['--queue-drop=' + live[0].id])
    r = w.o.run(['-bp'])
    check(r.rc == 0, '-bp on an empty queue: exit %s', r.rc)
    check(live[0].id not in r.out, 'dropped entry still listed')


@case('bp-empty-queue')
def _(c):
    """-bp on an empty queue exits 0 without connecting.  (The interface
    first asked for a count line even then; outbox prints nothing for an
    empty queue, which is accepted, or a count of 0 / "empty".)"""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    r = w.o.run(['-bp'])
    check(r.rc == 0, '-bp: exit %s', r.rc)
    check(not r.out.strip() or re.search(r'\b0\b|empty|no ', r.out, re.I),
          '-bp on an empty queue says neither 0 nor empty:\n%s', r.out)
    check(w.sink.connections() == 0, '-bp connected')


@case('queue-drop')
def _(c):
    """--queue-drop=ID deletes that entry only (and logs it); an unknown
    ID is an error."""
    w = c.world()
    log = os.path.join(w.o.dir, 'outbox.log')
    w.o.config(w.sink.port, queue='always', defaults='logfile %s\n' % log)
    for s in ('m1', 'm2'):
        check(w.o.run(['bob@example.net'], message(s)).rc == 0, 'enqueue')
    es = w.o.entries()
    check(len(es) == 2, '%d entries', len(es))
    r = w.o.run(['--queue-drop=' + es[0].id])
    check(r.rc == 0, '--queue-drop: exit %s', r.rc)
    left = w.o.entries()
    check([e.id for e in left] == [es[1].id], 'left %r', left)
    check(not os.path.exists(es[0].msg_path), '%s.msg left behind',
          es[0].id)
    with open(log, errors='replace') as fh:
        check(es[0].id in fh.read(), 'the drop is not logged')
    r = w.o.run(['--queue-drop=0123456789ABCDEF'])
    check(r.rc in (66, 67), '--queue-drop of an unknown ID: exit %s, '
          'expected 66 or 67', r.rc)
    check(r.err, 'no message for an unknown ID')
    check(len(w.o.entries()) == 1, 'an unknown ID dropped something')
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    got = [m['seq'] for m in w.sink.messages()]
    check(got == ['m2'], 'delivered %r, expected only m2', got)


@case('select-qI-qR-qS-send-now')
def _(c):
    """-qI<ID part>, -qR<recipient part>, -qS<sender part> send just the
    selected entries now, though none is due (queue_retry 1h)."""
    w = c.world()
    accounts = [('default', w.sink.port, FROM, ''),
                ('other', w.sink.port, 'zed@example.com', '')]
    w.o.config(0, queue='on-failure', accounts=accounts,
               defaults='queue_retry 1h 2h\n')
    w.sink.set_rules({'rcpt': '451 4.3.0 later'})
    check(w.o.run(['bob@example.net'], message('m1')).rc == 0, 'enqueue m1')
    check(w.o.run(['carol@example.net'], message('m2')).rc == 0,
          'enqueue m2')
    check(w.o.run(['-a', 'other', 'dave@example.net'],
                  message('m3', sender='zed@example.com')).rc == 0,
          'enqueue m3')
    es = {e.seq(): e for e in w.o.entries()}
    check(sorted(es) == ['m1', 'm2', 'm3'], 'entries %r', es)
    w.sink.set_rules({})
    r = w.o.run(['--queue-run'])
    check(r.rc == 0 and not w.sink.messages(),
          '--queue-run sent entries not due')
    r = w.o.run(['-qI' + es['m2'].id[3:11]])
    check(r.rc == 0, '-qI: exit %s', r.rc)
    check([m['seq'] for m in w.sink.messages()] == ['m2'], '-qI sent %r',
          [m['seq'] for m in w.sink.messages()])
    r = w.o.run(['-qRdave@'])
    check(r.rc == 0, '-qR: exit %s', r.rc)
    check([m['seq'] for m in w.sink.messages()] == ['m2', 'm3'],
          '-qR sent %r', [m['seq'] for m in w.sink.messages()])
    r = w.o.run(['-qSalice@'])
    check(r.rc == 0, '-qS: exit %s', r.rc)
    check(sorted(m['seq'] for m in w.sink.messages()) == ['m1', 'm2', 'm3'],
          '-qS sent %r', [m['seq'] for m in w.sink.messages()])
    no_entries(w)
    r = w.o.run(['-qINOSUCHID'])
    check(r.rc == 0, '-qI selecting nothing: exit %s', r.rc)


@case('q-interval-is-usage-error')
def _(c):
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    r = w.o.run(['-q30m'])
    check(r.rc == 64, '-q30m: exit %s, expected 64', r.rc)
    check(r.err.strip(), '-q30m: no message')


@case('q-nothing-queued-no-connection')
def _(c):
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q on an empty queue: exit %s', r.rc)
    check(w.sink.connections() == 0, '-q connected with nothing queued')


@case('q-mixed-exit-75-when-some-stay')
def _(c):
    """Two entries, one delivered and one refused with 450: the first is
    removed, the second stays with attempts 1; -q exits 75."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    w.o.run(['bob@example.net'], message('m1'))
    w.o.run(['carol@example.net'], message('m2'))
    w.sink.set_rules({'rcpt_by': {'carol': '450 4.2.1 busy'}})
    r = w.o.run(['-q'])
    check(r.rc == 75, '-q: exit %s, expected 75', r.rc)
    check([m['seq'] for m in w.sink.messages()] == ['m1'], 'delivered %r',
          [m['seq'] for m in w.sink.messages()])
    e = one_entry(w)
    check(e.seq() == 'm2' and e.env.get('attempts') == '1',
          'left %r', e)
    check(w.sink.connections() == 1, '%d connections, expected 1',
          w.sink.connections())


def clone_entries(qdir, template, seqs, start):
    """Entries made the way the queue writes them, from TEMPLATE (an
    Entry): one per seq in SEQS with IDs in that order after START (a
    microsecond count), mode 0600, the content's X-Seq and Message-ID
    set to the seq."""
    ids = []
    for i, seq in enumerate(seqs):
        ident = '%012X%04X' % ((start + i) & 0xFFFFFFFFFFFF, i & 0xFFFF)
        msg = re.sub(rb'(?im)^(X-Seq|Message-ID):.*$',
                     lambda m: m.group(1) + b': ' + (
                         seq.encode() if m.group(1).lower() == b'x-seq'
                         else b'<%s@queue.test>' % seq.encode()),
                     template.msg)
        env = []
        for line in template.env['_lines']:
            key = line.split(' ', 1)[0]
            if key == 'id':
                line = 'id ' + ident
            elif key == 'size':
                line = 'size %d' % len(msg)
            env.append(line)
        for ext, data in (('.msg', msg),
                          ('.env', ('\n'.join(env) + '\n').encode())):
            fd = os.open(os.path.join(qdir, ident + ext),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
        ids.append(ident)
    return ids


@case('q-more-than-one-batch-all-sent-oldest-first')
def _(c):
    """A queue of 1200 entries of two accounts (more than one batch of
    the run's listing, 64 entries, and more than one pass over the
    directory, 1024 names) is listed by -bp completely and in ID order,
    then flushed completely, each message once, oldest first per
    account, in more than one connection per account; nothing is
    left."""
    w = c.world()
    accounts = [('default', w.sink.port, FROM, ''),
                ('other', w.sink.port, 'zed@example.com', '')]
    w.o.config(0, queue='always', accounts=accounts)
    check(w.o.run(['bob@example.net'], message('t1')).rc == 0, 'enqueue t1')
    check(w.o.run(['-a', 'other', 'dave@example.net'],
                  message('t2', sender='zed@example.com')).rc == 0,
          'enqueue t2')
    tmpl = {e.seq(): e for e in w.o.entries()}
    check(sorted(tmpl) == ['t1', 't2'], 'templates %r', tmpl)
    for e in tmpl.values():
        os.unlink(e.env_path)
        os.unlink(e.msg_path)
    total = 1200
    seqs = {'default': [], 'other': []}
    start = int(time.time() * 1e6) - 10 * total
    for i in range(total):
        acc = 'other' if i % 3 == 0 else 'default'
        seq = 'b%05d' % i
        seqs[acc].append(seq)
        clone_entries(w.o.qdir, tmpl['t2' if acc == 'other' else 't1'],
                      [seq], start + i)
    ids = [e.id for e in w.o.entries()]
    check(len(ids) == total, '%d entries written', len(ids))
    # -bp lists them in the same batches: every one, oldest first.
    r = w.o.run(['-bp'])
    check(r.rc == 0 and '%d messages queued' % total in r.out,
          '-bp: exit %s: %r', r.rc, r.out[:200])
    listed = re.findall(r'(?m)^([0-9A-F]{16})  \d+ bytes', r.out)
    check(listed == ids, '-bp listed %d entries (%r...), expected %d',
          len(listed), listed[:3], total)
    r = w.o.run(['-q'], timeout=120)
    check(r.rc == 0, '-q: exit %s: %s', r.rc, r.err)
    got = w.sink.messages()
    check(len(got) == total, '%d messages delivered, expected %d',
          len(got), total)
    check(len({m['seq'] for m in got}) == total, 'a message went twice')
    for acc, sender in (('default', FROM), ('other', 'zed@example.com')):
        order = [m['seq'] for m in got if m['sender'] == sender]
        check(order == seqs[acc], '%s: sent in the order %r, expected %r',
              acc, order[:20], seqs[acc][:20])
    check(w.sink.connections() > 2,
          '%d connections: all went in one batch',
          w.sink.connections())
    no_entries(w)
    check(('%d sent' % total) in r.out, '-q says %r', r.out)


@case('queue-dir-created-0700')
def _(c):
    """A missing queue_dir (and its parents) is created mode 0700."""
    w = c.world()
    qdir = os.path.join(w.o.dir, 'deep', 'er', 'queue')
    w.o.config(w.sink.port, queue='always', qdir=qdir)
    r = w.o.run(['bob@example.net'], message('m1'))
    check(r.rc == 0, 'exit %s', r.rc)
    mode = os.stat(qdir).st_mode & 0o777
    check(mode == 0o700, 'queue_dir mode %o, expected 700', mode)
    check(len(w.o.entries(qdir=qdir)) == 1, 'no entry in %s', qdir)


@case('queue-dir-default')
def _(c):
    """Without queue_dir the queue is $XDG_STATE_HOME/outbox/queue, or for
    root /var/spool/outbox; -bp lists it.  As root the run happens in a
    private mount namespace with a tmpfs over /var/spool, so the machine's
    own spool is never touched."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    text = w.o.conf_text.replace('queue_dir %s\n' % w.o.qdir, '')
    with open(w.o.conf, 'w') as f:
        f.write(text)
    w.o.conf_text = text
    msgfile = os.path.join(w.o.dir, 'm1.eml')
    with open(msgfile, 'wb') as f:
        f.write(message('m1'))
    xdg = os.path.join(w.o.state, 'outbox', 'queue')
    script = ('"$0" -C "$1" bob@example.net < "$2"; echo "RC=$?"; '
              '"$0" -C "$1" -bp; echo "BP=$?"; '
              'ls /var/spool/outbox 2>/dev/null | sed "s/^/SPOOL /"; '
              'ls "$3" 2>/dev/null | sed "s/^/XDG /"')
    argv = ['sh', '-c', script, w.o.outbox, w.o.conf, msgfile, xdg]
    if os.geteuid() == 0:
        argv = ['unshare', '-m', '--propagation', 'private', '--', 'sh',
                '-c', 'mount -t tmpfs -o size=4m tmpfs /var/spool && '
                'exec "$@"', 'sh'] + argv
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=w.o.env(), timeout=30)
    out = p.stdout.decode('utf-8', 'replace')
    check('RC=0' in out, 'queueing failed:\n%s%s', out,
          p.stderr.decode('utf-8', 'replace'))
    spool = re.findall(r'^SPOOL ([0-9A-F]{16})\.env$', out, re.M)
    home = re.findall(r'^XDG ([0-9A-F]{16})\.env$', out, re.M)
    check(len(spool) + len(home) == 1, 'expected the entry in %s%s:\n%s',
          xdg, ' or /var/spool/outbox' if os.geteuid() == 0 else '', out)
    ident = (spool + home)[0]
    check('BP=0' in out and ident in out.split('RC=0')[1],
          '-bp does not list %s:\n%s', ident, out)
    c.notes.append('default queue directory: %s'
                   % ('/var/spool/outbox' if spool else xdg))


@case('unwritable-queue-dir-is-an-error')
def _(c):
    """queue_dir below a regular file cannot be created: queue always and
    on-failure (after a refused connection) both exit non-zero with a
    message, never 0."""
    w = c.world()
    blocker = os.path.join(w.o.dir, 'afile')
    with open(blocker, 'w') as f:
        f.write('not a directory\n')
    qdir = os.path.join(blocker, 'queue')
    w.o.config(w.sink.port, queue='always', qdir=qdir)
    r = w.o.run(['bob@example.net'], message('m1'))
    check(r.rc != 0, 'queue always into an impossible queue_dir exited 0')
    check(r.err.strip(), 'no error message')
    w.o.config(free_port(), queue='on-failure', qdir=qdir)
    r = w.o.run(['bob@example.net'], message('m2'))
    check(r.rc != 0, 'on-failure could not store, yet exited 0')
    check(r.err.strip(), 'no error message')


@case('stored-message-crlf-not-stuffed-bcc-removed')
def _(c):
    """-t with queue always: the stored .msg has CRLF line ends, header
    edits done (Bcc removed), dots not stuffed; the envelope keeps the Bcc
    recipient; the delivered bytes equal the stored ones."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    msg = (b'From: Alice <alice@example.org>\n'
           b'To: bob@example.net\n'
           b'Bcc: hidden@example.net\n'
           b'Subject: dots\n'
           b'Message-ID: <m1@queue.test>\n'
           b'Date: Sun, 22 Nov 2026 12:00:00 +0000\n'
           b'X-Seq: m1\n'
           b'\n'
           b'.leading dot\n'
           b'..two dots\n'
           b'.\n'
           b'end\n')
    r = w.o.run(['-t'], msg)
    check(r.rc == 0, 'exit %s', r.rc)
    e = one_entry(w)
    want = crlf(msg.replace(b'Bcc: hidden@example.net\n', b''))
    check(e.msg == want, 'stored:\n%r\nexpected\n%r', e.msg, want)
    check(sorted(e.rcpts('pending')) == ['bob@example.net',
                                         'hidden@example.net'],
          'recipients %r', e.env['rcpt'])
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    m = w.sink.wait_messages(1)[0]
    check(m['bytes'] == want, 'delivered:\n%r\nexpected\n%r', m['bytes'],
          want)


@case('eightbit-large-message-flushed-intact')
def _(c):
    """A 5 MB message with 8-bit text, queued and flushed: MAIL says
    BODY=8BITMIME as a direct send would, and the bytes arrive intact."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    msg = message('m1', body='caf\u00e9 \u00fcber\n'.encode(), size=5000000)
    check(w.o.run(['bob@example.net'], msg).rc == 0, 'enqueue')
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    m = expect_delivered(w, msg, 'm1')
    check('BODY=8BITMIME' in (m['mail'] or '').upper(),
          'MAIL line %r lacks BODY=8BITMIME', m['mail'])


@case('nul-byte-refused-not-queued')
def _(c):
    """A message with a NUL byte is refused (65) with queue always as
    without the queue, and nothing is stored."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    r = w.o.run(['bob@example.net'], message('m1', body=b'a\0b\n'))
    check(r.rc == 65, 'exit %s, expected 65', r.rc)
    no_entries(w)
    check(not w.o.failed(), 'stored in failed/')


@case('config-file-gone-entry-kept')
def _(c):
    """The configuration file an entry came from (and the flush would
    read) is gone at the flush: outbox says so, exits non-zero, and the
    entry stays intact.  A flush with another configuration sends it with
    that one: an entry is data, the configuration is the flusher's."""
    w = c.world()
    conf2 = os.path.join(w.o.dir, 'other-rc')
    w.o.config(w.sink.port, queue='always', path=conf2)
    w.o.config(w.sink.port, queue='always')
    msg = message('m1')
    check(w.o.run(['bob@example.net'], msg).rc == 0, 'enqueue')
    os.unlink(w.o.conf)
    r = w.o.run(['-q'])
    check(r.rc not in (0,), '-q with the entry\'s configuration gone '
          'exited 0')
    check(r.err.strip(), 'no message')
    e = one_entry(w)
    check(e.msg == crlf(msg), 'the entry was damaged')
    check(not w.sink.messages(), 'delivered without its configuration')
    w.o.conf = conf2
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q -C other-rc: exit %s: %s', r.rc, r.err)
    got = w.sink.messages()
    check(len(got) == 1 and got[0]['bytes'] == crlf(msg),
          'the flusher\'s configuration did not send it: %r', got)


@case('logfile-says-queued-with-id')
def _(c):
    w = c.world()
    log = os.path.join(w.o.dir, 'outbox.log')
    w.o.config(free_port(), queue='on-failure',
               defaults='logfile %s\n' % log)
    r = w.o.run(['bob@example.net'], message('m1'))
    check(r.rc == 0, 'exit %s', r.rc)
    e = one_entry(w)
    with open(log, errors='replace') as fh:
        text = fh.read()
    check(e.id in text and re.search(r'(?i)queued', text),
          'the log does not say queued with the ID %s:\n%s', e.id, text)


@case('note-on-terminal-only')
def _(c):
    """On a terminal, a queued message gives one note line on stderr."""
    w = c.world()
    w.o.config(free_port(), queue='on-failure')
    r = w.o.run(['bob@example.net'], message('m1'), stderr_tty=True)
    check(r.rc == 0, 'exit %s', r.rc)
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    check(len(lines) == 1, 'expected one note line on the terminal, got %r',
          lines)


def strace_durability(w, args, stdin):
    """Run outbox under strace and check, for every rename into the queue
    directory (or failed/), that the file renamed was fsync'd first, and
    that the queue directory itself was fsync'd after the last such rename,
    before outbox exited.  Returns (exit code, renames seen)."""
    trace = os.path.join(w.o.dir, 'strace.out')
    # -y: each descriptor with its path, so that calls relative to a
    # directory descriptor (openat, renameat) name their files.
    r = w.o.run(args, stdin, wrap=['strace', '-f', '-qq', '-y', '-o', trace,
                                   '-e',
                                   'trace=open,openat,close,fsync,fdatasync,'
                                   'rename,renameat,renameat2,exit_group'])
    synced = set()      # paths fsync'd since they were opened
    renames = []
    problems = []
    qdir = os.path.realpath(w.o.qdir)
    dir_synced_after = True
    arg_re = re.compile(r'(AT_FDCWD|\d+<((?:[^>\\]|\\.)*)>)?\s*,?\s*'
                        r'"((?:[^"\\]|\\.)*)"')

    def at_paths(argstr):
        """The paths named by (dirfd, "name") pairs, made absolute."""
        out = []
        for m in arg_re.finditer(argstr):
            base = m.group(2) if m.group(2) is not None else w.o.dir
            out.append(os.path.realpath(os.path.join(base, m.group(3))))
        return out

    with open(trace, errors='replace') as f:
        for line in f:
            m = re.match(r'(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)', line)
            if not m:
                continue
            pid, call, argstr, ret = m.group(1), m.group(2), m.group(3), \
                int(m.group(4))
            paths = at_paths(argstr)
            if call in ('open', 'openat') and ret >= 0 and paths:
                synced.discard(paths[0])
            elif call in ('fsync', 'fdatasync') and ret == 0:
                fm = re.match(r'\d+<((?:[^>\\]|\\.)*)>', argstr)
                path = os.path.realpath(fm.group(1)) if fm else None
                if path:
                    synced.add(path)
                    if path == qdir:
                        dir_synced_after = True
            elif call.startswith('rename') and ret == 0 and len(paths) == 2:
                src, dst = paths
                if os.path.dirname(dst) in (qdir, os.path.join(qdir,
                                                               'failed')):
                    renames.append((src, dst))
                    if src not in synced:
                        problems.append('%s renamed to %s without an fsync '
                                        'first' % (src, dst))
                    if os.path.dirname(dst) == qdir:
                        dir_synced_after = False
    check(not problems, '%s', '; '.join(problems))
    check(renames, 'no rename into the queue directory seen')
    check(dir_synced_after, 'the queue directory was not fsync\'d after '
          'the last rename into it')
    return r.rc, renames


@case('enqueue-durable-fsync-rename-dirsync')
def _(c):
    """queue always, and on-failure after a 451 (ID.env rewritten): every
    file is fsync'd before its rename into the queue, and the directory is
    fsync'd after, before outbox says it is done (strace)."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    rc, renames = strace_durability(w, ['bob@example.net'], message('m1'))
    check(rc == 0, 'queue always: exit %s', rc)
    check(any(d.endswith('.env') for _, d in renames) and
          any(d.endswith('.msg') for _, d in renames),
          'renames %r: expected ID.msg and ID.env', renames)
    w.sink.set_rules({'rcpt': '451 4.3.0 later'})
    rc, renames = strace_durability(w, ['-q'], b'')
    check(rc == 75, '-q: exit %s', rc)
    check(any(d.endswith('.env') for _, d in renames),
          'the rescheduled ID.env was not renamed into place: %r', renames)


# --- recipients, accounts, connections ---------------------------------------

@case('lmtp-accepted-recipient-never-sent-again')
def _(c):
    """LMTP: bob gets 250 after the content, carol 450.  The entry keeps
    bob as sent and carol pending; the retry goes to carol alone."""
    w = c.world()
    w.o.config(w.port_for({'lmtp': True,
                           'dot_by': {'carol': '450 4.2.0 carol later'}}),
               queue='on-failure', extra='protocol lmtp\n')
    msg = message('m1')
    r = w.o.run(['bob@example.net', 'carol@example.net'], msg)
    check(r.rc == 0, 'exit %s, expected 0 (carol queued)', r.rc)
    got = w.sink.messages()
    check(len(got) == 1 and got[0]['rcpt'] == ['bob@example.net'],
          'first delivery %r', [(m['seq'], m['rcpt']) for m in got])
    e = one_entry(w)
    check(e.rcpts('sent') == ['bob@example.net'] and
          e.rcpts('pending') == ['carol@example.net'],
          'recipient states %r', e.env['rcpt'])
    w.sink.set_rules({'lmtp': True})
    r = w.o.run(['-qI' + e.id])
    check(r.rc == 0, '-qI exit %s', r.rc)
    got = w.sink.messages()
    check(len(got) == 2 and got[1]['rcpt'] == ['carol@example.net'],
          'retry delivered to %r, expected carol alone',
          [m['rcpt'] for m in got])
    check(got[1]['bytes'] == crlf(msg), 'retry bytes differ')
    no_entries(w)


@case('lmtp-one-permanent-one-delivered')
def _(c):
    """LMTP: bob 250, carol 550 after the content: bob delivered once,
    the entry goes to failed/ with carol failed; exit non-zero."""
    w = c.world()
    w.o.config(w.port_for({'lmtp': True,
                           'dot_by': {'carol': '550 5.1.1 no carol'}}),
               queue='on-failure', extra='protocol lmtp\n')
    r = w.o.run(['bob@example.net', 'carol@example.net'], message('m1'))
    check(r.rc not in (0, 75), 'exit %s', r.rc)
    no_entries(w)
    f = one_entry(w, 'failed')
    check(f.rcpts('failed') == ['carol@example.net'], 'states %r',
          f.env['rcpt'])
    check(f.rcpts('sent') == ['bob@example.net'], 'states %r', f.env['rcpt'])


@case('smtp-one-rcpt-450-whole-message-retried')
def _(c):
    """SMTP: carol 450 at RCPT, bob 250: nothing is delivered (outbox sends
    to all or none), both stay pending, and the retry delivers to both."""
    w = c.world()
    w.o.config(w.port_for({'rcpt_by': {'carol': '450 4.2.1 busy'}}),
               queue='on-failure')
    msg = message('m1')
    r = w.o.run(['bob@example.net', 'carol@example.net'], msg)
    check(r.rc == 0, 'exit %s', r.rc)
    check(not w.sink.messages(), 'something was delivered')
    e = one_entry(w)
    check_stored(w, e, msg, rcpts=('bob@example.net', 'carol@example.net'),
                 attempts=1, error='450')
    w.sink.set_rules({})
    check(w.o.run(['-qI' + e.id]).rc == 0, '-qI')
    expect_delivered(w, msg, 'm1', rcpts=('bob@example.net',
                                          'carol@example.net'))


@case('flush-one-connection-per-account')
def _(c):
    """Three entries of account "a" and two of "b" (same server): -q opens
    exactly two connections, one per account, each carrying its own."""
    w = c.world()
    accounts = [('a', w.sink.port, FROM, ''),
                ('b', w.sink.port, 'zed@example.com', '')]
    w.o.config(0, queue='always', accounts=accounts)
    for i in range(3):
        check(w.o.run(['-a', 'a', 'bob@example.net'],
                      message('a%d' % i)).rc == 0, 'enqueue')
    for i in range(2):
        check(w.o.run(['-a', 'b', 'bob@example.net'],
                      message('b%d' % i, sender='zed@example.com')).rc == 0,
              'enqueue')
    accts = sorted(e.env.get('account') for e in w.o.entries())
    check(accts == ['a', 'a', 'a', 'b', 'b'], 'accounts %r', accts)
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    check(w.sink.connections() == 2, '%d connections, expected 2',
          w.sink.connections())
    by_conn = {}
    for m in w.sink.messages():
        by_conn.setdefault(m['conn'], []).append(m)
    groups = sorted(sorted(m['seq'] for m in ms) for ms in by_conn.values())
    check(groups == [['a0', 'a1', 'a2'], ['b0', 'b1']],
          'messages per connection %r', groups)
    for ms in by_conn.values():
        check(len({m['sender'] for m in ms}) == 1, 'one connection mixes '
              'senders')
    no_entries(w)


@case('second-flush-skips-locked-entry')
def _(c):
    """While one flush holds an entry (the server takes 3 s to answer its
    dot), a second -q and a -qI of that entry do not send it, and
    --queue-drop refuses to delete it (75): it arrives exactly once."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    msg = message('m1')
    check(w.o.run(['bob@example.net'], msg).rc == 0, 'enqueue')
    e = one_entry(w)
    w.sink.set_rules({'dot_delay': 3})
    first = subprocess.Popen([w.o.outbox, '-C', w.o.conf, '-q'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=w.o.env())
    c.cleanups.append(lambda: first.poll() is None and first.kill())
    deadline = time.monotonic() + 5
    while not [x for x in w.sink.events('connect')]:
        check(time.monotonic() < deadline, 'the first flush never came')
        time.sleep(0.02)
    time.sleep(0.5)
    w.sink.set_rules({})
    r2 = w.o.run(['-q'])
    r3 = w.o.run(['-qI' + e.id])
    r4 = w.o.run(['--queue-drop=' + e.id])
    check(first.poll() is None, 'the first flush ended too soon for the '
          'test: it no longer held the entry')
    check(r4.rc == 75, '--queue-drop of an entry being sent: exit %s, '
          'expected 75', r4.rc)
    rc1 = first.wait(15)
    time.sleep(0.2)
    got = [m['seq'] for m in w.sink.messages()]
    check(got == ['m1'], 'delivered %r, expected m1 once (exits: first %s, '
          'second -q %s, -qI %s)', got, rc1, r2.rc, r3.rc)
    check(rc1 == 0, 'the first flush exited %s', rc1)
    check(r2.rc == 0, 'a -q that found the entry locked exited %s', r2.rc)
    no_entries(w)


@case('killed-flusher-lock-released')
def _(c):
    """A flush killed with SIGKILL while it holds an entry (waiting for the
    reply to the dot, which never comes): its lock goes with it, and the
    next -qI sends the entry."""
    w = c.world()
    w.o.config(w.sink.port, queue='always')
    msg = message('m1')
    check(w.o.run(['bob@example.net'], msg).rc == 0, 'enqueue')
    e = one_entry(w)
    w.sink.set_rules({'dot': 'sleep 20'})
    first = subprocess.Popen([w.o.outbox, '-C', w.o.conf, '-q'],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=w.o.env())
    deadline = time.monotonic() + 5
    while not w.sink.events('refused'):
        check(time.monotonic() < deadline, 'the flush never sent the dot')
        time.sleep(0.02)
    first.kill()
    first.wait()
    w.sink.set_rules({})
    r = w.o.run(['-qI' + e.id])
    check(r.rc == 0, '-qI after the kill: exit %s', r.rc)
    expect_delivered(w, msg, 'm1')
    no_entries(w)


@case('q-covers-every-account-queue-dir')
def _(c):
    """Two accounts with their own queue_dir: one -q (and -bp) covers both
    directories."""
    w = c.world()
    q1 = os.path.join(w.o.dir, 'qa')
    q2 = os.path.join(w.o.dir, 'qb')
    accounts = [('a', w.sink.port, FROM, 'queue_dir %s\n' % q1),
                ('b', w.sink.port, FROM, 'queue_dir %s\n' % q2)]
    w.o.config(0, queue='always', accounts=accounts)
    check(w.o.run(['-a', 'a', 'bob@example.net'], message('m1')).rc == 0,
          'enqueue a')
    check(w.o.run(['-a', 'b', 'bob@example.net'], message('m2')).rc == 0,
          'enqueue b')
    e1, e2 = w.o.entries(qdir=q1), w.o.entries(qdir=q2)
    check(len(e1) == 1 and len(e2) == 1, 'entries %r %r', e1, e2)
    r = w.o.run(['-bp'])
    check(e1[0].id in r.out and e2[0].id in r.out, '-bp lists %r',
          r.out)
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    check(sorted(m['seq'] for m in w.sink.messages()) == ['m1', 'm2'],
          'delivered %r', [m['seq'] for m in w.sink.messages()])
    check(not w.o.entries(qdir=q1) and not w.o.entries(qdir=q2),
          'entries left')


flights.register(case)


@case('background-flush-after-always')
def _(c):
    """queue always with queue_background on: outbox exits 0 at once and a
    detached child delivers the message without -q."""
    w = c.world()
    w.o.config(w.sink.port, queue='always', background=True)
    msg = message('m1')
    r = w.o.run(['bob@example.net'], msg, timeout=10)
    check(r.rc == 0, 'exit %s', r.rc)
    expect_delivered(w, msg, 'm1')
    deadline = time.monotonic() + 10
    while w.o.entries() and time.monotonic() < deadline:
        time.sleep(0.05)
    no_entries(w)


@case('background-flush-after-direct-send')
def _(c):
    """A due entry left from earlier goes out with the next successful
    direct send (background flush after it), without -q."""
    w = c.world()
    dead = free_port()
    w.o.config(dead, queue='on-failure', defaults='queue_retry 1s 1s\n')
    m1 = message('m1')
    check(w.o.run(['bob@example.net'], m1).rc == 0, 'enqueue m1')
    time.sleep(1.2)
    w.o.config(w.sink.port, queue='on-failure',
               defaults='queue_retry 1s 1s\n', background=True)
    m2 = message('m2')
    r = w.o.run(['carol@example.net'], m2)
    check(r.rc == 0, 'direct send exit %s', r.rc)
    got = w.sink.wait_messages(2)
    check(sorted(m['seq'] for m in got) == ['m1', 'm2'],
          'delivered %r', [m['seq'] for m in got])
    deadline = time.monotonic() + 10
    while w.o.entries() and time.monotonic() < deadline:
        time.sleep(0.05)
    no_entries(w)


# --- integration: Postfix behind the delay proxy ------------------------------

def itest_setup(c):
    sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
    import itest
    ports = itest.read_ports(c.itest_dir)
    w = c.world(sink=False)
    w.proxy = DelayProxy(w.o.dir, int(ports['SUBMISSION_PORT']), down=True)
    c.cleanups.append(w.proxy.stop)
    token = '%d%04d' % (os.getpid(), int(time.time() * 1000) % 10000)
    extra = ('tls on\ntls_starttls on\ntls_trust_file %s\nauth plain\n'
             'user %s\npassword %s\ndomain outbox-client.example\n'
             % (ports['CA_FILE'], ports['SASL_USER'], ports['SASL_PASSWORD']))
    return w, itest, ports, token, extra


def postfix_delivered(itest, ports, rcpt, n=1, wait=20):
    d = os.path.join(ports['MAIL_DIR'], rcpt)
    deadline = time.monotonic() + wait
    while True:
        files = sorted(os.path.join(d, f) for f in os.listdir(d)
                       if f.endswith('.msg')) if os.path.isdir(d) else []
        if len(files) >= n or time.monotonic() > deadline:
            time.sleep(0.3)
            return sorted(os.path.join(d, f) for f in os.listdir(d)
                          if f.endswith('.msg')) if os.path.isdir(d) else []
        time.sleep(0.1)


def postfix_body(path):
    with open(path, 'rb') as f:
        got = f.read()
    m = re.match(rb'Received: [^\n]*\n(?:[ \t][^\n]*\n)*', got)
    check(m, 'no Received: header first')
    return got[m.end():]


@case('postfix-on-failure-down-then-up', integration=True)
def _(c):
    """The proxy in front of Postfix is down: queue on-failure stores the
    message (exit 0).  Once it is up, -q delivers through Postfix, and the
    delivered bytes are those sent."""
    w, itest, ports, token, extra = itest_setup(c)
    rcpt = 'qtest-down-%s@%s' % (token, ports['DOMAIN'])
    c.cleanups.append(lambda: __import__('shutil').rmtree(
        os.path.join(ports['MAIL_DIR'], rcpt), ignore_errors=True))
    w.o.config(w.proxy.port, queue='on-failure', extra=extra,
               defaults='queue_retry 1s 2s\n')
    msg = message('p1', rcpt=rcpt, size=20000,
                  extra=b'X-Dots: yes\n') + b'.dot line\n'
    r = w.o.run([rcpt], msg)
    check(r.rc == 0, 'exit %s with the server away', r.rc)
    e = one_entry(w)
    check(e.msg == crlf(msg), 'stored bytes differ')
    w.proxy.up()
    time.sleep(1.1)
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    files = postfix_delivered(itest, ports, rcpt)
    check(len(files) == 1, '%d messages at Postfix for %s', len(files), rcpt)
    body = postfix_body(files[0])
    check(body == itest.normalise(msg), 'delivered differs: %s',
          itest.describe_difference(itest.normalise(msg), body))
    no_entries(w)


@case('postfix-always-five-one-connection', integration=True)
def _(c):
    """Five messages queued with queue always; one -q sends them all
    through Postfix over one connection (the proxy counts them)."""
    w, itest, ports, token, extra = itest_setup(c)
    w.proxy.up()
    rcpts = ['qtest-five%d-%s@%s' % (i, token, ports['DOMAIN'])
             for i in range(5)]
    for r_ in rcpts:
        c.cleanups.append(lambda r_=r_: __import__('shutil').rmtree(
            os.path.join(ports['MAIL_DIR'], r_), ignore_errors=True))
    w.o.config(w.proxy.port, queue='always', extra=extra)
    msgs = {}
    for i, rc_ in enumerate(rcpts):
        msgs[rc_] = message('f%d' % i, rcpt=rc_)
        check(w.o.run([rc_], msgs[rc_]).rc == 0, 'enqueue')
    check(w.proxy.connections() == 0, 'queue always connected')
    r = w.o.run(['-q'])
    check(r.rc == 0, '-q exit %s', r.rc)
    check(w.proxy.connections() == 1, '%d connections, expected 1',
          w.proxy.connections())
    for rc_ in rcpts:
        files = postfix_delivered(itest, ports, rc_)
        check(len(files) == 1, '%d messages for %s', len(files), rc_)
        body = postfix_body(files[0])
        check(body == itest.normalise(msgs[rc_]), 'delivered differs')
    no_entries(w)


@case('postfix-queued-then-550-to-failed', integration=True)
def _(c):
    """Queued while the server is away; at the flush Postfix refuses the
    recipient (550): the entry moves to failed/, -q exits non-zero."""
    w, itest, ports, token, extra = itest_setup(c)
    rcpt = 'unknown-qtest-%s@%s' % (token, ports['DOMAIN'])
    w.o.config(w.proxy.port, queue='on-failure', extra=extra)
    check(w.o.run([rcpt], message('u1', rcpt=rcpt)).rc == 0, 'enqueue')
    e = one_entry(w)
    w.proxy.up()
    r = w.o.run(['-qI' + e.id])
    check(r.rc not in (0, 75), '-q exit %s', r.rc)
    notice_only(w)
    f = one_entry(w, 'failed')
    check('550' in f.env_text, 'failed/ reason does not quote 550: %r', f)


@case('postfix-proxy-drops-mid-session-then-delivers', integration=True)
def _(c):
    """The proxy adds 400 ms of round trip and is taken down (connections
    reset) one second into the session, during STARTTLS: outbox
    (on-failure) queues the message; after the proxy is back, -qI delivers
    it, once."""
    w, itest, ports, token, extra = itest_setup(c)
    w.proxy.stop()
    w.proxy = DelayProxy(w.o.dir, int(ports['SUBMISSION_PORT']),
                         rtt_ms=400, name='slowproxy')
    c.cleanups.append(w.proxy.stop)
    rcpt = 'qtest-drop-%s@%s' % (token, ports['DOMAIN'])
    c.cleanups.append(lambda: __import__('shutil').rmtree(
        os.path.join(ports['MAIL_DIR'], rcpt), ignore_errors=True))
    w.o.config(w.proxy.port, queue='on-failure', extra=extra)
    msg = message('d1', rcpt=rcpt)
    p = subprocess.Popen([w.o.outbox, '-C', w.o.conf, rcpt],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=w.o.env())
    p.stdin.write(msg)
    p.stdin.close()
    time.sleep(1.0)         # greeting, EHLO, STARTTLS under way
    w.proxy.down()
    rc = p.wait(30)
    err = p.stderr.read().decode('utf-8', 'replace')
    check(rc == 0, 'exit %s after the connection was cut: %s', rc, err)
    e = one_entry(w)
    w.proxy.up()
    r = w.o.run(['-qI' + e.id])
    check(r.rc == 0, '-qI exit %s', r.rc)
    files = postfix_delivered(itest, ports, rcpt)
    check(len(files) == 1, '%d messages for %s', len(files), rcpt)
    check(postfix_body(files[0]) == itest.normalise(msg), 'delivered differs')


# --- runner ---------------------------------------------------------------

class Context:
    def __init__(self, name, outbox, itest_dir):
        self.name = name
        self.outbox = outbox
        self.itest_dir = itest_dir
        self.worlds = []
        self.cleanups = []
        self.notes = []

    def world(self, rules=None, sink=True):
        w = World(self.outbox, rules, sink)
        self.worlds.append(w)
        return w

    def finish(self, ok):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        for w in self.worlds:
            w.stop()
            if ok:
                w.o.cleanup()


def run_case(name, args):
    fn, props = CASES.fn(name), CASES.props(name)
    if args.keep:
        os.environ['QTEST_KEEP'] = '1'
    if props.get('fault'):
        return fn.run(registry.defaults(fn.options, outbox=args.outbox,
                                        keep=args.keep)) == 0
    if props['integration'] and not args.itest:
        print('FAIL %s: needs --itest DIR (the integration servers)' % name)
        return False
    c = Context(name, args.outbox, args.itest)
    ok = False
    try:
        fn(c)
        ok = True
        print('PASS %s%s' % (name, ''.join('\n  ' + n for n in c.notes)))
    except Failure as e:
        print('FAIL %s: %s' % (name, e))
        for w in c.worlds:
            print(w.report())
    finally:
        c.finish(ok)
    return ok


# The fault injections: each prints its counts and fails on any message
# lost (and on duplicates where none may be).
for _m in (fault_kill, fault_concurrent, fault_disk):
    CASES.add(_m.NAME, _m, fault=True)


if __name__ == '__main__':
    sys.exit(registry.main(CASES, run_case, __doc__))
