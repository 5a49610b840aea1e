/* ptyrun [-a] PROG ARGS...: run PROG with a new pseudo-terminal as its controlling terminal
 * and stdin, as a user at a terminal would (the test host has no script(1)).
 *   -a   stdout and stderr on the terminal too; what PROG writes there is copied to
 *        ptyrun's stdout. Without -a they are ptyrun's own (a file, a pipe, /dev/null).
 * SIGUSR1 to ptyrun types the terminal's interrupt character (Ctrl-C) into it, so the line
 * discipline signals PROG's process group as it does for a person pressing Ctrl-C.
 * At the end ptyrun says on stderr whether the terminal's settings are what they were
 * before PROG ran ("ptyrun: terminal settings restored" or "... changed"), and exits with
 * PROG's status as sh reports it (128+N when killed by signal N). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t intr;

static void on_usr1(int sig)
{
	(void)sig;
	intr = 1;
}

/* One read from the master; with -a what it read goes to stdout. 0 at the end. */
static ssize_t copy_out(int m, int all)
{
	char buf[4096];
	ssize_t n = read(m, buf, sizeof(buf));

	if (n > 0 && all && write(STDOUT_FILENO, buf, (size_t)n) != n)
		return -1;
	return n;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct termios before, after;
	int all = 0, m, s, status;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		all = 1;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: ptyrun [-a] PROG ARGS...\n");
		return 2;
	}
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		perror("ptyrun: /dev/ptmx");
		return 127;
	}
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0 || tcgetattr(s, &before) < 0) {
		perror("ptyrun: the terminal's slave side");
		return 127;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pid = fork();
	if (pid < 0) {
		perror("ptyrun: fork");
		return 127;
	}
	if (pid == 0) {
		signal(SIGUSR1, SIG_DFL);
		close(m);
		if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) < 0 || dup2(s, 0) < 0 ||
		    (all && (dup2(s, 1) < 0 || dup2(s, 2) < 0))) {
			perror("ptyrun: the child's terminal");
			_exit(127);
		}
		if (s > 2)
			close(s);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	/* The parent keeps the slave open: the settings outlive the child's close, and the
	 * master never sees a hang-up before the child's status is in. */
	for (;;) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		pid_t w;

		if (intr) {
			char c = (char)before.c_cc[VINTR];

			intr = 0;
			if (write(m, &c, 1) != 1)
				perror("ptyrun: typing Ctrl-C");
		}
		if (poll(&p, 1, 100) > 0)
			copy_out(m, all);
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			perror("ptyrun: waitpid");
			return 127;
		}
	}
	while (poll(&(struct pollfd){ .fd = m, .events = POLLIN }, 1, 0) > 0 && copy_out(m, all) > 0)
		;
	if (tcgetattr(s, &after) < 0) {
		perror("ptyrun: tcgetattr after");
		return 127;
	}
	fprintf(stderr, "ptyrun: terminal settings %s\n",
		before.c_iflag == after.c_iflag && before.c_oflag == after.c_oflag &&
		before.c_lflag == after.c_lflag && before.c_cflag == after.c_cflag &&
		memcmp(before.c_cc, after.c_cc, sizeof(before.c_cc)) == 0 ? "restored" : "changed");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
}
