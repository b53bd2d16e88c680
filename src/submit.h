/* submit.h: one submission over one connection: the driver. */
#ifndef OUTBOX_SUBMIT_H
#define OUTBOX_SUBMIT_H

#include "error.h"
#include "msg.h"
#include "smtp.h"
#include "tls.h"

struct submit_conf {
	const char *host; /* ASCII */
	int port;
	const char *source_ip;
	int timeout; /* seconds; 0: the defaults */
	int tls;
	int starttls;
	struct tls_conf tls_conf;
	struct smtp_params smtp;
};

/* Connect, run the engine to the end, and say what happened. */
int submit(const struct submit_conf *, struct msg *, struct error *);

#endif
