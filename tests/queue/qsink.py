#!/usr/bin/python3
"""A recording SMTP/LMTP sink on loopback for outbox's queue tests.

usage: qsink.py --log FILE [--rules FILE] [--port N] [--host 127.0.0.1]

Listens on HOST:PORT (PORT 0: an ephemeral port) and prints "PORT n" on
stdout once it accepts connections.  Serves any number of connections at
once until SIGTERM.  Every event is appended to the log FILE as one JSON
object per line, written and flushed before the reply that follows it:

  {"ev": "connect", "conn": N, "t": T}
  {"ev": "msg", "conn": N, "sender": ADDR, "mail": MAIL-LINE,
   "rcpt": [ADDR...], "seq": X-Seq,
   "msgid": Message-ID, "size": BYTES, "sha256": HEX, "data": BASE64,
   "t_dot": T, "t_reply": T}
  {"ev": "refused", "conn": N, "stage": STAGE, "reply": LINE, "t": T}
  {"ev": "close", "conn": N, "quit": BOOL, "t": T}

T is time.monotonic() (CLOCK_MONOTONIC, comparable across processes on
Linux).  "t_dot" is when the end of the message was read, "t_reply" the moment
the accepting reply is about to be written (the event is on disk first).  "data" is the message as received,
dot-unstuffed (or the BDAT content), so that it can be compared with what
was queued.  A "msg" event is logged only for recipients the server
accepted after the content (all of them for SMTP, the 2xx ones for LMTP).

Behaviour comes from the rules FILE (JSON), read again whenever it changed,
at the start of each connection; a missing file means "accept everything".
Keys (all optional):

  "greeting":  "220 ..." (default), "421 4.3.2 busy", "close", "sleep N"
  "lmtp":      true: expect LHLO; per-recipient replies after the content
  "chunking":  true: offer CHUNKING and take BDAT
  "starttls":  true: offer STARTTLS; the handshake is then cut ("tls_cut"
               is implied: the server reads the ClientHello and closes)
  "mail", "rcpt", "data", "dot":
               the reply at that stage: a reply line ("450 4.2.0 later"),
               "close" (drop the connection without a reply) or "sleep N"
               (say nothing for N seconds, then close)
  "rcpt_by":   {"SUBSTRING": REPLY}: the reply to RCPT for recipients
               containing SUBSTRING (overrides "rcpt")
  "dot_by":    {"SUBSTRING": REPLY}: per-recipient reply after the content
               (LMTP), or the reply to the dot when any recipient matches
  "dot_delay": seconds to wait before answering the dot (slow server)
  "first_n":   apply the rules to the first N connections only (counted
               from the time the rules changed); later ones accept all

Standard library only.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import socket
import sys
import time

ACCEPT = {
    'greeting': '220 sink.example ESMTP queue test sink',
    'mail': '250 2.1.0 Ok',
    'rcpt': '250 2.1.5 Ok',
    'data': '354 End data with <CR><LF>.<CR><LF>',
    'dot': '250 2.0.0 Ok: queued',
}


class Closed(Exception):
    pass


class Sink:
    def __init__(self, log_path, rules_path):
        self.log = open(log_path, 'a', encoding='utf-8')
        self.rules_path = rules_path
        self.rules = {}
        self.rules_stamp = None
        self.rules_conns = 0
        self.conns = 0

    def event(self, **kw):
        self.log.write(json.dumps(kw, sort_keys=True) + '\n')
        self.log.flush()

    def current_rules(self):
        stamp = None
        if self.rules_path:
            try:
                st = os.stat(self.rules_path)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                stamp = None
        if stamp != self.rules_stamp:
            self.rules_stamp = stamp
            self.rules_conns = 0
            self.rules = {}
            if stamp is not None:
                with open(self.rules_path, encoding='utf-8') as f:
                    self.rules = json.load(f)
        self.rules_conns += 1
        n = self.rules.get('first_n')
        if n is not None and self.rules_conns > n:
            return {}
        return dict(self.rules)

    async def serve(self, reader, writer):
        self.conns += 1
        conn = self.conns
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rules = self.current_rules()
        self.event(ev='connect', conn=conn, t=time.monotonic())
        quit_seen = False
        try:
            quit_seen = await self.session(conn, rules, reader, writer)
        except (Closed, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.event(ev='close', conn=conn, quit=quit_seen,
                       t=time.monotonic())
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def act(self, conn, stage, rules, writer, default=None):
        """Answer at STAGE as the rules say.  Returns the reply line sent;
        raises Closed when the connection is to end."""
        reply = rules.get(stage, default or ACCEPT[stage])
        if reply == 'close' or reply.startswith('sleep '):
            self.event(ev='refused', conn=conn, stage=stage, reply=reply,
                       t=time.monotonic())
            if reply.startswith('sleep '):
                await asyncio.sleep(float(reply.split()[1]))
            raise Closed()
        await self.say(writer, reply)
        if not reply.startswith(('2', '3')):
            self.event(ev='refused', conn=conn, stage=stage, reply=reply,
                       t=time.monotonic())
        return reply

    async def say(self, writer, line):
        writer.write(line.encode('utf-8') + b'\r\n')
        await writer.drain()

    async def readline(self, reader):
        line = await reader.readline()
        if not line:
            raise Closed()
        return line

    async def session(self, conn, rules, reader, writer):
        greeting = await self.act(conn, 'greeting', rules, writer)
        if not greeting.startswith('2'):
            # RFC 5321 4.3.2: after a 421 greeting, wait for QUIT.
            try:
                line = await asyncio.wait_for(reader.readline(), 5)
                if line.upper().startswith(b'QUIT'):
                    await self.say(writer, '221 2.0.0 Bye')
            except asyncio.TimeoutError:
                pass
            return False
        lmtp = bool(rules.get('lmtp'))
        mail_from = mail_line = None
        rcpts = []
        while True:
            line = await self.readline(reader)
            text = line.rstrip(b'\r\n').decode('utf-8', 'replace')
            verb = text.split(' ', 1)[0].upper()
            if verb in ('EHLO', 'HELO', 'LHLO'):
                caps = ['sink.example', 'PIPELINING', '8BITMIME',
                        'ENHANCEDSTATUSCODES', 'SIZE 100000000']
                if rules.get('chunking'):
                    caps.append('CHUNKING')
                if rules.get('starttls'):
                    caps.append('STARTTLS')
                for i, c in enumerate(caps):
                    await self.say(writer, '250%s%s' % (
                        ' ' if i == len(caps) - 1 else '-', c))
            elif verb == 'STARTTLS':
                await self.say(writer, '220 2.0.0 Ready to start TLS')
                # Read the ClientHello, then cut the handshake.
                try:
                    await asyncio.wait_for(reader.read(5), 5)
                except asyncio.TimeoutError:
                    pass
                self.event(ev='refused', conn=conn, stage='tls',
                           reply='cut', t=time.monotonic())
                raise Closed()
            elif verb == 'MAIL':
                mail_from = None
                rcpts = []
                reply = await self.act(conn, 'mail', rules, writer)
                if reply.startswith('2'):
                    m = re.match(r'(?i)MAIL FROM:<([^>]*)>', text)
                    mail_from = m.group(1) if m else text
                    mail_line = text
            elif verb == 'RCPT':
                m = re.match(r'(?i)RCPT TO:<([^>]*)>', text)
                addr = m.group(1) if m else text
                default = None
                for sub, r in rules.get('rcpt_by', {}).items():
                    if sub in addr:
                        default = r
                        break
                r = default or rules.get('rcpt', ACCEPT['rcpt'])
                reply = await self.act(conn, 'rcpt', {'rcpt': r}, writer)
                if reply.startswith('2') and mail_from is not None:
                    rcpts.append(addr)
            elif verb == 'DATA':
                if mail_from is None or not rcpts:
                    await self.say(writer, '554 5.5.1 No valid recipients')
                    continue
                await self.act(conn, 'data', rules, writer)
                if not rules.get('data', '354').startswith('3'):
                    continue
                raw = bytearray()
                while True:
                    ln = await self.readline(reader)
                    if ln == b'.\r\n':
                        break
                    raw += ln[1:] if ln.startswith(b'.') else ln
                await self.finish(conn, rules, writer, mail_from, rcpts,
                                  bytes(raw), lmtp, mail_line)
                mail_from, rcpts = None, []
            elif verb == 'BDAT':
                m = re.match(r'(?i)BDAT (\d+)( LAST)?$', text)
                if not m:
                    await self.say(writer, '501 5.5.4 Syntax error')
                    continue
                raw = await reader.readexactly(int(m.group(1)))
                if not m.group(2):
                    # Only single-chunk messages are expected; keep going.
                    await self.say(writer, '250 2.0.0 chunk ok')
                    continue
                if mail_from is None or not rcpts:
                    await self.say(writer, '554 5.5.1 No valid recipients')
                    continue
                await self.finish(conn, rules, writer, mail_from, rcpts,
                                  raw, lmtp, mail_line)
                mail_from, rcpts = None, []
            elif verb in ('RSET', 'NOOP'):
                mail_from, rcpts = None, []
                await self.say(writer, '250 2.0.0 Ok')
            elif verb == 'QUIT':
                await self.say(writer, '221 2.0.0 Bye')
                return True
            else:
                await self.say(writer, '502 5.5.2 Command not recognised')

    async def finish(self, conn, rules, writer, mail_from, rcpts, raw, lmtp,
                     mail_line):
        t_dot = time.monotonic()
        delay = rules.get('dot_delay')
        if delay:
            await asyncio.sleep(float(delay))
        replies = []
        for addr in rcpts:
            r = rules.get('dot', ACCEPT['dot'])
            for sub, rr in rules.get('dot_by', {}).items():
                if sub in addr:
                    r = rr
                    break
            replies.append(r)
        if not lmtp:
            # One reply for the transaction: the first that is not 2xx.
            bad = [r for r in replies if not r.startswith('2')]
            replies = [bad[0] if bad else replies[0]]
        if any(r == 'close' or r.startswith('sleep ') for r in replies):
            r = [r for r in replies if r == 'close' or
                 r.startswith('sleep ')][0]
            await self.act(conn, 'dot', {'dot': r}, writer)
        accepted = [a for a, r in zip(rcpts, replies) if r.startswith('2')] \
            if lmtp else (list(rcpts) if replies[0].startswith('2') else [])
        seq = re.search(rb'(?im)^X-Seq:[ \t]*(\S+)', raw)
        msgid = re.search(rb'(?im)^Message-ID:[ \t]*(\S+)', raw)
        rec = dict(ev='msg', conn=conn, sender=mail_from, rcpt=accepted,
                   mail=mail_line,
                   seq=seq.group(1).decode('ascii', 'replace') if seq
                   else None,
                   msgid=msgid.group(1).decode('ascii', 'replace') if msgid
                   else None,
                   size=len(raw), sha256=hashlib.sha256(raw).hexdigest(),
                   data=base64.b64encode(raw).decode('ascii'), t_dot=t_dot)
        for r in replies:
            if not r.startswith('2'):
                self.event(ev='refused', conn=conn, stage='dot', reply=r,
                           t=time.monotonic())
        if accepted:
            # Logged before the reply: once the client can have seen the
            # 250, the delivery is on record.
            rec['t_reply'] = time.monotonic()
            self.event(**rec)
        for r in replies:
            writer.write(r.encode('utf-8') + b'\r\n')
        await writer.drain()


async def main_async(args):
    sink = Sink(args.log, args.rules)
    srv = await asyncio.start_server(sink.serve, args.host, args.port,
                                     reuse_address=True, backlog=128)
    port = srv.sockets[0].getsockname()[1]
    sys.stdout.write('PORT %d\n' % port)
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    srv.close()
    sink.log.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--log', required=True)
    ap.add_argument('--rules')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--host', default='127.0.0.1')
    args = ap.parse_args()
    asyncio.run(main_async(args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
