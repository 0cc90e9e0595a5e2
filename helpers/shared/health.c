/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "descriptor.h"
#include "device.h"
#include "event.h"
#include "fileio.h"
#include "health.h"
#include "log.h"
#include "md.h"
#include "session.h"
#include "status.h"
#include "teardown.h"

#define LINK_DIR "/dev/nvmf-raid"
/* udev handles one "change" of an array in well under a second; TCG and
 * a busy udev queue (an outage brings many events) need more. */
#define REPAIR_WAIT_USEC (10ULL * 1000000)
#define REPAIR_RETRY_USEC (30ULL * 1000000)

int health_open(struct health *h)
{
	*h = (struct health){ .wd_links = -1, .wd_dev = -1 };
	h->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return h->inotify_fd < 0 ? -errno : 0;
}

void health_close(struct health *h)
{
	h->inotify_fd = safe_close(h->inotify_fd);
}

void health_drain(struct health *h)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(h->inotify_fd, buf, sizeof(buf)) > 0)
		;
}

/* Watch the link's directory; while udev has removed it (it does, with its
 * last link), watch /dev for its return. */
static void rewatch(struct health *h)
{
	h->wd_links = inotify_add_watch(h->inotify_fd, LINK_DIR,
					IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
						IN_DELETE_SELF | IN_ONLYDIR);
	if (h->wd_links >= 0 && h->wd_dev >= 0) {
		inotify_rm_watch(h->inotify_fd, h->wd_dev);
		h->wd_dev = -1;
	} else if (h->wd_links < 0 && h->wd_dev < 0)
		h->wd_dev = inotify_add_watch(h->inotify_fd, "/dev", IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
}

/* Whether @link leads to @want now. */
static bool link_leads_to(const char *link, const char *want)
{
	_cleanup_free_ char *real = realpath(link, NULL);

	return real && streq(real, want);
}

/* "change" on @devnode's block device, then wait until udev has handled
 * an event of it (the monitor is listening before the trigger). */
static int retrigger(struct udev *udev, const char *devnode)
{
	_cleanup_(udev_monitor_unrefp) struct udev_monitor *mon = NULL;
	const char *kernel = strrchr(devnode, '/');
	char syspath[PATH_MAX];
	uint64_t deadline;
	int r;

	if (!kernel || !filename_is_valid(kernel + 1))
		return -EINVAL;
	snprintf(syspath, sizeof(syspath), "/sys/class/block/%s", kernel + 1);
	mon = udev_monitor_new_from_netlink(udev, "udev");
	if (!mon || udev_monitor_filter_add_match_subsystem_devtype(mon, "block", "disk") < 0 ||
	    udev_monitor_enable_receiving(mon) < 0)
		return -ENOMEM;
	r = dev_trigger_change(syspath);
	if (r < 0)
		return r;
	deadline = now_usec() + REPAIR_WAIT_USEC;
	for (;;) {
		_cleanup_(udev_device_unrefp) struct udev_device *d = NULL;

		r = dev_monitor_next(mon, deadline, &d);
		if (r <= 0)
			return r < 0 ? r : -ETIMEDOUT;
		if (streq(udev_device_get_sysname(d), kernel + 1))
			return 0;
	}
}

static int check_link(struct health *h, struct udev *udev, const struct desc *d, const char *want)
{
	int r;

	if (link_leads_to(d->device, want)) {
		if (h->link_lost)
			log_notice("%s: %s leads to %s again.", d->volume, d->device, want);
		h->link_lost = false;
		h->link_retry_usec = 0;
		return 0;
	}
	if (h->link_lost && now_usec() < h->link_retry_usec)
		return -ENOLINK;
	r = retrigger(udev, want);
	if (r < 0)
		log_debug_errno(r, "%s: udev did not handle a change of %s: %m", d->volume, want);
	if (link_leads_to(d->device, want)) {
		event_emit(EVENT_LINK_REPAIRED, d->volume, NULL, NULL,
			   "%s: %s was missing or wrong; udev made it again for %s.", d->volume,
			   d->device, want);
		h->link_lost = false;
		return 1;
	}
	h->link_retry_usec = now_usec() + REPAIR_RETRY_USEC;
	if (!h->link_lost)
		event_emit(EVENT_LINK_LOST, d->volume, NULL, NULL,
			   "%s: %s does not lead to %s, and udev did not make it again; "
			   "users cannot open the volume.",
			   d->volume, d->device, want);
	h->link_lost = true;
	return -ENOLINK;
}

/* md's array_state of @mddev: writable, or reported once per state. */
static void check_array(struct health *h, const struct desc *d)
{
	char state[sizeof(h->unwritable)];

	if (md_array_state(d->md.device, state, sizeof(state)) < 0)
		snprintf(state, sizeof(state), "gone");
	if (status_array_state_writable(state)) {
		if (h->unwritable[0])
			log_notice("%s: array %s takes writes again (%s).", d->volume, d->md.device, state);
		h->unwritable[0] = 0;
		return;
	}
	if (streq(state, h->unwritable))
		return;
	/* Stopped behind our back: the kernel name may go to another array,
	 * which must not get the volume's link from the index. */
	if (streq(state, "gone") || streq(state, "clear"))
		(void)desc_md_dev_index_remove(d->md.device, d->volume);
	snprintf(h->unwritable, sizeof(h->unwritable), "%s", state);
	event_emit(EVENT_ARRAY_UNWRITABLE, d->volume, NULL, NULL,
		   "%s: array %s is %s: it takes no writes%s.", d->volume, d->md.device, state,
		   streq(state, "broken") ? " until it is stopped, even once its replicas return" : "");
}

int health_check(struct health *h, struct udev *udev, const char *volume, int *ret_retry_ms)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	struct desc *d;
	const char *want;
	int r;

	*ret_retry_ms = -1;
	rewatch(h);
	/* Under the volume's lock, as reconcile: a detach stopping the array
	 * meanwhile is no array gone behind our back. */
	r = vs_open(volume, VS_LOCK | VS_DESC, &s);
	if (r < 0)
		return r;
	d = s->desc;
	if (d->md.device)
		check_array(h, d);
	/* Nothing to link while the array does not run (the rule links no
	 * stopped array) or the one namespace is away. */
	want = d->md.device ?: d->n_replicas == 1 ? d->replicas[0].device : NULL;
	if (!want || (d->md.device && !md_array_active(d->md.device)) || access(want, F_OK) < 0)
		return 0;
	r = check_link(h, udev, d, want);
	if (r == -ENOLINK)
		*ret_retry_ms = (int)((h->link_retry_usec - now_usec()) / 1000) + 1;
	return r;
}
