#!/usr/bin/python3
"""Fill a queue directory with COUNT entries for scripts/bench.

usage: mkqueue.py --outbox PATH --conf FILE --dir QUEUE --count N
                  [--message FILE]

outbox stores one message (the configuration must say "queue always",
"queue_background off" and "queue_dir QUEUE"); that entry is then
written again COUNT times the way the queue writes its files (ID.msg,
then ID.env; mode 0600; IDs in increasing order, oldest first) and the
original removed, so that a flush sees COUNT entries the queue's trust
checks accept.  Each copy's Message-ID is its own.  Standard library only.
"""

import argparse
import os
import re
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--outbox', required=True)
    ap.add_argument('--conf', required=True)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--message')
    a = ap.parse_args()
    msg = (open(a.message, 'rb').read() if a.message else
           b'From: <alice@example.org>\nTo: <bob@example.net>\n'
           b'Subject: queued\nMessage-ID: <0@bench.test>\n\nA queued '
           b'message.\n')
    r = subprocess.run([a.outbox, '-C', a.conf, 'bob@example.net'],
                       input=msg, stderr=subprocess.PIPE)
    names = [n for n in os.listdir(a.dir) if n.endswith('.env')]
    if r.returncode != 0 or len(names) != 1:
        sys.exit('mkqueue: storing the template failed (exit %d, %d '
                 'entries): %s' % (r.returncode, len(names),
                                   r.stderr.decode(errors='replace')))
    ident = names[0][:-4]
    with open(os.path.join(a.dir, ident + '.env')) as f:
        env = f.read().splitlines()
    with open(os.path.join(a.dir, ident + '.msg'), 'rb') as f:
        content = f.read()
    os.unlink(os.path.join(a.dir, ident + '.env'))
    os.unlink(os.path.join(a.dir, ident + '.msg'))
    start = int(time.time() * 1e6) - a.count - 1000000
    for i in range(a.count):
        new = '%012X%04X' % ((start + i) & 0xFFFFFFFFFFFF, i & 0xFFFF)
        body = re.sub(rb'(?im)^Message-ID:.*$',
                      b'Message-ID: <%d@bench.test>' % i, content, count=1)
        lines = []
        for line in env:
            key = line.split(' ', 1)[0]
            if key == 'id':
                line = 'id ' + new
            elif key == 'size':
                line = 'size %d' % len(body)
            lines.append(line)
        for ext, data in (('.msg', body),
                          ('.env', ('\n'.join(lines) + '\n').encode())):
            fd = os.open(os.path.join(a.dir, new + ext),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.close(fd)


if __name__ == '__main__':
    main()
