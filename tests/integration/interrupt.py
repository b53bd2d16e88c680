#!/usr/bin/python3
"""Ctrl-C at outbox's password prompt, on a real pseudo-terminal: the
terminal gets its echo back, stderr says what became of the message, and
outbox dies of SIGINT as the shell expects.  (Ctrl-C during a send, with
the message kept in the queue, is integration/mistakes/19.)

usage: interrupt.py --outbox PATH

Against the test library's sink on 127.0.0.1 (an ephemeral port).
Python 3 standard library only.
"""

import argparse
import fcntl
import os
import select
import signal
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'lib'))
from outboxtest.smtpserver import Sink  # noqa: E402

MSG = (b'From: alice@example.org\nTo: bob@example.net\n'
       b'Subject: interrupted\n\nbody\n')


def spawn_on_pty(argv, stdin_data, env):
    """Run ARGV with a new pty as its controlling terminal and stderr;
    return (pid, master, slave, stdin writer)."""
    master, slave = os.openpty()
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            os.dup2(rd, 0)
            os.dup2(slave, 1)
            os.dup2(slave, 2)
            os.close(master)
            os.close(wr)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(rd)
    os.write(wr, stdin_data)
    os.close(wr)
    return pid, master, slave


def read_until(master, text, timeout):
    out = b''
    end = time.monotonic() + timeout
    while text not in out and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
    return out


def fail(what):
    print('FAIL interrupt: %s' % what)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--outbox', required=True)
    args = ap.parse_args()
    sink = Sink({'auth': ['PLAIN'], 'user': 'alice', 'password': 'right'})
    tmp = tempfile.mkdtemp(prefix='outbox-interrupt.')
    conf = os.path.join(tmp, 'config')
    qdir = os.path.join(tmp, 'queue')
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, ('account default\nhost 127.0.0.1\nport %d\ntls off\n'
                  'auth plain\nuser alice\nfrom alice@example.org\n'
                  'timeout 5\nqueue on-failure\nqueue_dir %s\n'
                  % (sink.port, qdir)).encode())
    os.close(fd)
    env = {'PATH': '/usr/bin:/bin', 'HOME': tmp, 'LANG': 'C'}
    pid, master, slave = spawn_on_pty(
        [os.path.abspath(args.outbox), '-C', conf, 'bob@example.net'],
        MSG, env)
    out = read_until(master, b'password for', 10)
    if b'password for alice at 127.0.0.1' not in out:
        os.kill(pid, signal.SIGKILL)
        fail('no password prompt: %r' % out)
    if termios.tcgetattr(slave)[3] & termios.ECHO:
        os.kill(pid, signal.SIGKILL)
        fail('the echo is on while the password is typed')
    os.write(master, b'\x03')  # Ctrl-C: the terminal's SIGINT
    _, status = os.waitpid(pid, 0)
    out += read_until(master, b'\n', 1)
    if not os.WIFSIGNALED(status) or os.WTERMSIG(status) != signal.SIGINT:
        fail('not ended by SIGINT: status %#x' % status)
    if not termios.tcgetattr(slave)[3] & termios.ECHO:
        fail('the terminal was left without echo')
    text = out.decode('utf-8', 'replace')
    # Before the message is stored nothing is kept: the caller, ended by
    # the signal, still has it.
    if '\r\noutbox: interrupted; the message was not sent\r\n' not in text:
        fail('stderr does not say what became of the message: %r' % text)
    entries = [n for n in os.listdir(qdir) if n.endswith('.env')] \
        if os.path.isdir(qdir) else []
    if entries:
        fail('%d queue entries for a message never taken' % len(entries))
    if sink.take() and any(t['final'] and t['final'][0].startswith('2')
                           for s in sink.take() for t in s['transactions']):
        fail('the message was delivered')
    os.close(master)
    os.close(slave)
    sink.close()
    print('PASS interrupt: echo restored, the message said not sent')
    return 0


if __name__ == '__main__':
    sys.exit(main())
