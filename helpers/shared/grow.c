/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "device.h"
#include "fabrics.h"
#include "fileio.h"
#include "grow.h"
#include "log.h"
#include "md.h"
#include "session.h"

/* The kernel applies a size the target reports only when its scan work
 * has run, which under load takes seconds; bounded. */
#define SETTLE_USEC (15ULL * 1000 * 1000)

struct member {
	const struct desc_replica *r;
	bool in_array;
	bool grown; /* the namespace offers md more than it uses */
	uint64_t ns_bytes;
};

/* For each replica: is it a member, and did its namespace grow past what
 * md uses of it (dev-X/size, KiB, after the data offset, sectors)? */
static unsigned measure(const struct desc *d, struct member *m)
{
	unsigned grown = 0;

	for (unsigned i = 0; i < d->n_replicas; i++) {
		const struct desc_replica *r = &d->replicas[i];
		char st[128];
		uint64_t used_kib, offset;

		m[i] = (struct member){ .r = r };
		if (!r->device || md_member_state(d->md.device, r->device, st, sizeof(st)) < 0 ||
		    strstr(st, "faulty"))
			continue;
		if (md_member_read_u64(d->md.device, r->device, "size", &used_kib) < 0 ||
		    md_member_read_u64(d->md.device, r->device, "offset", &offset) < 0)
			continue;
		m[i].in_array = true;
		m[i].ns_bytes = dev_size_bytes(r->device);
		m[i].grown = m[i].ns_bytes / 512 > offset + used_kib * 2;
		grown += m[i].grown;
	}
	return grown;
}

/* Rescans every replica's controllers, then waits (udev change events,
 * bounded) until each namespace's block device has the size its target
 * reports now (Identify Namespace): no wait when nothing changed, and no
 * guessing how long the kernel takes when something did. */
static int rescan(const struct desc *d)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(udev_monitor_unrefp) struct udev_monitor *mon = NULL;
	uint64_t deadline = now_usec() + SETTLE_USEC, step, want[VOL_REPLICAS_MAX] = {};
	int r;

	if (!udev)
		return log_oom();
	r = dev_monitor_open(udev, &mon);
	if (r < 0)
		return log_error_errno(r, "%s: failed to listen to udev: %m", d->volume);
	for (unsigned i = 0; i < d->n_replicas; i++) {
		bool seen = false;

		for (unsigned j = 0; j < i; j++)
			seen = seen || streq(d->replicas[j].nqn, d->replicas[i].nqn);
		if (!seen)
			fab_rescan_nqn(d->replicas[i].nqn);
	}
	for (unsigned i = 0; i < d->n_replicas; i++)
		if (d->replicas[i].device && (r = fab_ns_size(d->replicas[i].device, &want[i])) < 0)
			log_debug_errno(r, "%s: cannot ask %s its size: %m", d->volume,
					d->replicas[i].device);
	for (;;) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		bool settled = true;

		for (unsigned i = 0; i < d->n_replicas; i++)
			if (want[i] && dev_size_bytes(d->replicas[i].device) != want[i])
				settled = false;
		if (settled)
			return 0;
		if (now_usec() >= deadline) {
			log_warning("%s: the kernel has not taken every namespace's new size yet.",
				    d->volume);
			return 0;
		}
		/* Woken by the resize's change event; looking again every
		 * 200 ms as well costs nothing and needs no event. */
		step = now_usec() + 200 * 1000;
		r = dev_monitor_next(mon, step < deadline ? step : deadline, &dev);
		if (r < 0)
			return r;
	}
}

static int grow_md(const struct desc *d, uint64_t *ret_size)
{
	struct member m[VOL_REPLICAS_MAX];
	uint64_t before, after;
	unsigned grown;
	bool blocked = false;
	int r;

	r = md_component_size_kib(d->md.device, &before);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the size of %s: %m", d->volume, d->md.device);
	grown = measure(d, m);
	if (grown == 0) {
		log_info("%s: no replica grew; the size stays %" PRIu64 " bytes.", d->volume,
			 before * 1024);
		*ret_size = before * 1024;
		return 0;
	}
	for (unsigned i = 0; i < d->n_replicas; i++) {
		if (!m[i].in_array) {
			log_error("%s: replica %s is not in the array (%s); its size cannot be checked, "
				  "so the array is not grown.",
				  d->volume, m[i].r->name, state_to_string(m[i].r->state));
			blocked = true;
		} else if (!m[i].grown) {
			log_error("%s: replica %s (%s) has not grown yet (%" PRIu64 " bytes); "
				  "not growing the array until every replica has.",
				  d->volume, m[i].r->name, m[i].r->device, m[i].ns_bytes);
			blocked = true;
		}
	}
	if (blocked)
		return -EAGAIN;
	/* mdadm sets each member's size to what its device offers, then the
	 * array's to the smallest, and resizes the bitmap with it. */
	r = md_grow(d->md.device, "--size=max", false);
	if (r < 0)
		return r == -ENOENT ? -ENOPKG : r;
	r = md_component_size_kib(d->md.device, &after);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the size of %s: %m", d->volume, d->md.device);
	log_info("%s: grown from %" PRIu64 " to %" PRIu64 " bytes.", d->volume, before * 1024,
		 after * 1024);
	*ret_size = after * 1024;
	return 0;
}

int grow_volume(const char *volume, uint64_t *ret_size)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	const struct desc *d;
	int r;

	r = vs_open(volume, VS_LOCK | VS_DESC, &s);
	if (r == -ENOENT) {
		log_error("%s: not attached.", volume);
		return -ENOENT;
	}
	if (r < 0)
		return log_error_errno(r, "%s: cannot read its descriptor: %m", volume);
	d = s->desc;
	if (d->md.device && !md_array_active(d->md.device))
		return log_error_errno(ENXIO, "%s: array %s is not running.", volume, d->md.device);
	/* A freeze seen under the lock is a killed helper's (md_thaw_leftover()). */
	if (d->md.device && md_thaw_leftover(d->md.device) > 0)
		log_info("%s: %s was left frozen by an interrupted helper; resync may go on.", volume,
			 d->md.device);
	if (!d->md.device && !d->replicas[0].device)
		return log_error_errno(ENXIO, "%s: its namespace is not connected.", volume);

	r = rescan(d);
	if (r < 0)
		return r;
	if (d->md.device)
		return grow_md(d, ret_size);
	*ret_size = dev_size_bytes(d->replicas[0].device);
	if (*ret_size == 0)
		return log_error_errno(ENXIO, "%s: cannot read the size of %s.", volume,
				       d->replicas[0].device);
	log_info("%s: size %" PRIu64 " bytes.", volume, *ret_size);
	return 0;
}
