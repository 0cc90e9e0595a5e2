/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-metrics: keeps node_exporter's textfile of nvmf-raid
 * (host.conf [metrics] path) while any volume is attached
 * (nvmf-raid-metrics.service, which every nvmf-raid@.service wants).
 *
 * One process for the host, not one per monitor: the file holds every
 * volume and is replaced whole.  It is written when a descriptor or an
 * event counter changes (inotify on the runtime directory and its
 * events/: the monitors and helpers replace descriptors by rename and
 * count events under flock), so a state change is in the file at once;
 * and every interval while a volume is attached, for what changes without
 * an event (I/O counters, rebuild progress).  Nothing is attached: no
 * timer, the file removed, the process asleep in poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "descriptor.h"
#include "device.h"
#include "exit-status.h"
#include "fileio.h"
#include "hostconf.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"

/* Changes come in bursts (a monitor's pass writes the descriptor, then
 * counts the event): one write for the burst. */
#define SETTLE_MS 50
/* And at most two writes a second: 8 volumes healing at once changed
 * their descriptors several times a second; a write after each cost the
 * guest 16 s of its CPU in 4 minutes (rebuild_test, Debian 12). */
#define MIN_GAP_MS 500

struct ctx {
	struct hostconf conf;
	int inotify, timer;
	int events_wd; /* -1 until RUNTIME/events exists */
	bool armed;    /* the interval timer runs */
	int last_err;  /* of the last write, logged once */
	/* The volumes as last gathered; on a change, only the volumes it
	 * named are gathered again (metrics_regather()), all of them at
	 * the interval and when the change is not known by name. */
	struct metrics_volume *v;
	unsigned n, attached;
	char **changed; /* names; NULL entries never */
	unsigned n_changed;
	bool all; /* gather every volume */
};

/* The file's directory, created (0755) if missing.  The path is the
 * admin's (host.conf, root's file), trusted as written: Debian's
 * prometheus-node-exporter owns its directory, so it is not ours to
 * check for root ownership; the file is replaced by rename, never
 * written through a link. */
static int open_parent(const char *path, int *ret_fd)
{
	_cleanup_free_ char *dir = strndup(path, (size_t)(strrchr(path, '/') - path));
	int fd;

	if (!dir)
		return -ENOMEM;
	fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		int r = mkdir_parents_secure("/", dir + 1, 0755, &fd);

		if (r < 0)
			return r;
	}
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

static void arm(struct ctx *c, bool on)
{
	struct itimerspec its = {};

	if (on == c->armed)
		return;
	if (on)
		its.it_value.tv_sec = its.it_interval.tv_sec = c->conf.metrics_interval;
	if (timerfd_settime(c->timer, 0, &its, NULL) == 0)
		c->armed = on;
}

static void report(struct ctx *c, int r, const char *what)
{
	if (r < 0 && r != c->last_err)
		log_warning_errno(r, "Failed to %s %s: %m", what, c->conf.metrics_path);
	else if (r >= 0 && c->last_err < 0)
		log_info("Writing %s again.", c->conf.metrics_path);
	c->last_err = r < 0 ? r : 0;
}

static void changed_clear(struct ctx *c)
{
	for (unsigned i = 0; i < c->n_changed; i++)
		free(c->changed[i]);
	c->n_changed = 0;
	c->all = false;
}

/* Notes volume @name (@len bytes of it) as changed; when it cannot, every
 * volume is. */
static void changed_add(struct ctx *c, const char *name, size_t len)
{
	char **p;

	for (unsigned i = 0; i < c->n_changed; i++)
		if (strlen(c->changed[i]) == len && memcmp(c->changed[i], name, len) == 0)
			return;
	p = reallocarray(c->changed, c->n_changed + 1, sizeof(*p));
	if (p)
		c->changed = p;
	if (!p || !(c->changed[c->n_changed] = strndup(name, len))) {
		c->all = true;
		return;
	}
	c->n_changed++;
}

/* The file as the volumes are now: written while one is attached, else
 * removed.  Returns the number of volumes attached. */
static unsigned update(struct ctx *c)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dir = -EBADF;
	const char *base = strrchr(c->conf.metrics_path, '/') + 1;
	int r;

	if (c->all) {
		metrics_volumes_free(c->v, c->n);
		c->v = NULL;
		c->n = c->attached = 0;
		r = metrics_gather(&c->v, &c->n, &c->attached);
	} else
		r = metrics_regather(&c->v, &c->n, c->changed, c->n_changed, &c->attached);
	changed_clear(c);
	if (r < 0)
		c->all = true; /* all again next time */
	if (r >= 0 && c->attached > 0)
		r = metrics_render(c->v, c->n, &text);
	if (r < 0) {
		report(c, r, "gather the metrics for");
		return c->attached;
	}
	r = open_parent(c->conf.metrics_path, &dir);
	if (r >= 0)
		r = c->attached > 0 ? write_file_atomic_at(dir, base, text, strlen(text), 0644) :
				      remove_file_at(dir, base);
	report(c, r, c->attached > 0 ? "write" : "remove");
	return c->attached;
}

/* RUNTIME/events appears with the first event counted. */
static void watch_events(struct ctx *c, const char *run)
{
	char path[PATH_MAX];

	if (c->events_wd >= 0 ||
	    snprintf(path, sizeof(path), "%s/" METRICS_EVENTS_DIR, run) >= (int)sizeof(path))
		return;
	c->events_wd = inotify_add_watch(c->inotify, path, IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW);
}

/* Whether anything read from the inotify fd concerns the metrics: a
 * descriptor replaced or removed, a counter written (the volume noted as
 * changed), events/ made, or events lost (every volume). */
static bool drain(struct ctx *c, const char *run)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	ssize_t len;

	while ((len = read(c->inotify, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			size_t nl = e->len ? strlen(e->name) : 0;

			if (e->mask & IN_Q_OVERFLOW)
				c->all = relevant = true;
			else if (e->wd == c->events_wd && nl && e->name[0] != '.')
				changed_add(c, e->name, nl), relevant = true;
			else if (e->wd != c->events_wd && nl > STRLEN(".json") && e->name[0] != '.' &&
				 streq(e->name + nl - STRLEN(".json"), ".json"))
				changed_add(c, e->name, nl - STRLEN(".json")), relevant = true;
			if (e->wd != c->events_wd && nl && streq(e->name, METRICS_EVENTS_DIR))
				watch_events(c, run), c->all = relevant = true;
			p += sizeof(*e) + e->len;
		}
	return relevant;
}

static int run(struct ctx *c)
{
	_cleanup_close_ int sfd = -EBADF, rundir = -EBADF;
	const char *run = DESC_RUNTIME_DIR;
	sigset_t mask;
	uint64_t last; /* usec: the last write */
	int r;

	(void)desc_runtime_dir(&run);
	/* Made here if this runs first: the watch needs it. */
	r = desc_open_runtime_dir(true, &rundir);
	if (r < 0)
		return log_error_errno(r, "Failed to open %s: %m", run);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	c->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	c->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || c->inotify < 0 || c->timer < 0)
		return log_error_errno(errno, "Failed to set up the event loop: %m");
	if (inotify_add_watch(c->inotify, run,
			      IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE | IN_CREATE | IN_ONLYDIR) < 0)
		return log_error_errno(errno, "Failed to watch %s: %m", run);
	watch_events(c, run);
	log_info("Keeping %s: at every change of a volume, and every %u s while one is attached.",
		 c->conf.metrics_path, c->conf.metrics_interval);
	c->all = true;
	arm(c, update(c) > 0);
	last = now_usec();
	for (;;) {
		struct pollfd p[] = { { sfd, POLLIN, 0 }, { c->inotify, POLLIN, 0 }, { c->timer, POLLIN, 0 } };
		uint64_t ticks;
		bool changed = false;

		if (poll(p, ELEMENTSOF(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(errno, "poll() failed: %m");
		}
		if (p[0].revents)
			break;
		if (p[1].revents && drain(c, run)) {
			uint64_t since = now_usec() - last;
			int wait = since >= MIN_GAP_MS * 1000ULL ? SETTLE_MS :
								   MIN_GAP_MS - (int)(since / 1000);

			/* the rest of the burst, and what comes until the gap is over */
			while (wait > 0 && poll(p, 2, wait) > 0 && !p[0].revents) {
				drain(c, run);
				since = now_usec() - last;
				wait = since >= MIN_GAP_MS * 1000ULL ? SETTLE_MS :
								       MIN_GAP_MS - (int)(since / 1000);
			}
			if (p[0].revents)
				break;
			changed = true;
		}
		/* The interval: every volume, for what changes without an
		 * event (I/O counters, rebuild progress, reachability). */
		if (p[2].revents && read(c->timer, &ticks, sizeof(ticks)) > 0)
			c->all = changed = true;
		if (changed) {
			arm(c, update(c) > 0);
			last = now_usec();
		}
	}
	/* Stopped: no volume is watched any more, so no file says otherwise. */
	{
		_cleanup_close_ int dir = -EBADF;

		if (open_parent(c->conf.metrics_path, &dir) == 0)
			(void)remove_file_at(dir, strrchr(c->conf.metrics_path, '/') + 1);
	}
	return 0;
}

static void help(void)
{
	printf("Usage: nvmf-raid-metrics\n\n"
	       "Run by nvmf-raid-metrics.service: keeps node_exporter's textfile of every\n"
	       "nvmf-raid volume (host.conf [metrics] path, by default\n"
	       "%s) while any volume is attached,\n"
	       "written at each change and every [metrics] interval seconds.\n"
	       "See nvmf-raid@.service(8), METRICS.\n\n"
	       "  -h --help      Show this help\n"
	       "  -V --version   Show the version\n",
	       HOSTCONF_METRICS_PATH_DEFAULT);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'V' },
						 {} };
	struct ctx c = { .inotify = -EBADF, .timer = -EBADF, .events_wd = -1 };
	int opt, r;

	log_setup("nvmf-raid-metrics");
	while ((opt = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
		switch (opt) {
		case 'h':
			help();
			return EXIT_OK;
		case 'V':
			printf("nvmf-raid-metrics %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	if (optind != argc) {
		log_error("No arguments expected; see --help.");
		return EXIT_USAGE;
	}
	/* An invalid host.conf is logged (with file, line, key) and its
	 * defaults apply, as for the monitors. */
	(void)hostconf_load(NULL, 0, &c.conf);
	if (!c.conf.metrics_path[0]) {
		log_info("host.conf [metrics] path is empty: no metrics file.");
		return EXIT_OK;
	}
	r = run(&c);
	changed_clear(&c);
	free(c.changed);
	metrics_volumes_free(c.v, c.n);
	safe_close(c.inotify);
	safe_close(c.timer);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}
