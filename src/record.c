/* record.c: see record.h. */
#include "record.h"
