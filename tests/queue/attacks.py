#!/usr/bin/python3
"""Attacks on the queue by another local user, one case each.

usage: attacks.py --list | attacks.py --outbox PATH [--keep] CASE... | all

Two local users by number (setpriv --reuid; no account needed): the
victim, who runs outbox, and mallory, who plants files where the victim's
queue lets her.  Each case checks that the attack fails: outbox refuses
(exit 78 and the path named) or skips what it cannot trust, the victim's
files are untouched, no command of mallory's runs as the victim, and the
recording sink (qsink.py) receives nothing it should not.

Needs root (to switch users), as in CI; exit 77 otherwise.
Standard library only.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import (Failure, SinkProcess, check, crlf, free_port,  # noqa
                  message, entries)
from outboxtest import cases  # noqa: E402

VICTIM = 61001
MALLORY = 61002
FROM = 'victim@example.org'
CASES = cases.Registry()
case = CASES.case


class World:
    """A directory both users can reach, a home for each, the victim's
    configuration and outbox runs as the victim."""

    def __init__(self, outbox):
        self.dir = tempfile.mkdtemp(prefix='outbox-attack.')
        os.chmod(self.dir, 0o755)
        # A copy of outbox any user can run, wherever the build tree is.
        self.outbox = os.path.join(self.dir, 'outbox')
        shutil.copy(outbox, self.outbox)
        os.chmod(self.outbox, 0o755)
        self.vhome = self.mkdir('victim', VICTIM, 0o700)
        self.mhome = self.mkdir('mallory', MALLORY, 0o700)
        self.state = os.path.join(self.vhome, 'state')
        self.private = os.path.join(self.vhome, 'private.txt')
        self.secret_text = b'the victim\'s private file: do not mail\n'
        self.write_as(VICTIM, self.private, self.secret_text, 0o600)
        self.pwned = os.path.join(self.vhome, 'PWNED')
        self.sink = SinkProcess(self.dir)
        self.conf = os.path.join(self.vhome, 'outboxrc')
        self.runs = []

    def mkdir(self, name, uid, mode, parent=None):
        p = os.path.join(parent or self.dir, name)
        os.mkdir(p)
        os.chown(p, uid, uid)
        os.chmod(p, mode)
        return p

    def write_as(self, uid, path, data, mode=0o600):
        with open(path, 'wb') as f:
            f.write(data)
        os.chown(path, uid, uid)
        os.chmod(path, mode)

    def config(self, qdir, queue='on-failure', port=None, extra='',
               path=None):
        text = ('defaults\ntls off\ntimeout 5\nqueue %s\nqueue_dir %s\n'
                'queue_background off\nqueue_retry 1s 1s\n\n'
                'account default\nhost 127.0.0.1\nport %d\nfrom %s\n%s'
                % (queue, qdir, port or self.sink.port, FROM, extra))
        self.write_as(VICTIM, path or self.conf, text.encode(), 0o600)

    def env(self, uid=VICTIM):
        home = self.vhome if uid == VICTIM else self.mhome
        return {'PATH': '/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': home,
                'LC_ALL': 'C', 'TZ': 'UTC',
                'XDG_STATE_HOME': os.path.join(home, 'state')}

    def argv(self, args, uid=VICTIM, conf=None):
        """outbox ARGS as UID (the victim's configuration)."""
        return ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid,
                '--clear-groups', '--', self.outbox, '-C',
                conf or self.conf] + args

    def argv_plain(self, cmd, uid=VICTIM):
        return ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid,
                '--clear-groups', '--'] + cmd

    def run(self, args, stdin=b'', uid=VICTIM, wrap=()):
        home = self.vhome if uid == VICTIM else self.mhome
        argv = list(wrap) + self.argv(args, uid)
        p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=self.env(uid),
                           cwd=home, timeout=60)
        r = (p.returncode, p.stdout.decode('utf-8', 'replace'),
             p.stderr.decode('utf-8', 'replace'))
        self.runs.append((args, r))
        return r

    def untouched(self):
        """The victim's files as they were, and no command of mallory's
        ran as the victim."""
        with open(self.private, 'rb') as f:
            check(f.read() == self.secret_text,
                  'the victim\'s private file was changed')
        st = os.stat(self.private)
        check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == VICTIM,
              'the victim\'s private file changed mode or owner')
        check(not os.path.exists(self.pwned),
              'mallory\'s command ran as the victim (%s exists)' % self.pwned)

    def nothing_leaked(self):
        for m in self.sink.messages():
            check(self.secret_text not in m['bytes'],
                  'the victim\'s private file was mailed out')
            check(not any('mallory' in r for r in m['rcpt']),
                  'mail went to mallory: %r' % m['rcpt'])

    def finish(self, ok, keep=False):
        self.sink.stop()
        if ok and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print('kept %s' % self.dir)
            for args, r in self.runs[-5:]:
                print('$ outbox %s\n  exit %s\n  stdout: %s\n  stderr: %s'
                      % (' '.join(args), r[0], r[1].strip(), r[2].strip()))


def planted_entry(w, qdir, ident, conffile=None, rcpt='bob@example.net',
                  msg_data=None, uid=MALLORY, sets=()):
    """An entry written by hand, as mallory (or UID) would."""
    now = int(time.time())
    lines = ['outbox-queue 1', 'id ' + ident, 'created %d' % now,
             'next %d' % now, 'attempts 0', 'account default']
    if conffile:
        lines.append('conffile ' + conffile)
    lines += ['set ' + s for s in sets]
    lines += ['from ' + FROM, 'rcpt pending ' + rcpt, 'eightbit 0',
              'size %d' % len(msg_data or b'')]
    # Mallory's files are readable by all: she wants them read.
    mode = 0o644 if uid == MALLORY else 0o600
    w.write_as(uid, os.path.join(qdir, ident + '.env'),
               ('\n'.join(lines) + '\n').encode(), mode)
    if msg_data is not None:
        w.write_as(uid, os.path.join(qdir, ident + '.msg'), msg_data, mode)


def evil_conf(w):
    """Mallory's configuration: its eval runs a command as whoever reads
    it."""
    path = os.path.join(w.mhome, 'evil.rc')
    w.write_as(MALLORY, path,
               ('account default\nhost 127.0.0.1\nport %d\nfrom %s\n'
                'eval touch %s; echo tls off\n'
                % (w.sink.port, FROM, w.pwned)).encode(), 0o644)
    os.chmod(w.mhome, 0o755)
    return path


def shared_spool(w, mode):
    spool = os.path.join(w.dir, 'spool')
    os.mkdir(spool)
    os.chmod(spool, mode)
    for sub in ('tmp', 'failed'):
        os.mkdir(os.path.join(spool, sub))
        os.chmod(os.path.join(spool, sub), mode)
    return spool


def damaged(r, path, why):
    """-q's stderr or -bp's listing names the damaged file and why."""
    text = r[1] + r[2]
    check(('%s is damaged: %s' % (path, why)) in text,
          'the output does not say "%s is damaged: %s": %r'
          % (path, why, text))


def refused(w, r, path, why):
    check(r[0] == 78, 'exit %s, expected 78 (EX_CONFIG)' % r[0])
    check(path in r[2] and why in r[2],
          'stderr does not name %s and "%s": %r' % (path, why, r[2]))


# --- the cases ---------------------------------------------------------------

@case('planted-conffile-eval-in-shared-spool')
def _(w):
    """A shared spool with mode 1777: mallory plants an entry whose
    conffile evals a command.  The victim's ordinary send and -q both
    refuse the queue (exit 78, the path and the mode named); the command
    never runs, nothing is sent, the spool's mode is left as it was."""
    spool = shared_spool(w, 0o1777)
    os.chown(spool, VICTIM, VICTIM)
    planted_entry(w, spool, '0000000000000A01', conffile=evil_conf(w),
                  msg_data=crlf(message('planted', sender=FROM)))
    w.config(spool)
    r = w.run(['bob@example.net'], message('m1', sender=FROM))
    refused(w, r, spool, 'writable by other users')
    r = w.run(['-q'])
    refused(w, r, spool, 'writable by other users')
    r = w.run(['-bp'])
    refused(w, r, spool, 'writable by other users')
    check(stat.S_IMODE(os.stat(spool).st_mode) == 0o1777,
          'the spool\'s mode was changed')
    check(w.sink.connections() == 0, 'outbox connected to the server')
    w.untouched()


@case('planted-conffile-eval-foreign-entry-skipped')
def _(w):
    """The victim's own private queue holds an entry file of mallory's
    (restored from somewhere, or left by an earlier loose mode): -q skips
    it as damaged, its eval never runs as the victim, nothing is sent;
    the victim's own entry beside it is delivered."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.config(qdir, port=free_port())
    r = w.run(['bob@example.net'], message('own', sender=FROM))
    check(r[0] == 0, 'queueing the victim\'s message: exit %s' % r[0])
    planted_entry(w, qdir, '0000000000000A02', conffile=evil_conf(w),
                  msg_data=crlf(message('planted', sender=FROM)))
    w.config(qdir)
    time.sleep(1.2)             # the victim's entry is due again
    r = w.run(['-q'])
    env = os.path.join(qdir, '0000000000000A02.env')
    damaged(r, env, 'owned by uid %d, not %d' % (MALLORY, VICTIM))
    check(r[0] == 0, '-q: exit %s' % r[0])
    damaged(w.run(['-bp']), env, 'owned by uid %d' % MALLORY)
    got = w.sink.messages()
    check([m['seq'] for m in got] == ['own'],
          'delivered %r, expected the victim\'s own message alone'
          % [m['seq'] for m in got])
    check(os.path.exists(os.path.join(qdir, '0000000000000A02.env')),
          'the foreign entry was removed (it must be left for a human)')
    w.untouched()


@case('planted-conffile-own-entry-other-config-ignored')
def _(w):
    """An entry file of the victim's own that names another user's
    configuration (conffile, and a set line): the flush uses the victim's
    configuration, so the eval in mallory's file never runs."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.config(qdir)
    planted_entry(w, qdir, '0000000000000A03', conffile=evil_conf(w),
                  msg_data=crlf(message('planted', sender=FROM)),
                  uid=VICTIM, sets=['port %d' % free_port()])
    w.run(['-q'])
    w.untouched()
    got = w.sink.messages()
    check(len(got) == 1 and got[0]['seq'] == 'planted',
          'delivered %r: expected the entry sent with the victim\'s own '
          'configuration' % [m['seq'] for m in got])


@case('msg-symlink-to-victim-file')
def _(w):
    """ID.msg replaced by a symbolic link to the victim's private file:
    the entry is skipped (never read through the link), the private file
    is not mailed out and stays as it was; -bp names the damaged file."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.config(qdir, port=free_port())
    r = w.run(['bob@example.net'], message('m1', sender=FROM))
    check(r[0] == 0, 'queueing: exit %s' % r[0])
    (e,) = entries(qdir)
    os.unlink(e.msg_path)
    os.symlink(w.private, e.msg_path)
    os.lchown(e.msg_path, VICTIM, VICTIM)
    w.config(qdir)
    time.sleep(1.2)
    r = w.run(['-q'])
    damaged(r, e.msg_path, 'a symbolic link')
    damaged(w.run(['-bp']), e.msg_path, 'a symbolic link')
    check(w.sink.messages() == [], 'something was sent: %r'
          % [m['seq'] for m in w.sink.messages()])
    w.nothing_leaked()
    w.untouched()
    check(os.path.islink(e.msg_path), 'the link was removed or replaced')


@case('msg-symlink-in-shared-spool')
def _(w):
    """In a group-writable spool mallory links ID.msg to the victim's
    file: the victim's outbox refuses the spool (exit 78, the path and
    'its group' named) and mails nothing."""
    spool = shared_spool(w, 0o770)
    os.chown(spool, VICTIM, MALLORY)
    planted_entry(w, spool, '0000000000000A04')
    os.symlink(w.private, os.path.join(spool, '0000000000000A04.msg'))
    w.config(spool)
    r = w.run(['-q'])
    refused(w, r, spool, 'writable by its group')
    check(w.sink.connections() == 0, 'outbox connected to the server')
    w.nothing_leaked()
    w.untouched()


@case('tmp-env-symlink-to-victim-file')
def _(w):
    """tmp/ID.env linked to a victim file before a retry rewrites the
    entry: the new ID.env is created with O_EXCL (never written through
    the link); the victim's file keeps its contents."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.sink.set_rules({'rcpt': '451 4.3.0 later'})
    w.config(qdir)
    r = w.run(['bob@example.net'], message('m1', sender=FROM))
    check(r[0] == 0, 'queueing after a 451: exit %s' % r[0])
    (e,) = entries(qdir)
    link = os.path.join(qdir, 'tmp', e.id + '.env')
    os.symlink(w.private, link)
    os.lchown(link, VICTIM, VICTIM)
    r = w.run(['-qI' + e.id])
    check(r[0] == 75, '-q after another 451: exit %s, expected 75' % r[0])
    w.untouched()
    (e2,) = entries(qdir)
    check(e2.env.get('attempts') == '2', 'the entry was not rewritten: %r'
          % e2)


@case('tmp-env-symlink-in-shared-spool')
def _(w):
    """A spool whose tmp/ is writable by others, where mallory links
    tmp/ID.env names to the victim's file: refused (exit 78, tmp/ named)."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.config(qdir, port=free_port())
    r = w.run(['bob@example.net'], message('m1', sender=FROM))
    check(r[0] == 0, 'queueing: exit %s' % r[0])
    tmp = os.path.join(qdir, 'tmp')
    os.chmod(tmp, 0o1777)
    (e,) = entries(qdir)
    os.symlink(w.private, os.path.join(tmp, e.id + '.env'))
    r = w.run(['-q'])
    refused(w, r, tmp, 'writable by other users')
    w.untouched()


@case('crlf-in-stored-recipient')
def _(w):
    """An entry of the victim's whose recipient holds %0D%0A and a second
    RCPT command: skipped as damaged; the server sees no connection, no
    RCPT for mallory."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.config(qdir)
    planted_entry(w, qdir, '0000000000000A05',
                  rcpt='bob@example.net>%0D%0ARCPT TO:<mallory@evil.example',
                  msg_data=crlf(message('planted', sender=FROM)),
                  uid=VICTIM)
    planted_entry(w, qdir, '0000000000000A06',
                  rcpt='bob@example.net%0ADATA',
                  msg_data=crlf(message('planted2', sender=FROM)),
                  uid=VICTIM)
    r = w.run(['-q'])
    damaged(r, os.path.join(qdir, '0000000000000A05.env'),
            'a stored recipient contains a control character')
    damaged(r, os.path.join(qdir, '0000000000000A06.env'),
            'a stored recipient contains a control character')
    check(w.sink.connections() == 0,
          'outbox connected for a damaged entry')
    w.nothing_leaked()
    check(len(entries(qdir)) == 2, 'the damaged entries were removed')


@case('queue-dir-writable-or-foreign')
def _(w):
    """A queue directory another user can write (0777, 1777, group 0770)
    or one mallory created first under /tmp-like space (hers, 0700): each
    refused with exit 78 naming the path and what is wrong, for a send,
    -q and -bp; no mode or owner is changed, nothing is sent."""
    for mode, owner, why in ((0o777, VICTIM, 'writable by other users'),
                             (0o1777, VICTIM, 'writable by other users'),
                             (0o770, VICTIM, 'writable by its group'),
                             (0o700, MALLORY, 'belongs to uid %d' % MALLORY)):
        d = os.path.join(w.dir, 'q-%o-%d' % (mode, owner))
        os.mkdir(d)
        os.chown(d, owner, owner)
        os.chmod(d, mode)
        w.config(d)
        for args, stdin in ((['bob@example.net'], message('x', sender=FROM)),
                            (['-q'], b''), (['-bp'], b'')):
            r = w.run(args, stdin)
            refused(w, r, d, why)
        st = os.stat(d)
        check(stat.S_IMODE(st.st_mode) == mode and st.st_uid == owner,
              '%s: mode or owner changed' % d)
        check(os.listdir(d) == [],
              '%s: files were created in a directory refused' % d)
    check(w.sink.connections() == 0, 'outbox connected to the server')
    w.untouched()


@case('set-id-refused')
def _(w):
    """outbox installed set-user-ID (owned by mallory) or set-group-ID and
    run by the victim: refused with exit 78 before any configuration is
    read (the victim's eval does not run), nothing is sent."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    w.config(qdir, extra='eval touch %s; echo tls off\n' % w.pwned)
    for owner, group, mode in ((MALLORY, 0, 0o4755), (0, MALLORY, 0o2755)):
        copy = os.path.join(w.dir, 'outbox-%o' % mode)
        shutil.copy(w.outbox, copy)
        os.chown(copy, owner, group)
        os.chmod(copy, mode)
        saved, w.outbox = w.outbox, copy
        try:
            r = w.run(['bob@example.net'], message('m1', sender=FROM))
        finally:
            w.outbox = saved
        check(r[0] == 78, 'mode %o: exit %s, expected 78: %s'
              % (mode, r[0], r[2]))
        check('must not be set-user-ID or set-group-ID' in r[2],
              'mode %o: stderr %r' % (mode, r[2]))
    check(w.sink.connections() == 0, 'outbox connected to the server')
    w.untouched()


@case('no-core-dump-while-waiting')
def _(w):
    """While outbox (run by the victim) holds the configuration and waits
    for a silent server, it is not dumpable (its /proc entries are
    root's, so another process of the victim's cannot read its memory)
    and its core file size limit is 0."""
    import socket
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(4)
    w.config(qdir, queue='off', port=silent.getsockname()[1],
             extra='password s3cret-in-memory\nuser victim\nauth plain\n')
    p = subprocess.Popen(w.argv(['bob@example.net']), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=w.env(), cwd=w.vhome)
    try:
        p.stdin.write(message('m1', sender=FROM))
        p.stdin.close()
        # setpriv execs outbox in the same process: wait until it has.
        deadline = time.monotonic() + 10
        comm = ''
        while time.monotonic() < deadline:
            with open('/proc/%d/comm' % p.pid) as f:
                comm = f.read().strip()
            st = os.stat('/proc/%d/environ' % p.pid)
            if comm == 'outbox' and st.st_uid == 0:
                break
            time.sleep(0.05)
        check(comm == 'outbox', 'outbox did not start: %r' % comm)
        st = os.stat('/proc/%d/mem' % p.pid)
        check(st.st_uid == 0,
              '/proc/%d/mem belongs to uid %d: outbox is dumpable'
              % (p.pid, st.st_uid))
        # Another process of the victim's cannot read its memory.
        peek = subprocess.run(w.argv_plain(['cat', '/proc/%d/environ'
                                            % p.pid]),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=w.env())
        check(peek.returncode != 0,
              'a process of the victim\'s read outbox\'s environment')
        with open('/proc/%d/limits' % p.pid) as f:
            core = [ln.split() for ln in f if ln.startswith('Max core')]
        check(core and core[0][4:6] == ['0', '0'],
              'core file size limit %r' % core)
    finally:
        p.kill()
        p.wait()
        p.stderr.close()
        silent.close()


def runner(registry, world):
    """run_one for cases.main: each case in a fresh world."""
    def run_one(name, args):
        if os.geteuid() != 0:
            print('%s: needs root to run as two users (setpriv)' % name)
            sys.exit(77)
        w = world(args.outbox)
        ok = False
        try:
            registry.fn(name)(w)
            ok = True
            print('%s: PASS' % name)
        except Failure as e:
            print('%s: FAIL: %s' % (name, e))
        finally:
            w.finish(ok, args.keep)
        return ok
    return run_one


if __name__ == '__main__':
    sys.exit(cases.main(CASES, runner(CASES, World), __doc__))
