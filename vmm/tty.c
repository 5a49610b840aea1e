/* The kernel's struct termios (asm/termbits.h), not glibc's: what TCGETS fills is what
 * TCSETS takes back, with no conversion in between. This file must not include <termios.h>. */
#include "vmm/tty.h"

#include <asm/termbits.h>
#include <sys/ioctl.h>

static struct termios saved;
static int saved_fd = -1;

int iovm_tty_raw(int fd)
{
	struct termios t;

	/* TCGETS fails (ENOTTY) on anything but a terminal: that is the isatty test. */
	if (fd < 0 || ioctl(fd, TCGETS, &saved) < 0)
		return 0;
	t = saved;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_lflag |= ISIG;		/* Ctrl-C still ends iovm */
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_oflag |= OPOST | ONLCR;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (ioctl(fd, TCSETS, &t) < 0)
		return 0;
	saved_fd = fd;
	return 1;
}

int iovm_tty_fd(void)
{
	return saved_fd;
}

void iovm_tty_restore(void)
{
	if (saved_fd >= 0)
		ioctl(saved_fd, TCSETS, &saved);
}
