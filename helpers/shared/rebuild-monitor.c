/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebuild_: the monitor's hooks and the rate cap (rebuild.h).  The
 * monitor process watches one volume and holds its one place in the queue
 * here, for as long as it lives: the locks are its fds.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "device.h"
#include "fileio.h"
#include "hostconf.h"
#include "log.h"
#include "macro.h"
#include "md.h"
#include "rebuild-internal.h"
#include "session.h"
#include "volume.h"

#define SPEED_LIMIT_MIN "/proc/sys/dev/raid/speed_limit_min"

static struct rebuild *self;

/* The array whose sync_speed_min a heal raised, to what (KiB/s), and what
 * it was ("system" or the array's own KiB/s); "" when none was raised. */
static char heal_md[PATH_MAX], heal_min_was[16];
static unsigned heal_min_set;

/* host.conf, its problems logged the first time only: the monitor asks
 * on every pass, and `nvmf-raid check` lists them all. */
static void load_conf(struct hostconf *c)
{
	static bool warned;
	int r;

	r = hostconf_load(NULL, warned ? VOL_LOAD_QUIET : 0, c);
	if (r < 0 && !warned)
		log_warning("%s is not valid; rebuilds use the defaults (max-concurrent %u, md's rate).",
			    hostconf_path(), c->rebuild_max_concurrent);
	warned = warned || r < 0;
}

/* The volume file's rebuild-rate, else host.conf's.  The file as it is
 * now: a changed rate applies from the next rebuild on. */
static unsigned rate_of(const char *volume, const struct hostconf *c)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	int r;

	/* The unit reported a bad file when it attached; not again here. */
	r = vs_open(volume, VS_FILE, &s);
	return r >= 0 && s->vol->rebuild_rate >= 0 ? (unsigned)s->vol->rebuild_rate : c->rebuild_rate;
}

int rebuild_set_rate(const char *mddev, unsigned kib_s)
{
	char buf[32], max[16], min[16] = "system";

	/* No rate configured: md's limits, or what the admin set on the
	 * array by hand, stay as they are. */
	if (kib_s == 0)
		return 0;
	snprintf(max, sizeof(max), "%u", kib_s);
	/* md throttles only above sync_speed_min: below it, it runs at that
	 * minimum whatever the maximum says. */
	if (kib_s > 0 && dev_attr_read(SPEED_LIMIT_MIN, buf, sizeof(buf)) == 0 &&
	    kib_s < strtoul(buf, NULL, 10))
		snprintf(min, sizeof(min), "%u", kib_s);
	return md_set_sync_speed(mddev, min, max);
}

int rebuild_heal_unthrottled(const char *volume, const char *mddev)
{
	char min[16], was[16] = "system";
	unsigned max, cur;
	bool local;
	int r;

	rebuild_heal_done(); /* another heal's, not seen to end */
	/* The minimum at the maximum in force (the rate cap, the admin's, or
	 * md's): above it md would ignore the maximum. */
	r = md_sync_speed_read(mddev, "sync_speed_max", &max, &local);
	if (r < 0)
		return r;
	snprintf(min, sizeof(min), "%u", max);
	r = md_sync_speed_read(mddev, "sync_speed_min", &cur, &local);
	if (r < 0)
		return r;
	if (local)
		snprintf(was, sizeof(was), "%u", cur);
	r = md_set_sync_speed_min(mddev, min);
	if (r < 0)
		return r;
	snprintf(heal_md, sizeof(heal_md), "%s", mddev);
	memcpy(heal_min_was, was, sizeof(was));
	heal_min_set = max;
	log_debug("%s: sync_speed_min of %s %s KiB/s for the heal (was %s).", volume, mddev, min, was);
	return 0;
}

void rebuild_heal_done(void)
{
	unsigned now;
	bool local;
	int r;

	if (!heal_md[0])
		return;
	/* Not over what the admin wrote meanwhile; -ENOENT: the array is
	 * gone, and the setting with it. */
	r = md_sync_speed_read(heal_md, "sync_speed_min", &now, &local);
	if (r == 0 && local && now == heal_min_set)
		r = md_set_sync_speed_min(heal_md, heal_min_was);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "Cannot put sync_speed_min of %s back to %s: %m", heal_md,
				  heal_min_was);
	heal_md[0] = 0;
}

static void log_queued(struct rebuild *rb, unsigned max)
{
	unsigned pos, len;

	if (rb->told_queued || rebuild_queue_rank(rb->queue_fd, rb->volume, &pos, &len) <= 0)
		return;
	log_info("%s: rebuild queued, position %u of %u: %u array%s rebuilding already (host.conf max-concurrent).",
		 rb->volume, pos, len, max, max == 1 ? "" : "s");
	rb->told_queued = true;
}

int rebuild_put_back(const char *volume, const char *mddev)
{
	struct hostconf c;
	unsigned rate, slot;
	bool had;
	int r;

	if (!self && (r = rebuild_new(volume, &self)) < 0) {
		log_warning_errno(r, "%s: no place in the rebuild queue (%m); rebuilding without the limit.",
				  volume);
		return 1;
	}
	self->wanted = true;
	load_conf(&c);
	had = rebuild_holds_slot(self, NULL);
	r = rebuild_request(self, c.rebuild_max_concurrent);
	if (r < 0) {
		log_warning_errno(r, "%s: cannot take a rebuild slot (%m); rebuilding without the limit.",
				  volume);
		rebuild_release(self);
	}
	if (r == 0) {
		log_queued(self, c.rebuild_max_concurrent);
		return 0;
	}
	if (had)
		return 1;
	self->told_queued = false;
	rate = rate_of(volume, &c);
	r = rebuild_set_rate(mddev, rate);
	if (r < 0)
		log_warning_errno(r, "%s: cannot cap the rebuild rate of %s: %m", volume, mddev);
	if (!rebuild_holds_slot(self, &slot))
		return 1;
	if (rate)
		log_info("%s: rebuild slot %u of %u taken; rate cap %u KiB/s.", volume, slot + 1,
			 c.rebuild_max_concurrent, rate);
	else
		log_info("%s: rebuild slot %u of %u taken; md's default rate.", volume, slot + 1,
			 c.rebuild_max_concurrent);
	return 1;
}

static bool any_rebuilding(const struct desc *d)
{
	for (unsigned i = 0; i < d->n_replicas; i++)
		if (d->replicas[i].state == STATE_REBUILDING)
			return true;
	return false;
}

void rebuild_pass_done(const struct desc *d)
{
	bool rebuilding = any_rebuilding(d);
	unsigned slot;

	if (!rebuilding)
		rebuild_heal_done();
	if (!self && rebuilding && rebuild_new(d->volume, &self) < 0)
		return;
	if (!self)
		return;
	if (rebuild_holds_slot(self, &slot) && !rebuilding) {
		rebuild_release(self);
		log_info("%s: rebuild over; slot %u given back.", d->volume, slot + 1);
	} else if (!self->wanted && rebuild_fd(self) >= 0) {
		/* Nothing to put back any more (gone again, or detached). */
		rebuild_release(self);
		self->told_queued = false;
	} else if (rebuilding && !self->wanted && !rebuild_holds_slot(self, NULL)) {
		struct hostconf c;

		load_conf(&c);
		if (rebuild_claim(self, c.rebuild_max_concurrent) > 0 && rebuild_holds_slot(self, &slot))
			log_info("%s: rebuilding already; slot %u taken for it.", d->volume, slot + 1);
	}
	self->wanted = false;
}

int rebuild_wait_fd(void)
{
	return self ? rebuild_fd(self) : -EBADF;
}

void rebuild_wait_drain(void)
{
	if (self)
		rebuild_drain(self);
}
