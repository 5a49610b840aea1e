/* asuser UID[:GID] PROG ARGS...: run PROG as another user (no supplementary groups), for
 * test-host scenarios that check iovd refuses changes from unprivileged peers. busybox's
 * setpriv cannot change uids, and the rig's userland has no users to su to. */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long uid, gid;
	char *end;

	if (argc < 3) {
		fprintf(stderr, "usage: asuser UID[:GID] PROG ARGS...\n");
		return 2;
	}
	uid = strtoul(argv[1], &end, 10);
	gid = *end == ':' ? strtoul(end + 1, &end, 10) : uid;
	if (*end || end == argv[1]) {
		fprintf(stderr, "asuser: '%s': want UID or UID:GID\n", argv[1]);
		return 2;
	}
	if (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0) {
		perror("asuser");
		return 127;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
