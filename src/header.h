/*
 * header.h: what outbox reads from and does to the message's header
 * fields: recipients for -t, the envelope sender for
 * --read-envelope-from, Bcc removal, and the fields it adds.
 */
#ifndef OUTBOX_HEADER_H
#define OUTBOX_HEADER_H

#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "error.h"
#include "msg.h"

enum header_set {
	HEADER_OFF,
	HEADER_AUTO, /* add when missing */
	HEADER_ON,   /* replace what is there */
};

enum header_to {
	HEADER_TO_OFF,
	HEADER_TO_ON,	       /* one To: listing the envelope recipients */
	HEADER_TO_UNDISCLOSED, /* To: undisclosed-recipients:; */
};

struct header_policy {
	int remove_bcc;
	enum header_set from;
	enum header_set date;  /* OFF or AUTO */
	enum header_set msgid; /* OFF or AUTO */
	enum header_to to;
	const char *from_addr; /* the envelope sender ("" for none) */
	const char *full_name; /* or NULL */
	const char *msgid_domain;
	const char *const *rcpt; /* the envelope recipients */
	size_t nrcpt;
	time_t now;
};

/*
 * -t: the recipients in To, Cc and Bcc, or, when the message was resent,
 * in the first block of Resent-To, Resent-Cc and Resent-Bcc.
 */
int header_recipients(const struct msg *, struct addrlist *, struct error *);
/* The address in the first From (or Resent-From, if first); malloc'd. */
char *header_sender(const struct msg *, struct error *);
/* Drop and add fields as the policy says. */
int header_apply(struct msg *, const struct header_policy *, struct error *);
/* "Name <addr>", the name quoted or RFC 2047-encoded as it needs. */
char *header_mailbox(const char *full_name, const char *addr);

#endif
