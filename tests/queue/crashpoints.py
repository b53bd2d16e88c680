#!/usr/bin/python3
"""Crash points: a failure injected at every system call of enqueue, flush
and removal in turn, then a clean recovery; messages lost and duplicated
counted.

usage: crashpoints.py --outbox PATH [--only SCENARIO] [--max-points N]
                      [--keep] fault-crashpoints

Three scenarios, each run once under strace to list its system calls
(those after the program's own start: its first rt_sigaction):

  enqueue  "queue always": the message stored, nothing sent
  flush    "outbox -q" sending one stored entry (the sink accepts)
  direct   "queue on-failure": stored, sent at once, removed
  retry    "outbox -q" while the server answers 451: the entry rewritten
           with its next attempt

Then, for every one of those calls in turn (the N-th openat, the N-th
fsync, ...), the scenario runs again from the same state with strace
injecting at that call (strace -e inject=SYSCALL:...:when=N), in two
modes: EIO (the call fails; the program goes on as it can) and KILL (the
process dies at the call, as with kill -9, the call not made).  After each
point "outbox -qS<sender>" (everything, whatever its schedule) runs with
nothing injected, and the queue must be empty again.

Counted:
  lost        a message whose run exited 0 (claimed), or one stored
              before the point (flush), never delivered       -> must be 0
  stuck       an entry left in the queue or failed/ after the
              recovery                                         -> must be 0
  duplicates  delivered twice; each extra copy is explained only when the
              run at the point delivered it (the sink's connection opened
              during that run) and did not mark it sent (no successful
              fchmod of its content file to 0400 in the trace): the
              documented window between the server's reply to the dot and
              the mark                                          -> others 0
  refused     points where the run exited non-zero without claiming the
              message (fine: the caller knows)

Needs strace.  Standard library only.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import (Outbox, SinkProcess, message, crlf, check_layout,  # noqa
                  FROM)
from outboxtest import cases  # noqa: E402

RCPT = 'bob@example.net'
# Calls made before main() (the dynamic loader, libc) or that cannot be
# made to fail in a way the program could see.
SKIP = {'execve', 'exit_group', 'exit', 'rt_sigreturn'}
CALL_RE = re.compile(r'^(?:\d+\s+)?([a-z0-9_]+)\(')


class Counts:
    def __init__(self):
        self.c = collections.Counter()

    def __getitem__(self, k):
        return self.c[k]

    def add(self, k, n=1):
        self.c[k] += n


class Bench:
    def __init__(self, outbox, keep):
        self.o = Outbox(outbox, keep=keep)
        self.sink = SinkProcess(self.o.dir)
        self.seq = 0
        self.sent = {}              # seq -> bytes expected
        self.claimed = set()
        self.runs = []              # (start, end, point, trace path)
        self.counts = Counts()
        self.trace = os.path.join(self.o.dir, 'trace')

    def config(self, queue):
        # A retry is due at once: the recovery's -qS takes everything
        # anyway, and nothing waits on the schedule.
        self.o.config(self.sink.port, queue=queue,
                      defaults='queue_retry 1s 1s\n')

    def new_message(self):
        self.seq += 1
        seq = 'p%05d' % self.seq
        msg = message(seq, rcpt=RCPT)
        self.sent[seq] = crlf(msg)
        return seq, msg

    def run(self, args, stdin, inject=None, point=None):
        wrap = []
        if inject is not None:
            wrap = ['strace', '-qq', '-o', self.trace, '-e', 'trace=all',
                    '-e', 'inject=' + inject]
        t0 = time.monotonic()
        r = self.o.run(args, stdin, wrap=wrap, timeout=60)
        t1 = time.monotonic()
        self.runs.append((t0, t1, point))
        return r

    def listing(self, args, stdin, ok=(0,)):
        """The calls a run makes, in order, from main() on."""
        out = os.path.join(self.o.dir, 'base')
        r = self.o.run(args, stdin, wrap=['strace', '-qq', '-o', out,
                                          '-e', 'trace=all'])
        if r.rc not in ok:
            raise SystemExit('baseline %s exited %s: %s' % (args, r.rc,
                                                             r.err))
        calls = []
        with open(out) as f:
            for line in f:
                m = CALL_RE.match(line)
                if m:
                    calls.append(m.group(1))
        start = calls.index('rt_sigaction') if 'rt_sigaction' in calls \
            else 0
        before = collections.Counter(calls[:start])
        seen = collections.Counter(calls[:start])
        points = []
        for c in calls[start:]:
            seen[c] += 1
            if c not in SKIP:
                points.append((c, seen[c]))
        return points, before

    def recover(self, point=None):
        self.config('on-failure')
        r = self.o.run(['-qS' + FROM], b'')
        left = self.o.entries() + self.o.failed()
        if left:
            self.counts.add('stuck', len(left))
            print('STUCK after recovery from point %r: %r (%s)'
                  % (point, left, r.err.strip()))
            for e in left:
                print('  files: %r' % sorted(
                    os.listdir(e.dir)
                    + ['tmp/' + n for n in os.listdir(os.path.join(
                        self.o.qdir, 'tmp'))]
                    + ['failed/' + n for n in os.listdir(os.path.join(
                        self.o.qdir, 'failed'))]))
            for e in left:
                for p in (e.env_path, e.msg_path):
                    try:
                        os.unlink(p)
                    except FileNotFoundError:
                        pass
        return r

    def marked_in_trace(self):
        """Whether the run at the point marked a content file sent."""
        try:
            with open(self.trace, errors='replace') as f:
                text = f.read()
        except FileNotFoundError:
            return False
        return re.search(r'^fchmod\(\d+, 0400\)\s+= 0\s*$', text,
                         re.M) is not None

    def point(self, scenario, call, n, mode):
        inj = '%s:error=EIO:when=%d' % (call, n)
        if mode == 'KILL':
            inj += ':signal=KILL'
        if scenario in ('flush', 'retry'):
            self.config('always')
            seq, msg = self.new_message()
            r = self.o.run([RCPT], msg)
            if r.rc != 0:
                raise SystemExit('enqueue before the flush point: %s'
                                 % r.err)
            self.claimed.add(seq)
            if scenario == 'retry':
                self.sink.set_rules({'rcpt': '451 4.3.0 later'})
            r = self.run(['-q'], b'', inj, (scenario, call, n, mode))
            self.sink.set_rules({})
        else:
            self.config('always' if scenario == 'enqueue' else 'on-failure')
            seq, msg = self.new_message()
            r = self.run([RCPT], msg, inj, (scenario, call, n, mode))
            if r.rc == 0:
                self.claimed.add(seq)
            else:
                self.counts.add('refused')
        killed = r.rc == -9
        self.counts.add('killed' if killed else 'failed-call')
        marked = self.marked_in_trace()
        run = self.runs[-1]
        self.recover((scenario, call, n, mode, r.rc, r.err.strip()[:200]))
        return seq, run, marked

    def account(self, at_point):
        """Lost and duplicated, each duplicate checked against the point
        whose run delivered the extra copy."""
        opened = {e['conn']: e['t'] for e in self.sink.events('connect')}
        by_seq = collections.defaultdict(list)
        for m in self.sink.messages():
            by_seq[m['seq']].append(m)
            if m['bytes'] != self.sent.get(m['seq']):
                self.counts.add('corrupt')
                print('CORRUPT: %s' % m['seq'])
        for seq in sorted(self.claimed):
            if seq not in by_seq:
                self.counts.add('lost')
                print('LOST: %s' % seq)
        for seq, copies in sorted(by_seq.items()):
            if len(copies) < 2:
                continue
            self.counts.add('duplicated messages')
            copies.sort(key=lambda m: opened.get(m['conn'], 0))
            for m in copies[:-1]:
                t = opened.get(m['conn'], 0)
                info = at_point.get(seq)
                if info and info[0][0] <= t <= info[0][1] and not info[1]:
                    self.counts.add('extra copies in the window (%s)'
                                    % info[0][2][3])
                    print('duplicate in the window: %s, point %r'
                          % (seq, info[0][2]))
                else:
                    self.counts.add('extra copies unexplained')
                    print('UNEXPLAINED DUPLICATE: %s, point %r, marked %r'
                          % (seq, info and info[0][2], info and info[1]))


def options(ap):
    ap.add_argument('--only', choices=['enqueue', 'flush', 'direct',
                                       'retry'])
    ap.add_argument('--max-points', type=int, default=0,
                    help='at most this many points per scenario and mode')


def run_one(name, args):
    if shutil.which('strace') is None:
        print('crashpoints.py: strace is not installed')
        sys.exit(77)
    b = Bench(args.outbox, args.keep)
    ok = False
    t0 = time.monotonic()
    at_point = {}
    total = 0
    try:
        scenarios = [args.only] if args.only else ['enqueue', 'flush',
                                                    'direct', 'retry']
        for sc in scenarios:
            # The calls of one clean run of the scenario.
            if sc in ('flush', 'retry'):
                b.config('always')
                seq, msg = b.new_message()
                b.o.run([RCPT], msg)
                b.claimed.add(seq)
                if sc == 'retry':
                    b.sink.set_rules({'rcpt': '451 4.3.0 later'})
                points, _ = b.listing(['-q'], b'',
                                      ok=(75,) if sc == 'retry' else (0,))
                b.sink.set_rules({})
            else:
                b.config('always' if sc == 'enqueue' else 'on-failure')
                seq, msg = b.new_message()
                points, _ = b.listing([RCPT], msg)
                b.claimed.add(seq)
            b.recover()
            if args.max_points:
                points = points[:args.max_points]
            for mode in ('EIO', 'KILL'):
                for call, n in points:
                    seq, run, marked = b.point(sc, call, n, mode)
                    at_point[seq] = (run, marked)
                    total += 1
            print('%s: %d calls after start, each in 2 modes' % (sc,
                                                                  len(points)))
        time.sleep(0.3)
        b.account(at_point)
        c = b.counts
        print('points: %d (%d killed, %d with a failed call)'
              % (total, c['killed'], c['failed-call']))
        print('messages: %d, claimed %d, delivered %d'
              % (len(b.sent), len(b.claimed),
                 len({m['seq'] for m in b.sink.messages()})))
        print('counts: ' + ', '.join('%s %d' % kv for kv in
                                     sorted(c.c.items())))
        problems = check_layout(b.o.qdir)
        print('layout problems: %s' % (problems or 'none'))
        print('time: %.1f s' % (time.monotonic() - t0))
        ok = (c['lost'] == 0 and c['stuck'] == 0 and c['corrupt'] == 0 and
              c['extra copies unexplained'] == 0 and not problems and
              (args.max_points or args.only or total >= 1000))
        print('crashpoints: %s' % ('PASS' if ok else 'FAIL'))
    finally:
        b.o.finish(ok, b.sink)
    return ok


if __name__ == '__main__':
    sys.exit(cases.main(cases.one('fault-crashpoints'), run_one, __doc__,
                        options=options))
