/*
 * interrupt.h: what outbox says, and puts back, when a signal ends it
 * (Ctrl-C, a kill, a hang-up): the terminal's echo turned off for a
 * password, and a line on stderr saying what became of the message.
 * Then it dies of the signal, so the caller sees how it ended.
 */
#ifndef OUTBOX_INTERRUPT_H
#define OUTBOX_INTERRUPT_H

#include <termios.h>

/* Catch SIGINT, SIGTERM and SIGHUP from now on. */
void interrupt_init(const char *prog);
/* What the line says after "interrupted; " (NULL: nothing more). */
void interrupt_note(const char *text);
/* The terminal fd to give back its settings old (fd -1: none). */
void interrupt_tty(int fd, const struct termios *old);

#endif
