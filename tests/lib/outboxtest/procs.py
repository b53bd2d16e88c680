"""The test servers as child processes: the sink and the delay proxy
(each read back through its files), stopped again when the runner exits
or is terminated.  Standard library only."""

import atexit
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from . import PY, tool
from .smtpserver import check_rules

_children = []


def read_events(path, ev=None):
    """The complete lines of a server's JSON-lines event log (those of
    kind ev only, when given); none while the file does not exist."""
    out = []
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                if line.endswith('\n'):
                    e = json.loads(line)
                    if ev is None or e['ev'] == ev:
                        out.append(e)
    except FileNotFoundError:
        pass
    return out


class Failure(Exception):
    pass


def _reap_children():
    for p in _children:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(5)
            except Exception:
                try:
                    p.kill()
                    p.wait(5)
                except Exception:
                    pass


def _on_term(signum, frame):
    _reap_children()
    sys.exit(128 + signum)


atexit.register(_reap_children)
signal.signal(signal.SIGTERM, _on_term)


def spawn(argv, **kw):
    """Popen ARGV (stdout piped) and reap it at exit."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, **kw)
    _children.append(p)
    return p


def read_port(proc, what):
    """The N of the "PORT N" line a server prints once it listens."""
    line = proc.stdout.readline().decode()
    m = re.match(r'PORT (\d+)', line)
    if not m:
        proc.kill()
        raise Failure('%s did not start: %r' % (what, line))
    return int(m.group(1))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SinkProcess:
    """smtpserver.py --sink as a child process; its rules in a file that
    can change between connections, its event log read back."""

    def __init__(self, workdir, rules=None, port=0, name='sink', certs=None):
        self.log = os.path.join(workdir, name + '.log')
        self.rules_path = os.path.join(workdir, name + '.rules.json')
        self.proc = None
        self.port = port
        self.certs = certs
        self.set_rules(rules or {})
        self.start()

    def start(self):
        self.proc = spawn([PY, tool('smtpserver.py'), '--sink',
                           '--log', self.log, '--rules', self.rules_path,
                           '--port', str(self.port)] +
                          (['--certs', self.certs] if self.certs else []))
        self.port = read_port(self.proc, 'smtpserver.py --sink')

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def set_rules(self, rules):
        check_rules(rules)
        tmp = self.rules_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(rules, f)
        os.replace(tmp, self.rules_path)
        # Rules are read again when the file's (mtime, size, inode)
        # changes: the rename gives it a new inode every time.

    def events(self, ev=None):
        return read_events(self.log, ev)

    def messages(self):
        out = self.events('msg')
        for m in out:
            m['bytes'] = base64.b64decode(m['data'])
        return out

    def connections(self):
        return len(self.events('connect'))

    def wait_messages(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages()
            if len(msgs) >= n or time.monotonic() > deadline:
                return msgs
            time.sleep(0.05)


class DelayProxy:
    """delayproxy.py as a child process."""

    def __init__(self, workdir, target_port, rtt_ms=0, down=False,
                 name='proxy'):
        self.log = os.path.join(workdir, name + '.log')
        self.proc = spawn([PY, tool('delayproxy.py'), '--target',
                           '127.0.0.1:%d' % target_port, '--rtt-ms',
                           str(rtt_ms), '--log', self.log] +
                          (['--down'] if down else []))
        self.port = read_port(self.proc, 'delayproxy.py')

    def _switch(self, sig, want):
        self.proc.send_signal(sig)
        line = self.proc.stdout.readline().decode().strip()
        if line != want:
            raise Failure('delayproxy.py answered %r, expected %s'
                          % (line, want))

    def up(self):
        self._switch(signal.SIGUSR2, 'UP')

    def down(self):
        self._switch(signal.SIGUSR1, 'DOWN')

    def connections(self):
        try:
            with open(self.log) as f:
                return sum(1 for ln in f if ln.startswith('connect'))
        except FileNotFoundError:
            return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
