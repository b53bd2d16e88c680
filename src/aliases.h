#ifndef OUTBOX_ALIASES_H
#define OUTBOX_ALIASES_H
#endif
