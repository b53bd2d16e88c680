#!/usr/bin/python3
"""Never send from a queue that cannot be updated, never send twice
because an update failed.

usage: update_fail.py --list | update_fail.py --outbox PATH CASE... | all

The runs are the victim's (a plain user through setpriv, so that modes
hold), against the recording sink.  Needs root and strace; exit 77
otherwise.  Standard library only.
"""

import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import Failure, check, crlf, entries, free_port, message  # noqa
from outboxtest import cases  # noqa: E402
from attacks import World, FROM, VICTIM, runner  # noqa

CASES = cases.Registry()
case = CASES.case


def queued(w, qdir, seq='m1'):
    """One message of the victim's in QDIR, kept after a refused
    connection; the configuration then points at the sink."""
    w.config(qdir, port=free_port())
    msg = message(seq, sender=FROM)
    r = w.run(['bob@example.net'], msg)
    check(r[0] == 0, 'queueing: exit %s: %s' % (r[0], r[2]))
    w.config(qdir, queue='always')
    time.sleep(1.2)             # due again (queue_retry 1s)
    return msg


@case('removal-fails-after-250-never-sent-again')
def _(w):
    """The server takes the message, then every removal fails (EACCES,
    as after a mode change): the run says so and exits 74 (EX_IOERR); the
    entry is marked sent, so the next -q sends nothing and clears it."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    msg = queued(w, qdir)
    (e,) = entries(qdir)
    trace = os.path.join(w.dir, 'strace.out')
    argv = ['strace', '-qq', '-o', trace, '-e', 'trace=unlinkat,fchmod',
            '-e', 'inject=unlinkat:error=EACCES']
    r = w.run(['-qI' + e.id], wrap=argv)
    check(r[0] == 74, 'exit %s, expected 74: %s' % (r[0], r[2]))
    check('marked as sent' in r[2] and e.id in r[2] and
          ('cannot remove %s' % e.env_path) in r[2],
          'stderr does not name the file and say the entry is marked '
          'sent: %r' % r[2])
    check(len(w.sink.messages()) == 1, 'not delivered once')
    check(os.stat(e.msg_path).st_mode & 0o777 == 0o400,
          'the content file carries no mark')
    r = w.run(['-qI' + e.id])
    check(r[0] == 0, 'the next -q: exit %s: %s' % (r[0], r[2]))
    got = w.sink.messages()
    check(len(got) == 1 and got[0]['bytes'] == crlf(msg),
          'sent again after the failed removal: %d copies' % len(got))
    check(entries(qdir) == [], 'the entry is still there')


@case('queue-not-writable-nothing-sent')
def _(w):
    """The queue directory lost its write bit (chmod 0500): the attempt
    cannot be recorded, so nothing is sent and -q exits 74 naming the
    path; with the mode back the message goes once."""
    qdir = w.mkdir('queue', VICTIM, 0o700, w.vhome)
    msg = queued(w, qdir)
    os.chmod(qdir, 0o500)
    r = w.run(['-q'])
    check(r[0] == 74, 'exit %s, expected 74: %s' % (r[0], r[2]))
    check(qdir in r[2], 'stderr does not name %s: %r' % (qdir, r[2]))
    check(w.sink.connections() == 0 or w.sink.messages() == [],
          'sent from a queue that cannot be updated')
    os.chmod(qdir, 0o700)
    r = w.run(['-q'])
    got = w.sink.messages()
    check(r[0] == 0 and len(got) == 1 and got[0]['bytes'] == crlf(msg),
          'after the mode came back: exit %s, %d copies' % (r[0], len(got)))
    check(entries(qdir) == [], 'the entry is still there')


@case('readonly-filesystem-nothing-sent')
def _(w):
    """The queue's filesystem turns read-only (a private tmpfs remounted
    ro): -q sends nothing and exits 74; writable again, it sends once."""
    mnt = w.mkdir('mnt', VICTIM, 0o755)
    qdir = os.path.join(mnt, 'queue')
    out = os.path.join(w.dir, 'ro.out')
    msgfile = os.path.join(w.dir, 'ro1.eml')
    msg = message('ro1', sender=FROM)
    with open(msgfile, 'wb') as f:
        f.write(msg)
    conf_down = os.path.join(w.vhome, 'down.rc')
    w.config(qdir, port=free_port(), path=conf_down)
    w.config(qdir, queue='always')
    q = shlex.quote
    # One private mount namespace for every step, so the tmpfs lives on.
    script = '\n'.join([
        'mount -t tmpfs -o mode=0755 tmpfs %s || exit 1' % q(mnt),
        'install -d -m 0700 -o %d -g %d %s || exit 1'
        % (VICTIM, VICTIM, q(qdir)),
        '%s < %s 2>>%s.err; echo "queue $?" >>%s'
        % (shlex.join(w.argv(['bob@example.net'], conf=conf_down)),
           q(msgfile), q(out), q(out)),
        'sleep 1.2',
        'mount -o remount,ro %s || exit 1' % q(mnt),
        '%s 2>>%s.err; echo "ro $?" >>%s'
        % (shlex.join(w.argv(['-q'])), q(out), q(out)),
        'mount -o remount,rw %s || exit 1' % q(mnt),
        '%s 2>>%s.err; echo "rw $?" >>%s'
        % (shlex.join(w.argv(['-q'])), q(out), q(out)),
        ''])
    p = subprocess.run(['unshare', '--mount', '--propagation', 'private',
                        'sh', '-c', script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=w.env(), timeout=120)
    check(p.returncode == 0, 'the steps failed: %s'
          % p.stdout.decode(errors='replace'))
    with open(out) as f:
        codes = dict(line.split() for line in f)
    with open(out + '.err') as f:
        err = f.read()
    check(codes.get('queue') == '0', 'queueing: %r: %s' % (codes, err))
    check(codes.get('ro') == '74', 'read-only: exit %s, expected 74: %s'
          % (codes.get('ro'), err))
    check(qdir in err, 'stderr does not name %s: %r' % (qdir, err))
    check(codes.get('rw') == '0', 'writable again: exit %s: %s'
          % (codes.get('rw'), err))
    got = w.sink.messages()
    check([m['seq'] for m in got] == ['ro1'] and got[0]['bytes'] == crlf(msg),
          'delivered %r, expected ro1 once' % [m['seq'] for m in got])


if __name__ == '__main__':
    if shutil.which('strace') is None:
        print('update_fail.py: strace is not installed')
        sys.exit(77)
    sys.exit(cases.main(CASES, runner(CASES, World), __doc__))
