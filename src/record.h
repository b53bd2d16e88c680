#ifndef OUTBOX_RECORD_H
#define OUTBOX_RECORD_H
#endif
