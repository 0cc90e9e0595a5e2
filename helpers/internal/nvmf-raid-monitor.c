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
 *
 * Beside the replicas, every pass looks at what users see (health.c): the
 * device link, which udev can drop, and md's array state; a change of
 * either wakes the monitor (inotify on /dev/nvmf-raid, array_state).
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

#include "descriptor.h"
#include "device.h"
#include "event.h"
#include "exec.h"
#include "exit-status.h"
#include "helper.h"
#include "fabrics.h"
#include "failover.h"
#include "fileio.h"
#include "health.h"
#include "log.h"
#include "md.h"
#include "rebuild.h"
#include "reconcile.h"
#include "volume.h"

#define MAX_WATCH (3 + VOL_REPLICAS_MAX * 2)
#define FIXED_FDS 4 /* udev monitor, inotify of the device link, rebuild slot wake-up, SIGTERM */

/* How often the paths of an array's members are sampled (failover.h):
 * the kernel tells no one when a controller stops being live or a request
 * stops completing. */
#define SAMPLE_MS 250
/* After this many quiet samples in a row (fo_quiet()), the paths are
 * sampled only every fast-io-fail-tmo seconds: an idle host's monitors
 * then wake twice a minute, not four times a second.  A write ends the
 * quiet spell at once, through md's array_state (clean to active, watched
 * for the passes); a read that stalls on a replica in the quiet spell is
 * seen at the next sample, so it fails over within twice
 * fast-io-fail-tmo instead of once. */
#define QUIET_SAMPLES 4

static volatile sig_atomic_t stop;
/* The self-pipe: a SIGTERM that comes while a pass runs, after the loop
 * looked at stop and before poll() waits, would otherwise be seen only
 * at the next event.  With one replica poll() has no timeout: systemctl
 * stop waited 90 s for the SIGKILL (Debian 13 guest, attach_test). */
static int term_pipe[2] = { -EBADF, -EBADF };

static void on_term(int sig)
{
	int saved = errno;

	(void)sig;
	stop = 1;
	if (term_pipe[1] >= 0)
		(void)!write(term_pipe[1], "", 1);
	errno = saved;
}

/* What each md watch showed when last read (watch_news()). */
static char watch_val[MAX_WATCH][MD_WATCH_VAL_MAX];

static void watch_read(int fd, char val[static MD_WATCH_VAL_MAX])
{
	ssize_t k = pread(fd, val, MD_WATCH_VAL_MAX - 1, 0);

	val[k > 0 ? k : 0] = 0;
	val[strcspn(val, "\n")] = 0;
}

/* The md sysfs attributes that notify pollers (md_open_watches()). */
static unsigned open_watches(const char *mddev, struct pollfd *p, unsigned max)
{
	int fds[max];
	unsigned n = md_open_watches(mddev, fds, watch_val, max);

	for (unsigned i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLPRI | POLLERR };
	return n;
}

static bool array_running(const char *state)
{
	return streq(state, "clean") || streq(state, "active") || streq(state, "active-idle") ||
	       streq(state, "write-pending");
}

/* Whether md's notification on watch @i is news to a pass: not when the
 * array only went from clean to active or back, which md tells on every
 * write after 200 ms without one (safe_mode_delay), and a pass each time
 * cost a monitor more CPU than its samples. */
static bool watch_news(const struct pollfd *p, unsigned i)
{
	char now[MD_WATCH_VAL_MAX];
	bool news;

	watch_read(p->fd, now);
	news = !(array_running(now) && array_running(watch_val[i]));
	memcpy(watch_val[i], now, sizeof(now));
	return news;
}

static void close_watches(struct pollfd *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i].fd = safe_close(p[i].fd);
}

/* Whether failing subsystem @nqn over costs no other attached volume its
 * data: deleting a controller drops the namespaces of every volume on it
 * (a shared subsystem), so each of them must have another in-sync replica
 * that is reachable. */
static bool others_can_lose(const char *self, const char *nqn, char ret_who[static VOL_NAME_MAX + 1])
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;

	if (desc_open_runtime_dir(false, &fd) < 0 || !(dir = fdopendir(fd)))
		return true;
	TAKE_FD(fd);
	while ((de = readdir(dir))) {
		_cleanup_desc_ struct desc *d = NULL;
		char name[VOL_NAME_MAX + 1];
		size_t n = strlen(de->d_name);
		bool uses = false, other = false;

		if (de->d_name[0] == '.' || n <= 5 || n - 5 > VOL_NAME_MAX ||
		    !streq(de->d_name + n - 5, ".json"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		if (streq(name, self) || desc_read(name, &d) < 0)
			continue;
		for (unsigned i = 0; i < d->n_replicas; i++) {
			if (streq(d->replicas[i].nqn, nqn))
				uses = true;
			else if (d->replicas[i].state == STATE_IN_SYNC && fab_ctrl_live(d->replicas[i].nqn))
				other = true;
		}
		if (uses && !other) {
			snprintf(ret_who, VOL_NAME_MAX + 1, "%s", name);
			return false;
		}
	}
	return true;
}

/* One sample of every member's paths; fails over the lost ones that may
 * be, and tells when no data is reachable (suspended) and when it is
 * again (resumed).  Return: true if a replica is being failed over. */
/* Tells when no in-sync replica is reachable (suspended) and when one is
 * again (resumed). */
static void suspend_tick(struct fo_volume *fo, uint64_t now)
{
	const char *notify = fo->notify[0] ? fo->notify : NULL;
	bool all_lost = fo_all_lost(fo);

	if (all_lost && !fo->suspended) {
		fo->suspended = true;
		fo->suspended_since = now;
		event_emit(EVENT_SUSPENDED, fo->volume, NULL, notify,
			   "%s: no in-sync replica is reachable; I/O waits until one returns.",
			   fo->volume);
	} else if (!all_lost && fo->suspended) {
		/* The others went at the same time and may be a moment behind:
		 * they get fast-io-fail-tmo from now before they are failed. */
		for (unsigned i = 0; i < fo->n; i++)
			if (fo->r[i].bad_since) {
				fo->r[i].bad_since = now;
				fo->r[i].lost = false;
			}
		fo->suspended = false;
		event_emit(EVENT_RESUMED, fo->volume, NULL, notify,
			   "%s: an in-sync replica is reachable again after %.1f s; I/O goes on.",
			   fo->volume, (double)(now - fo->suspended_since) / 1e6);
	}
}

/* One sample of every member's paths; fails over the lost ones that may
 * be.  Return: true if a replica is being failed over. */
static bool failover_tick(struct fo_volume *fo)
{
	uint64_t now = now_usec(), tmo = (uint64_t)fo->tmo_sec * 1000000;
	struct fo_sample smp[VOL_REPLICAS_MAX] = {};
	char who[VOL_NAME_MAX + 1];
	bool acted = false;

	for (unsigned i = 0; i < fo->n; i++) {
		struct fo_track *t = &fo->r[i];

		(void)fo_sample(t, fo->fail_over ? fo_io_timeout_ms(fo->tmo_sec) : 0, &smp[i]);
		(void)fo_update(t, &smp[i], now, tmo);
	}
	suspend_tick(fo, now);

	for (unsigned i = 0; fo->fail_over && i < fo->n; i++) {
		struct fo_track *t = &fo->r[i];

		if (!t->lost || !t->member || t->deleting > 0 || smp[i].paths == 0)
			continue;
		if (!fo_can_fail(fo, i))
			continue;
		if (!others_can_lose(fo->volume, t->nqn, who)) {
			if (!t->held)
				log_warning("%s: replica %s is lost but not failed over: its subsystem %s also serves "
					    "volume %s, which has no other replica reachable.",
					    fo->volume, t->name, t->nqn, who);
			t->held = true;
			continue;
		}
		t->held = false;
		t->deleting = fo_delete_ctrls(t->nqn);
		if (t->deleting < 0) {
			log_warning_errno(t->deleting, "%s: cannot fail replica %s over: %m",
					  fo->volume, t->name);
			t->deleting = 0;
			continue;
		}
		log_warning("%s: replica %s %s for %.1f s; failing it over (its controllers are deleted, "
			    "then connected again).",
			    fo->volume, t->name,
			    smp[i].live ? "has I/O in flight and none completing" : "is unreachable",
			    (double)(now - t->bad_since) / 1e6);
		acted = true;
	}
	return acted;
}

struct tick_ctx {
	struct fo_volume *fo;
	char *const *mddev;
};

/* While an mdadm run waits (exec_set_wait_hook()): the failover goes on,
 * or md waits for a member that only a failover lets go. */
static void tick_while_waiting(void *userdata)
{
	const struct tick_ctx *c = userdata;

	if (*c->mddev)
		(void)failover_tick(c->fo);
}

static void reap(struct fo_volume *fo)
{
	pid_t pid;
	int status;

	/* notify programs are started, not waited for (event.c), and so are
	 * the failover and connect children; mdadm runs are waited for by
	 * exec_run(), so none of theirs is left to take here. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (unsigned i = 0; i < fo->n; i++) {
			if (fo->r[i].deleting == pid)
				fo->r[i].deleting = 0;
			if (fo->r[i].connecting == pid)
				reconcile_connect_done(fo->volume, &fo->r[i], status);
		}
}

/* Reconcile until nothing changes.  Watch first, then look: a change
 * between the two would otherwise go unnoticed.  A pass that acted
 * (re-added a member, so new sysfs files) is followed by another.
 * Return: as reconcile_volume(). */
static int passes(struct udev *udev, const char *name, struct fo_volume *fo, char **mddev,
		  struct pollfd *p, unsigned *n, int *retry_ms)
{
	int r = 0;

	for (int pass = 0; pass < 4; pass++) {
		char *now = NULL;

		close_watches(p + FIXED_FDS, *n);
		*n = *mddev ? open_watches(*mddev, p + FIXED_FDS, MAX_WATCH) : 0;
		r = reconcile_volume(udev, name, fo, &now, retry_ms);
		if (r == -ENOENT)
			return r;
		/* The array appeared, went, or a pass acted: again. */
		if (r <= 0 && streq(now, *mddev) == !!now) {
			free(now);
			break;
		}
		free(*mddev);
		*mddev = now;
	}
	return r;
}

/* Drains the udev monitor: one reconcile covers a burst of events.
 * Return: whether one of them is of a device of volume @name (every
 * device the rules tag carries its volume, also on "remove"); the other
 * volumes' events are their monitors' business.  Of 8 volumes healing at
 * once, each monitor reconciled on the events of all 8. */
static bool drain_events(struct udev_monitor *mon, const char *name)
{
	struct udev_device *d;
	bool ours = false;

	while ((d = udev_monitor_receive_device(mon))) {
		const char *v = udev_device_get_property_value(d, "NVMF_RAID_VOLUME");

		if (!v || streq(v, name))
			ours = true;
		udev_device_unref(d);
	}
	return ours;
}

static int monitor(const char *name)
{
	struct fo_volume fo = {};
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(udev_monitor_unrefp) struct udev_monitor *mon = NULL;
	_cleanup_free_ char *mddev = NULL;
	_cleanup_(health_close) struct health h = { .inotify_fd = -EBADF };
	struct pollfd p[FIXED_FDS + MAX_WATCH];
	unsigned n = 0;
	int r, retry_ms = -1, health_ms;
	uint64_t retry_at = 0;
	bool pass_due = true;
	unsigned quiet = 0; /* quiet samples in a row */

	if (!udev)
		return log_oom();
	r = dev_monitor_open(udev, &mon);
	if (r < 0)
		return log_error_errno(r, "%s: failed to listen to udev: %m", name);
	r = health_open(&h);
	if (r < 0)
		return log_error_errno(r, "%s: failed to watch /dev: %m", name);
	exec_set_wait_hook(tick_while_waiting, &(struct tick_ctx){ .fo = &fo, .mddev = &mddev }, SAMPLE_MS);
	p[0] = (struct pollfd){ .fd = udev_monitor_get_fd(mon), .events = POLLIN };
	p[1] = (struct pollfd){ .fd = h.inotify_fd, .events = POLLIN };
	p[3] = (struct pollfd){ .fd = term_pipe[0], .events = POLLIN };

	log_info("%s: monitoring.", name);
	while (!stop) {
		uint64_t t = now_usec();
		int timeout;

		/* A pass on every event and when a connect is due; the
		 * samples of the members' paths in between are cheap. */
		if (pass_due || (retry_at && t >= retry_at)) {
			log_debug("%s: pass (%s).", name, pass_due ? "an event" : "a retry is due");
			r = passes(udev, name, &fo, &mddev, p, &n, &retry_ms);
			if (r == -ENOENT) {
				log_info("%s: no longer attached; monitor exits.", name);
				break;
			}
			/* What users see (health.c), after the replicas. */
			if (health_check(&h, udev, name, &health_ms) != -ENOENT && health_ms >= 0 &&
			    (retry_ms < 0 || health_ms < retry_ms))
				retry_ms = health_ms;
			pass_due = false;
			retry_at = retry_ms >= 0 ? now_usec() + (uint64_t)retry_ms * 1000 : 0;
			t = now_usec();
		}
		timeout = retry_at ? (int)((retry_at > t ? retry_at - t : 0) / 1000) : -1;
		if (mddev && fo.n > 1) {
			int every = SAMPLE_MS;

			if (quiet >= QUIET_SAMPLES && fo.tmo_sec * 1000 > SAMPLE_MS)
				every = (int)fo.tmo_sec * 1000;

			if (timeout < 0 || timeout > every)
				timeout = every;
		}
		/* Waiting for a rebuild slot: woken when one frees (rebuild.h). */
		p[2] = (struct pollfd){ .fd = rebuild_wait_fd(), .events = POLLIN };
		r = poll(p, FIXED_FDS + n, timeout);
		if (r < 0 && errno != EINTR)
			return log_error_errno(errno, "%s: poll failed: %m", name);
		for (unsigned i = 1; r > 0 && i < FIXED_FDS; i++)
			if (p[i].revents)
				pass_due = true;
		for (unsigned i = 0; r > 0 && i < n; i++)
			if (p[FIXED_FDS + i].revents && watch_news(&p[FIXED_FDS + i], i))
				pass_due = true;
		if (r > 0 && (p[0].revents & POLLIN) && drain_events(mon, name))
			pass_due = true;
		if (r > 0 && (p[1].revents & POLLIN))
			health_drain(&h);
		if (r > 0 && (p[2].revents & POLLIN))
			rebuild_wait_drain();
		reap(&fo);
		if (mddev && failover_tick(&fo))
			pass_due = true;
		/* Only timed samples count: md's array_state turns active
		 * before a write reaches the members, so the sample on its
		 * wake-up may still look quiet. */
		if (r != 0 || !mddev || !fo_quiet(&fo))
			quiet = 0;
		else if (quiet < QUIET_SAMPLES)
			quiet++;
	}
	close_watches(p + FIXED_FDS, n);
	fo_volume_close(&fo);
	return 0;
}

static int monitor_main(const char *name)
{
	int r = monitor(name);

	exec_set_wait_hook(NULL, NULL, 0); /* its context was monitor()'s */
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_term };

	/* Non-blocking: a handler never waits on a full pipe. */
	if (pipe2(term_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error_errno(errno, "Failed to create a pipe: %m");
		return EXIT_FAILED;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return helper_main(argc, argv, "nvmf-raid-monitor",
			   "Watch an attached nvmf-raid volume: record replicas md fails, re-add\n"
			   "them when their namespaces return, keep the in-sync record.  Run by\n"
			   "nvmf-raid-monitor@VOLUME.service; see nvmf-raid@.service(8).\n",
			   monitor_main);
}
