/* sd_notify(3) over $NOTIFY_SOCKET: see lib/sdnotify.h. */
#include "lib/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int iov_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n, len = strlen(state);
	socklen_t salen;
	ssize_t w;
	int fd, ret = 1;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	/* Absolute path, or "@" for an abstract address (sun_path[0] = 0, no terminator). */
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, n);
	salen = offsetof(struct sockaddr_un, sun_path) + n;
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	else
		salen++;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	do
		w = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		ret = -errno;
	else if ((size_t)w != len)
		ret = -EMSGSIZE;
	close(fd);
	return ret;
}
