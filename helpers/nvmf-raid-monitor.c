/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-monitor VOLUME: watches an attached volume and keeps its
 * replicas in the array (nvmf-raid-monitor@.service, bound to
 * nvmf-raid@VOLUME.service).
 *
 * Why a process of our own and not mdadm --monitor: mdadm polls every 60 s
 * by default and knows nothing of namespaces coming back.  Here every wake
 * up is an event: md notifies sysfs pollers when a member's state, the
 * array's degraded count or its sync action change, and udev reports the
 * volume's namespaces (tagged by 63-nvmf-raid.rules) as they come, change
 * and go.  The only timer is the retry of a connect the kernel gave up
 * (ctrl-loss-tmo expired), every reconnect-delay seconds, as the kernel
 * itself would have retried.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/descriptor.h"
#include "lib/device.h"
#include "lib/event.h"
#include "lib/exit-status.h"
#include "lib/helper.h"
#include "lib/fabrics.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/md.h"
#include "lib/rebuild.h"
#include "lib/reconcile.h"
#include "lib/volume.h"

#define MAX_WATCH (3 + VOL_REPLICAS_MAX * 2)

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* The md sysfs attributes that notify pollers: the array's degraded count
 * and sync action, and each member's state. */
static unsigned open_watches(const char *mddev, struct pollfd *p, unsigned max)
{
	_cleanup_closedir_ DIR *d = NULL;
	const char *base = strrchr(mddev, '/');
	char dir[PATH_MAX], path[PATH_MAX + 320];
	struct dirent *de;
	unsigned n = 0;

	snprintf(dir, sizeof(dir), "/sys/block/%s/md", base ? base + 1 : mddev);
	for (const char *attr = "degraded"; attr; attr = streq(attr, "degraded") ? "sync_action" : NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, attr);
		p[n].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (p[n].fd >= 0)
			n++;
	}
	d = opendir(dir);
	while (d && (de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, "dev-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/state", dir, de->d_name);
		p[n].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (p[n].fd >= 0)
			n++;
	}
	for (unsigned i = 0; i < n; i++) {
		char buf[256];

		/* sysfs: read once, then poll for POLLPRI|POLLERR. */
		(void)!pread(p[i].fd, buf, sizeof(buf), 0);
		p[i].events = POLLPRI | POLLERR;
	}
	return n;
}

static void close_watches(struct pollfd *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i].fd = safe_close(p[i].fd);
}

static int monitor(const char *name)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(udev_monitor_unrefp) struct udev_monitor *mon = NULL;
	_cleanup_free_ char *mddev = NULL;
	struct pollfd p[2 + MAX_WATCH];
	unsigned n = 0;
	int r, retry_ms = -1;

	if (!udev)
		return log_oom();
	r = dev_monitor_open(udev, &mon);
	if (r < 0)
		return log_error_errno(r, "%s: failed to listen to udev: %m", name);
	p[0] = (struct pollfd){ .fd = udev_monitor_get_fd(mon), .events = POLLIN };

	log_info("%s: monitoring.", name);
	while (!stop) {
		/* Watch first, then look: a change between the two would
		 * otherwise go unnoticed.  A pass that acted (re-added a
		 * member, so new sysfs files) is followed by another. */
		for (int pass = 0; pass < 4; pass++) {
			char *now = NULL;

			close_watches(p + 1, n);
			n = mddev ? open_watches(mddev, p + 1, MAX_WATCH) : 0;
			r = reconcile_volume(udev, name, &now, &retry_ms);
			if (r == -ENOENT) {
				log_info("%s: no longer attached; monitor exits.", name);
				close_watches(p + 1, n);
				return 0;
			}
			/* The array appeared, went, or a pass acted: again. */
			if (r <= 0 && streq(now, mddev) == !!now) {
				free(now);
				break;
			}
			free(mddev);
			mddev = now;
		}

		/* Waiting for a rebuild slot: woken when one frees (rebuild.h). */
		p[1 + n] = (struct pollfd){ .fd = rebuild_wait_fd(), .events = POLLIN };
		r = poll(p, 2 + n, retry_ms);
		if (r < 0 && errno != EINTR)
			return log_error_errno(errno, "%s: poll failed: %m", name);
		if (r > 0 && (p[0].revents & POLLIN)) {
			/* Drain: one reconcile covers a burst of events. */
			struct udev_device *d;

			while ((d = udev_monitor_receive_device(mon)))
				udev_device_unref(d);
		}
		if (r > 0 && (p[1 + n].revents & POLLIN))
			rebuild_wait_drain();
		/* notify programs are started, not waited for (event.c): reap
		 * the finished ones.  mdadm runs are waited for by exec_run(),
		 * so none of theirs is left to take here. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	close_watches(p + 1, n);
	return 0;
}

static int monitor_main(const char *name)
{
	return monitor(name) < 0 ? EXIT_FAILED : EXIT_OK;
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return helper_main(argc, argv, "nvmf-raid-monitor",
			   "Watch an attached nvmf-raid volume: record replicas md fails, re-add\n"
			   "them when their namespaces return, keep the in-sync record.  Run by\n"
			   "nvmf-raid-monitor@VOLUME.service; see nvmf-raid@.service(8).\n",
			   monitor_main);
}
