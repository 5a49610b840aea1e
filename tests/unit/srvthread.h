/* A varlink server running its loop on a thread of a unit test, until the test stops it:
 * what every in-process daemon test needs. Register every other fd the test wants watched
 * (vl_server_watch) before srvthread_start. */
#ifndef IOV_TESTS_SRVTHREAD_H
#define IOV_TESTS_SRVTHREAD_H

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/varlink.h"

struct srvthread {
	struct vl_server *srv;
	pthread_t thr;
	int stop[2];
};

static void srvthread_on_stop(int fd, void *ud)
{
	vl_server_quit(ud);
}

static void *srvthread_main(void *arg)
{
	vl_server_run(arg);
	return NULL;
}

/* 0, or -1 if the pipe, the watch or the thread could not be had. */
static inline int srvthread_start(struct srvthread *t, struct vl_server *srv)
{
	t->srv = srv;
	if (pipe(t->stop) < 0)
		return -1;
	if (vl_server_watch(srv, t->stop[0], srvthread_on_stop, srv) < 0 ||
	    pthread_create(&t->thr, NULL, srvthread_main, srv) != 0)
		return -1;
	return 0;
}

/* Ends the loop and joins the thread; the server itself is the caller's to free. */
static inline void srvthread_stop(struct srvthread *t)
{
	if (write(t->stop[1], "x", 1) == 1)
		pthread_join(t->thr, NULL);
	close(t->stop[1]);
}

/* A server listening on DIR/io.test, DIR a new folder made from tmpl ("/tmp/test_x.XXXXXX";
 * dir and path hold at least 64 and 96 bytes). NULL if the folder, the socket or the server
 * could not be had. */
static inline struct vl_server *srvthread_listen(char *dir, char *path, const char *tmpl,
						 const struct vl_service_info *info,
						 const struct vl_interface *iface)
{
	int lfd;

	snprintf(dir, 64, "%s", tmpl);
	if (!mkdtemp(dir))
		return NULL;
	snprintf(path, 96, "%s/io.test", dir);
	if ((lfd = vl_listen(path)) < 0)
		return NULL;
	return vl_server_new(lfd, info, iface, (gid_t)-1, NULL);
}

/* How many fds this process has open (the /proc/self/fd listing's own included). */
static inline int srvthread_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

#endif
