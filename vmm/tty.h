/* The console terminal: raw mode while the guest runs, the user's settings back at exit.
 * Both go through the kernel's TCGETS/TCSETS directly (not glibc's tcsetattr, which follows
 * TCSETS with a TCGETS to check the result): the restore runs under the seccomp allow-list,
 * which permits exactly one terminal call, TCSETS on this fd. */
#ifndef IOVM_TTY_H
#define IOVM_TTY_H

/* When fd is a terminal: saves its settings, then makes it raw (but Ctrl-C still signals,
 * and output still turns \n into \r\n). Returns 1 if it did, 0 if fd is not a terminal. */
int iovm_tty_raw(int fd);
/* The fd made raw, or -1. */
int iovm_tty_fd(void);
/* Puts back what iovm_tty_raw saved (one TCSETS); nothing when it saved nothing. */
void iovm_tty_restore(void);

#endif
