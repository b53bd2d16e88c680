#!/usr/bin/python3
"""A TCP proxy on loopback that adds latency and can be taken down.

usage: delayproxy.py --target HOST:PORT [--rtt-ms N] [--port P]
                     [--log FILE] [--down]

Listens on 127.0.0.1:P (P 0: an ephemeral port) and prints "PORT n" on
stdout once it is ready.  Every connection is forwarded to the target;
each chunk read from either side is written to the other side N/2
milliseconds later (order kept), so that every request and reply pays N
ms of round trip in all (0, the default, forwards at once).

SIGUSR1 takes the proxy down: the listening socket is closed (new
connections are refused) and every open connection is reset.  SIGUSR2
brings it back on the same port.  --down starts it down (it still prints
the port it reserved and will listen on).  SIGTERM ends it.

With --log FILE, one line per accepted connection ("connect N") is
appended, so tests can count connections.

Standard library only.
"""

import argparse
import asyncio
import signal
import socket
import sys
import time


class Proxy:
    def __init__(self, args):
        host, _, port = args.target.rpartition(':')
        self.target = (host, int(port))
        self.delay = args.rtt_ms / 2000.0
        self.port = args.port
        self.server = None
        self.conns = set()
        self.count = 0
        self.log = open(args.log, 'a') if args.log else None

    async def up(self):
        if self.server is not None:
            return
        self.server = await asyncio.start_server(
            self.handle, '127.0.0.1', self.port, reuse_address=True,
            backlog=128)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for w in list(self.conns):
            sock = w.get_extra_info('socket')
            try:
                # A reset, not an orderly close: the server went away.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                b'\x01\x00\x00\x00\x00\x00\x00\x00')
            except OSError:
                pass
            w.transport.abort()
        self.conns.clear()

    async def pump(self, reader, writer):
        """Forward reader to writer, each chunk DELAY seconds late."""
        queue = asyncio.Queue()

        async def feed():
            try:
                while True:
                    data = await reader.read(65536)
                    await queue.put((time.monotonic() + self.delay, data))
                    if not data:
                        return
            except (ConnectionError, OSError):
                await queue.put((time.monotonic(), b''))

        feeder = asyncio.ensure_future(feed())
        try:
            while True:
                when, data = await queue.get()
                left = when - time.monotonic()
                if left > 0:
                    await asyncio.sleep(left)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            feeder.cancel()

    async def handle(self, creader, cwriter):
        self.count += 1
        if self.log:
            self.log.write('connect %d\n' % self.count)
            self.log.flush()
        try:
            sreader, swriter = await asyncio.open_connection(*self.target)
        except OSError:
            cwriter.transport.abort()
            return
        for w in (cwriter, swriter):
            w.get_extra_info('socket').setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conns.update((cwriter, swriter))
        try:
            await asyncio.gather(self.pump(creader, swriter),
                                 self.pump(sreader, cwriter))
        finally:
            for w in (cwriter, swriter):
                self.conns.discard(w)
                w.close()


async def main_async(args):
    proxy = Proxy(args)
    loop = asyncio.get_running_loop()
    if args.down:
        # Reserve a port number to report, then stay down.
        if proxy.port == 0:
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            proxy.port = s.getsockname()[1]
            s.close()
    else:
        await proxy.up()
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)

    async def switch(up):
        await (proxy.up() if up else proxy.down())
        sys.stdout.write('UP\n' if up else 'DOWN\n')
        sys.stdout.flush()

    loop.add_signal_handler(signal.SIGUSR1,
                            lambda: asyncio.ensure_future(switch(False)))
    loop.add_signal_handler(signal.SIGUSR2,
                            lambda: asyncio.ensure_future(switch(True)))
    # Only now: a signal sent right after "PORT" must find the handlers.
    sys.stdout.write('PORT %d\n' % proxy.port)
    sys.stdout.flush()
    await stop.wait()
    await proxy.down()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--target', required=True)
    ap.add_argument('--rtt-ms', type=float, default=0.0)
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--log')
    ap.add_argument('--down', action='store_true')
    args = ap.parse_args()
    asyncio.run(main_async(args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
