/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Gathering what `nvmf-raid status` shows (status.h): the descriptor, md's
 * sysfs, udev, the controllers' states and the device link, as they are
 * now.  Reads only, and takes no lock: the descriptor is replaced
 * atomically, and sysfs is what it is right now.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "device.h"
#include "fabrics.h"
#include "fileio.h"
#include "log.h"
#include "md.h"
#include "rebuild.h"
#include "parse-util.h"
#include "session.h"
#include "status.h"

static uint64_t sysfs_size(const char *dev)
{
	char buf[32];
	uint64_t sectors;

	if (dev_sysfs_read(dev, "size", buf, sizeof(buf)) < 0 || parse_u64(buf, &sectors) < 0 ||
	    sectors > UINT64_MAX / 512)
		return STATUS_SIZE_UNKNOWN;
	return sectors * 512;
}

/* @dev's md member state in buf, if it is a member of @md; else NULL. */
static const char *member_state(const char *md, const char *dev, char *buf, size_t size)
{
	return md_member_state(md, dev, buf, size) == 0 ? buf : NULL;
}

/* Its place in the host-wide rebuild queue, and the rate cap md keeps
 * for it: "20000 (local)" set for this array, "200000 (system)" not. */
static void gather_rebuild(struct status_volume *s)
{
	unsigned kib;
	int r;

	r = rebuild_queue_position(s->name, &s->queue_position, &s->queue_length);
	if (r < 0)
		log_debug_errno(r, "%s: cannot read the rebuild queue: %m", s->name);
	s->rebuild_queued = r > 0;
	if (md_sync_speed_local(s->md, &kib) > 0)
		s->rate_max = kib;
}

static void gather_md(struct status_volume *s)
{
	char buf[64];
	uint64_t n;

	if (!s->md || md_array_state(s->md, s->array_state, sizeof(s->array_state)) < 0) {
		s->array_state[0] = 0;
		return;
	}
	if (streq(s->array_state, "clear") || streq(s->array_state, "inactive"))
		return;
	s->running = true;
	s->size = sysfs_size(s->md);
	if (md_degraded(s->md, &n) == 0)
		s->md_degraded = n > UINT_MAX ? UINT_MAX : (unsigned)n;
	if (md_sync_action(s->md, s->sync_action, sizeof(s->sync_action)) < 0)
		s->sync_action[0] = 0;
	/* sync_completed says "none" when idle and "delayed" while waiting
	 * for another array on the same disks: no numbers then. */
	if (s->sync_action[0] && !streq(s->sync_action, "idle") && !streq(s->sync_action, "frozen") &&
	    md_sync_completed(s->md, buf, sizeof(buf)) == 0 &&
	    status_parse_sync_completed(buf, &s->sync_completed, &s->sync_total) == 0)
		s->has_sync = true;
	gather_rebuild(s);
}

/* Where the device link leads now, as a user opening it gets there: NULL
 * when it (or what it points at) does not exist. */
static int gather_link(struct status_volume *s)
{
	char *real;

	if (!s->device)
		return 0;
	real = realpath(s->device, NULL);
	if (!real)
		return errno == ENOMEM ? -ENOMEM : 0;
	s->link_target = real;
	return 0;
}

/* Whether @dev is the namespace of one of the replicas right now. */
static bool claimed(const struct status_volume *s, const char *dev)
{
	for (unsigned i = 0; i < s->n_replicas; i++)
		if (streq(s->replicas[i].device, dev))
			return true;
	return false;
}

static int gather_replicas(struct udev *udev, struct status_volume *s, const struct desc *d)
{
	bool has_md = d->n_replicas > 1;

	/* Every namespace first: a name the descriptor remembers may since
	 * have gone to another replica's namespace. */
	for (unsigned i = 0; i < s->n_replicas; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		int r = dev_namespace_find_at(udev, s->replicas[i].nqn, &s->replicas[i].ns,
					      d->replicas[i].device, &dev);

		if (r < 0)
			log_debug_errno(r, "%s: cannot look for the namespace of replica %s: %m",
					s->name, s->replicas[i].name);
		if (r > 0 && !(s->replicas[i].device = strdup(udev_device_get_devnode(dev))))
			return -ENOMEM;
		/* With native multipath a lost controller keeps its namespace
		 * and md member "in sync" while I/O waits on a reconnect.  No
		 * namespace: a controller may be live all the same. */
		s->replicas[i].reachable =
			r > 0 ? dev_ns_ctrl_live(dev) : fab_ctrl_live(s->replicas[i].nqn);
	}
	for (unsigned i = 0; i < s->n_replicas; i++) {
		struct status_replica *r = &s->replicas[i];
		const struct desc_replica *dr = &d->replicas[i];
		const char *member = NULL;
		bool present = r->device != NULL;
		char buf[128];

		if (has_md && s->running && r->device)
			member = member_state(s->md, r->device, buf, sizeof(buf));
		/* Not a member under its namespace's name now (gone, or back
		 * under a new one): md may still hold it, faulty, under the
		 * name it had. */
		if (has_md && s->running && !member && dr->device && !claimed(s, dr->device)) {
			member = member_state(s->md, dr->device, buf, sizeof(buf));
			if (member && !r->device && !(r->device = strdup(dr->device)))
				return -ENOMEM;
		}
		r->state = status_replica_state(has_md, member, present, dr->state, dr->outdated);
		r->size = r->device ? sysfs_size(r->device) : STATUS_SIZE_UNKNOWN;
	}
	if (!has_md && s->n_replicas == 1) {
		s->running = s->replicas[0].state == STATE_IN_SYNC;
		s->size = s->running ? s->replicas[0].size : STATUS_SIZE_UNKNOWN;
	}
	return 0;
}

/* What the volume is, from a descriptor or one made from the volume file;
 * live fields unknown. */
static int copy_desc(struct status_volume *s, const struct desc *d)
{
	s->persistent = d->persistent;
	s->min_replicas = d->settings.min_replicas;
	if (d->source && !(s->source = strdup(d->source)))
		return -ENOMEM;
	for (unsigned i = 0; i < d->n_replicas && i < VOL_REPLICAS_MAX; i++) {
		const struct desc_replica *dr = &d->replicas[i];
		struct status_replica *r = &s->replicas[i];

		memcpy(r->name, dr->name, sizeof(r->name));
		memcpy(r->nqn, dr->nqn, sizeof(r->nqn));
		r->ns = dr->ns;
		memcpy(r->portals, dr->portals, sizeof(r->portals));
		r->n_portals = dr->n_portals;
		r->outdated = dr->outdated;
		r->state = _STATE_INVALID;
		r->size = STATUS_SIZE_UNKNOWN;
		s->n_replicas = i + 1;
	}
	return 0;
}

static int gather_attached(struct udev *udev, struct status_volume *s, const struct desc *d)
{
	int r = copy_desc(s, d);

	if (r < 0)
		return r;
	s->attached = true;
	s->record_stale = d->record_stale;
	if (!(s->device = strdup(d->device)) || (d->md.device && !(s->md = strdup(d->md.device))))
		return -ENOMEM;
	gather_md(s);
	r = gather_link(s);
	if (r < 0)
		return r;
	return gather_replicas(udev, s, d);
}

static int set_error(struct status_volume *s, const char *fmt, ...) _printf_(2, 3);
static int set_error(struct status_volume *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s->error, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->error = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A volume with a volume file and no descriptor.  A broken file is shown,
 * not fatal: status is how an admin finds out. */
static int gather_inactive(struct status_volume *s, struct vs_session *vs)
{
	const char *etc = vol_etc_dir();
	int r;

	/* Every problem of the file is check's to list, not ours: the
	 * session keeps them, and they are dropped with it. */
	r = vs_load(vs, false);
	if (vs->failed == VS_STEP_FIND)
		return r;
	/* vol_find() tries vol_etc_dir() first and builds the path from it. */
	s->persistent = strncmp(vs->path, etc, strlen(etc)) == 0 && vs->path[strlen(etc)] == '/';
	if (r >= 0)
		r = vs_new_desc(vs);
	if (r >= 0 || r == -ENOMEM)
		return r < 0 ? r : copy_desc(s, vs->desc);
	s->source = TAKE_PTR(vs->path);
	if (IN_SET(r, -EINVAL, -ELOOP, -EFBIG))
		return set_error(s, "invalid volume file; 'nvmf-raid check %s' says why", s->name);
	return set_error(s, "cannot read %s: %s", s->source, strerror(-r));
}

int status_gather(struct udev *udev, const char *name, struct status_volume **ret)
{
	_cleanup_status_volume_ struct status_volume *s = NULL;
	_cleanup_vs_ struct vs_session *vs = NULL;
	int r;

	assert(udev);
	assert(ret);
	if (!vol_name_is_valid(name))
		return log_error_errno(EINVAL,
				       "Invalid volume name: want 1 to %d of [A-Za-z0-9_.-], "
				       "the first a letter or digit.",
				       VOL_NAME_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->size = STATUS_SIZE_UNKNOWN;
	/* Reads only and takes no lock: a status must not wait on a helper. */
	r = vs_open(name, VS_DESC, &vs);
	if (!vs)
		return r;
	if (r == -ENOENT)
		r = gather_inactive(s, vs);
	else if (IN_SET(r, -ENOMEM, -EINVAL)) /* -EINVAL: $NVMF_RAID_RUNTIME_DIR */
		return r;
	else if (r < 0) {
		/* The descriptor is there (attached) but unusable; desc_read()
		 * logged what is wrong with its content. */
		s->attached = true;
		r = set_error(s, "cannot read its descriptor: %s", strerror(-r));
	} else
		r = gather_attached(udev, s, vs->desc);
	if (r < 0)
		return r;
	s->problems = status_problems(s);
	s->state = status_volume_state(s);
	*ret = TAKE_PTR(s);
	return 0;
}
