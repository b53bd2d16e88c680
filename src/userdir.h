/*
 * userdir.h: where a user's files are.  A user file is never looked for
 * relative to / or the current directory: HOME counts only when it is an
 * absolute path (otherwise the password database's home directory), and
 * an XDG_* variable only when absolute (the XDG Base Directory
 * specification says to ignore a relative one).
 */
#ifndef OUTBOX_USERDIR_H
#define OUTBOX_USERDIR_H

/* The home directory, malloc'd; NULL when there is none ("/" is none). */
char *userdir_home(void);
/*
 * $VAR when it is absolute, else HOME/FALLBACK (".config", ".local/state"),
 * malloc'd; NULL when neither exists.
 */
char *userdir_xdg(const char *var, const char *fallback);

#endif
