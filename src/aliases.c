/* aliases.c: see aliases.h. */
#include "aliases.h"
