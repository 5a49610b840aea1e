/* A stand-in for iovm under iovd (tests/varlink/standin_daemon.sh): no KVM, no guest. It
 * prints its command line, then each SIGTERM and SIGUSR2 with the value iovd queued with it
 * (sigqueue: si_code SI_QUEUE), to stdout, which is the guest's log. What it does then comes
 * from --cmdline: "stubborn" ignores SIGTERM (a guest that does not shut down); anything
 * else ends on SIGTERM with status 0 (a guest that powers off). SIGUSR2 (a reboot request)
 * ends it with status 3, as iovm without --on-reboot restart. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *cmdline = "";
	sigset_t set;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--cmdline") == 0)
			cmdline = argv[i + 1];
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("standin: pid %d argv", (int)getpid());
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0)
			continue;
		printf("standin: %s queued=%d value=%d\n", sig == SIGTERM ? "SIGTERM" : "SIGUSR2",
		       si.si_code == SI_QUEUE, si.si_code == SI_QUEUE ? si.si_value.sival_int : -1);
		if (sig == SIGUSR2)
			return 3;
		if (!strstr(cmdline, "stubborn"))
			return 0;
	}
}
