#!/usr/bin/python3
"""Fault injection: a full disk and an unwritable queue directory.

usage: fault_disk.py --outbox PATH [--keep] fault-disk
(qtest.py runs it too, as case fault-disk)

Needs root: it re-runs itself in a private mount namespace (unshare -m)
and mounts small tmpfs file systems there, invisible to the rest of the
machine.  Parts:

 1. tmpfs of 512 KiB as the queue's file system: "queue always" runs with
    30 KiB messages until the disk is full.  Every run that exited 0
    must have its entry intact (.msg equal to the message); every run on
    the full disk must exit non-zero with a message and leave no entry;
    "queue on-failure" after a refused connection must exit non-zero too.
    Then a flush answered 451 (outbox must rewrite entries on the full
    disk): nothing may be lost.  Then a flush to an accepting sink: every
    message that was claimed arrives, intact.
 2. RLIMIT_FSIZE (16 KiB): a small message is queued (exit 0), a 64 KiB
    one is refused with a non-zero exit, not killed by SIGXFSZ, and the
    small one stays intact; same for "queue on-failure".
 3. The queue's file system remounted read-only: queueing exits non-zero;
    -bp still lists the entry (exit 0).

Prints the counts of each part; exit 1 on any message lost or any full
disk reported as success.

Standard library only.
"""

import os
import resource
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import (Outbox, SinkProcess, message, crlf, free_port,  # noqa
                  check_layout)
from outboxtest import cases  # noqa: E402

NAME = 'fault-disk'

problems = []


def bad(text):
    problems.append(text)
    print('PROBLEM: ' + text)


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0700' % size,
                    'tmpfs', path], check=True)


def part_full_tmpfs(outbox, base):
    print('== part 1: queue on a 512 KiB tmpfs')
    o = Outbox(outbox, os.path.join(base, 'p1'))
    fs = os.path.join(base, 'p1', 'fs')
    mount_tmpfs(fs, '512k')
    o.qdir = os.path.join(fs, 'queue')
    sink = SinkProcess(o.dir)
    try:
        o.config(sink.port, queue='always')
        claimed, refused = {}, {}
        codes = {}
        in_a_row = 0
        i = 0
        while in_a_row < 3 and i < 60:
            i += 1
            seq = 'd%03d' % i
            msg = message(seq, size=30000)
            r = o.run(['bob@example.net'], msg)
            if r.rc == 0:
                claimed[seq] = crlf(msg)
                in_a_row = 0
            else:
                refused[seq] = r
                codes[r.rc] = codes.get(r.rc, 0) + 1
                in_a_row += 1
                if r.rc < 0:
                    bad('%s: outbox killed by signal %d' % (seq, -r.rc))
                if not r.err.strip():
                    bad('%s: exit %s without a message' % (seq, r.rc))
        print('queue always: %d runs, claimed (exit 0) %d, refused %d with '
              'exit codes %s' % (i, len(claimed), len(refused), codes))
        if refused:
            print('  e.g.: %s' % list(refused.values())[0].err.strip()[:200])
        if not refused:
            bad('the disk never filled up')
        # Whatever space is left goes to a filler file: from now on not
        # one more block can be written.
        filler = os.path.join(fs, 'filler')
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b'\0' * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        r = o.run(['bob@example.net'], message('tiny'))
        print('queue always, small message, no block left: exit %s' % r.rc)
        if r.rc == 0:
            claimed['tiny'] = crlf(message('tiny'))
        # on-failure after a refused connection, on the full disk.
        o.config(free_port(), queue='on-failure')
        r = o.run(['bob@example.net'], message('onf', size=200000))
        print('queue on-failure, refused connection, full disk: exit %s'
              % r.rc)
        if r.rc == 0:
            bad('on-failure could not store on a full disk, yet exit 0')
        # What is stored must be exactly what was claimed.
        stored = {e.seq(): e for e in o.entries()}
        intact = sum(1 for s, want in claimed.items()
                     if s in stored and stored[s].msg == want)
        extra = [s for s in stored if s not in claimed]
        print('stored entries %d, claimed and intact %d, stored though '
              'refused %d, layout problems %s'
              % (len(stored), intact, len(extra),
                 check_layout(o.qdir) or 'none'))
        if intact != len(claimed):
            bad('claimed messages missing or damaged in the queue: %s'
                % [s for s in claimed if s not in stored or
                   stored[s].msg != claimed[s]])
        for s in extra:
            size = {'tiny': 0, 'onf': 200000}.get(s, 30000)
            if stored[s].msg != crlf(message(s, size=size)):
                bad('%s stored damaged after a refused run' % s)
        if check_layout(o.qdir):
            bad('layout: %s' % check_layout(o.qdir))
        # A flush that must reschedule every entry on the full disk.
        o.config(sink.port, queue='always')
        sink.set_rules({'rcpt': '451 4.3.0 later'})
        r = o.run(['-q'])
        after = {e.seq(): e for e in o.entries()}
        kept = sum(1 for s in claimed if s in after and
                   after[s].msg == claimed[s])
        counted = sum(1 for s in claimed if s in after and
                      after[s].env.get('attempts') == '1')
        print('flush answered 451 on the full disk: exit %s, claimed '
              'entries still intact %d of %d, with the attempt recorded %d'
              % (r.rc, kept, len(claimed), counted))
        if r.rc == 0:
            bad('a flush whose every message got 451 exited 0')
        if kept != len(claimed):
            bad('entries lost or damaged by a flush on the full disk')
        # Deliver with the disk still full (removing entries needs no
        # space), then with space again, forced, whatever the schedule.
        sink.set_rules({})
        n0 = len(sink.messages())
        rs = [o.run(['-qI' + e.id]).rc for e in o.entries()]
        print('flush (-qI each) with no block left: exit codes %s, '
              'delivered %d' % (sorted(set(rs)), len(sink.messages()) - n0))
        os.unlink(filler)
        for e in o.entries():
            o.run(['-qI' + e.id])
        got = {}
        for m in sink.messages():
            got.setdefault(m['seq'], []).append(m)
        lost = [s for s in claimed if s not in got]
        damaged = [s for s in claimed if s in got and
                   got[s][0]['bytes'] != claimed[s]]
        dups = [s for s, c in got.items() if len(c) > 1]
        print('delivered after the disk filled: %d of %d claimed, lost %d, '
              'damaged %d, duplicated %d; entries left %d'
              % (len([s for s in claimed if s in got]), len(claimed),
                 len(lost), len(damaged), len(dups), len(o.entries())))
        if lost or damaged:
            bad('lost %s damaged %s' % (lost, damaged))
    finally:
        sink.stop()
        subprocess.run(['umount', fs])


def limit_fsize():
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))


def part_rlimit(outbox, base):
    print('== part 2: RLIMIT_FSIZE 16 KiB')
    o = Outbox(outbox, os.path.join(base, 'p2'))
    o.config(free_port(), queue='always')
    small = message('small', size=1000)
    r = o.run(['bob@example.net'], small, preexec=limit_fsize)
    print('queue always, 1 KiB message: exit %s' % r.rc)
    if r.rc != 0:
        bad('a 1 KiB message under a 16 KiB limit was refused: %s'
            % r.err.strip())
    results = []
    for mode in ('always', 'on-failure'):
        o.config(free_port(), queue=mode)
        r = o.run(['bob@example.net'], message('big-' + mode, size=65536),
                  preexec=limit_fsize)
        results.append('%s: exit %s' % (mode, r.rc))
        if r.rc == 0:
            bad('queue %s: a 64 KiB message over RLIMIT_FSIZE exited 0'
                % mode)
        elif r.rc < 0:
            bad('queue %s: outbox killed by signal %s (SIGXFSZ is %d)'
                % (mode, -r.rc, signal.SIGXFSZ))
        elif not r.err.strip():
            bad('queue %s: exit %s without a message' % (mode, r.rc))
        else:
            results[-1] += ' (%s)' % r.err.strip().splitlines()[-1][:120]
    print('64 KiB message: ' + '; '.join(results))
    es = {e.seq(): e for e in o.entries()}
    print('entries: %s; layout problems %s'
          % (sorted(es), check_layout(o.qdir) or 'none'))
    if 'small' not in es or es['small'].msg != crlf(small):
        bad('the small entry is missing or damaged')
    for s in es:
        if s != 'small':
            bad('%s was refused, yet an entry for it exists' % s)


def part_readonly(outbox, base):
    print('== part 3: queue file system read-only')
    o = Outbox(outbox, os.path.join(base, 'p3'))
    fs = os.path.join(base, 'p3', 'fs')
    mount_tmpfs(fs, '1m')
    o.qdir = os.path.join(fs, 'queue')
    try:
        o.config(free_port(), queue='always')
        first = message('ro1')
        r = o.run(['bob@example.net'], first)
        if r.rc != 0:
            bad('could not queue on a writable tmpfs: %s' % r.err)
        subprocess.run(['mount', '-o', 'remount,ro', fs], check=True)
        r = o.run(['bob@example.net'], message('ro2'))
        print('queue always on a read-only queue: exit %s (%s)'
              % (r.rc, r.err.strip()[:120]))
        if r.rc == 0:
            bad('queueing on a read-only file system exited 0')
        o.config(free_port(), queue='on-failure')
        r2 = o.run(['bob@example.net'], message('ro3'))
        print('on-failure, refused, read-only queue: exit %s' % r2.rc)
        if r2.rc == 0:
            bad('on-failure on a read-only queue exited 0')
        r = o.run(['-bp'])
        es = o.entries()
        print('-bp on the read-only queue: exit %s; entries %d'
              % (r.rc, len(es)))
        if r.rc != 0 or not es or es[0].id not in r.out:
            bad('-bp cannot list a read-only queue')
        if not es or es[0].msg != crlf(first):
            bad('the entry made before the remount is gone or damaged')
    finally:
        subprocess.run(['umount', fs])


def inner(outbox):
    base = os.path.join(os.environ.get('TMPDIR', '/tmp'),
                        'outbox-qdisk.%d' % os.getpid())
    os.makedirs(base)
    # Private tmpfs for everything else too, so nothing is left behind.
    mount_tmpfs(base, '64m')
    t0 = time.monotonic()
    try:
        for part in (part_full_tmpfs, part_rlimit, part_readonly):
            try:
                part(outbox, base)
            except Exception as e:
                bad('%s: %r' % (part.__name__, e))
    finally:
        subprocess.run(['umount', base])
        os.rmdir(base)
    print('time: %.1f s; problems: %d' % (time.monotonic() - t0,
                                          len(problems)))
    print('fault_disk: %s' % ('FAIL' if problems else 'PASS'))
    return 1 if problems else 0


def options(ap):
    ap.add_argument('--inner', action='store_true',
                    help='(inside the private mount namespace)')


def run(args):
    if getattr(args, 'inner', False):
        return inner(args.outbox)
    if os.geteuid() != 0:
        print('fault_disk: needs root (unshare -m, mount)', file=sys.stderr)
        return 1
    return subprocess.run(['unshare', '-m', '--propagation', 'private', '--',
                           sys.executable, '-B', os.path.abspath(__file__),
                           '--outbox', args.outbox, '--inner',
                           NAME]).returncode


if __name__ == '__main__':
    sys.exit(cases.main(cases.one(NAME, run), lambda n, a: run(a) == 0,
                        __doc__, options=options))
