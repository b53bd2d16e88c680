/* listen.h: the benchmark servers' listening socket. */
#ifndef BENCH_LISTEN_H
#define BENCH_LISTEN_H

/*
 * Listen on 127.0.0.1 at port (0: any free one) and print "PORT n" on
 * standard output once it accepts connections; -1 with errno set.
 */
int listen_on(int port);

#endif
