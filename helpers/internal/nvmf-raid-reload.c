/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-reload VOLUME: ExecReload= of nvmf-raid@.service.
 *
 * Applies a changed volume file to the attached volume, then grows the
 * array if the namespaces grew (lib/grow.c).  The new file is validated
 * first and every added replica is connected and probed before the array
 * is touched, so a bad file or an unusable replica changes nothing.
 *
 * Replicas are matched by section name.  Added ones are connected, the
 * array gets a slot more each and they are added and resynced in full;
 * removed ones are failed, removed, their slots dropped and their
 * subsystems disconnected unless something else uses them.  Adding goes
 * first, so redundancy never dips below what it was.  New settings and
 * portals apply to the kept replicas' controllers; a portal dropped from
 * the file stays connected until the volume is detached.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk.h"
#include "descriptor.h"
#include "device.h"
#include "exec.h"
#include "exit-status.h"
#include "fabrics.h"
#include "fileio.h"
#include "grow.h"
#include "helper.h"
#include "log.h"
#include "md.h"
#include "reconcile.h"
#include "session.h"
#include "state-record.h"
#include "teardown.h"
#include "volume.h"

struct reload {
	struct vs_session *s;	/* owns the file, the old descriptor, the lock */
	struct vol_volume *vol; /* s->vol */
	struct desc *old;	/* s->desc: as attached */
	struct desc *new;
	bool added[VOL_REPLICAS_MAX];	/* index into new */
	bool ours[VOL_REPLICAS_MAX];	/* added, carries this array's superblock */
	bool removed[VOL_REPLICAS_MAX]; /* index into old */
	unsigned n_added, n_removed;
};

static void reload_done(struct reload *c)
{
	desc_free(c->new);
	vs_close(c->s);
}

/* What changes, and whether it may: refused cases change nothing. */
static int plan(struct reload *c)
{
	unsigned in_sync_kept = 0;
	int r;

	r = desc_from_volume(c->vol, &c->new);
	if (r < 0)
		return log_error_errno(r, "%s: cannot build the new descriptor: %m", c->vol->name);
	if ((c->old->n_replicas == 1) != (c->new->n_replicas == 1) ||
	    (c->old->n_replicas > 1 && !c->old->md.device))
		return log_error_errno(EINVAL,
				       "%s: a volume of one replica has no array and one of "
				       "several has; changing between them needs a detach and a new "
				       "volume. Nothing changed.",
				       c->vol->name);
	for (unsigned i = 0; i < c->new->n_replicas; i++) {
		struct desc_replica *n = &c->new->replicas[i];
		const struct desc_replica *o = desc_find_replica(c->old, n->name);

		if (!o) {
			c->added[i] = true;
			c->n_added++;
			continue;
		}
		if (!streq(o->nqn, n->nqn) || !vol_ns_id_eq(&o->ns, &n->ns))
			return log_error_errno(EINVAL,
					       "%s: %s [replica.%s]: nqn or namespace (uuid, nguid, nsid) changed; a new "
					       "namespace needs a new section name. Nothing changed.",
					       c->vol->name, c->vol->path, n->name);
		/* Kept: it is where it was, in the state it was. */
		n->state = o->state;
		r = desc_set_string(&n->device, o->device);
		if (r < 0)
			return r;
		in_sync_kept += o->state == STATE_IN_SYNC;
	}
	for (unsigned i = 0; i < c->old->n_replicas; i++)
		if (!desc_find_replica(c->new, c->old->replicas[i].name)) {
			c->removed[i] = true;
			c->n_removed++;
		}
	if (c->n_removed > 0 && in_sync_kept == 0)
		return log_error_errno(EINVAL,
				       "%s: removing those replicas would leave no in-sync one. "
				       "Nothing changed.",
				       c->vol->name);
	if (desc_set_string(&c->new->md.device, c->old->md.device) < 0 ||
	    desc_set_string(&c->new->md.uuid, c->old->md.uuid) < 0 ||
	    desc_set_string(&c->new->md.name, c->old->md.name) < 0)
		return log_oom();
	return 0;
}

/* A descriptor of @d's volume holding only the replicas marked in @which
 * (devices left out): what the index and teardown functions take. */
static struct desc *subset(const struct desc *d, const bool *which)
{
	struct desc *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	memcpy(s->volume, d->volume, sizeof(s->volume));
	for (unsigned i = 0; i < d->n_replicas; i++)
		if (which[i]) {
			s->replicas[s->n_replicas] = d->replicas[i];
			s->replicas[s->n_replicas++].device = NULL;
		}
	return s;
}

/* Disconnects the subsystems of @which that no replica of @keep and no
 * other attached volume uses, and drops their index entries. */
static void let_go(const struct desc *d, const bool *which, const struct desc *keep)
{
	_cleanup_desc_ struct desc *s = subset(d, which);
	bool go[VOL_REPLICAS_MAX] = {};
	_cleanup_desc_ struct desc *t = NULL;

	if (!s)
		return;
	desc_remove_index(s);
	for (unsigned i = 0; i < s->n_replicas; i++) {
		go[i] = true;
		for (unsigned j = 0; keep && j < keep->n_replicas; j++)
			if (streq(keep->replicas[j].nqn, s->replicas[i].nqn))
				go[i] = false;
	}
	t = subset(s, go);
	if (t)
		teardown_connections(t);
}

/* What an added member must hold: md's component size past the data
 * offset the members in the array have, which mdadm gives a new one too.
 * Checked here so that a replica too small is refused before the array
 * is touched, not by mdadm half way. */
static int member_bytes_needed(const struct reload *c, uint64_t *ret)
{
	const char *md = c->new->md.device;
	uint64_t kib, offset;
	int r;

	r = md_component_size_kib(md, &kib);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the size of %s: %m", c->vol->name, md);
	*ret = kib * 1024;
	for (unsigned i = 0; i < c->old->n_replicas; i++) {
		const char *dev = c->old->replicas[i].device;

		if (dev && md_member_read_u64(md, dev, "offset", &offset) == 0) {
			*ret += offset * 512;
			break;
		}
	}
	return 0;
}

/* Waits (udev, deadline degraded-timeout) for the namespaces of the added
 * replicas, then probes each: blank or this array's, never anything else,
 * and large enough. */
static int bring_added(struct reload *c, struct udev *udev, struct udev_monitor *mon)
{
	uint64_t deadline = now_usec() + (uint64_t)c->vol->degraded_timeout * 1000000, needed = 0;
	unsigned missing;
	int r;

	for (unsigned i = 0; i < c->new->n_replicas; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;

		if (!c->added[i])
			continue;
		/* There before the index named it: make udev tag it now. */
		if (dev_namespace_find(udev, c->new->replicas[i].nqn, &c->new->replicas[i].ns, &dev) > 0 &&
		    !udev_device_get_property_value(dev, "NVMF_RAID_VOLUME"))
			dev_trigger_change(udev_device_get_syspath(dev));
		/* fab_connect_replica() warned for each portal that failed. */
		if (fab_connect_replica(c->vol, &c->vol->replicas[i]) < 0)
			log_debug("%s: replica %s: no portal could be connected yet.", c->vol->name,
				  c->new->replicas[i].name);
	}
	for (;;) {
		_cleanup_(udev_device_unrefp) struct udev_device *ev = NULL;

		missing = 0;
		for (unsigned i = 0; i < c->new->n_replicas; i++) {
			_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
			struct desc_replica *rep = &c->new->replicas[i];

			if (!c->added[i] || rep->device)
				continue;
			if (dev_namespace_find(udev, rep->nqn, &rep->ns, &dev) > 0 &&
			    streq(udev_device_get_property_value(dev, "NVMF_RAID_VOLUME"), c->vol->name)) {
				r = desc_set_string(&rep->device, udev_device_get_devnode(dev));
				if (r < 0)
					return r;
				state_transition(&rep->state, STATE_PRESENT);
				log_info("%s: added replica %s is %s.", c->vol->name, rep->name,
					 rep->device);
			} else
				missing++;
		}
		if (missing == 0)
			break;
		r = dev_monitor_next(mon, deadline, &ev);
		if (r < 0)
			return r;
		if (r == 0) {
			for (unsigned i = 0; i < c->new->n_replicas; i++) {
				char id[160];

				if (!c->added[i] || c->new->replicas[i].device)
					continue;
				vol_ns_id_describe(&c->new->replicas[i].ns, id, sizeof(id));
				log_error("%s: added replica %s (%s, namespace %s) did not appear "
					  "within %us. Nothing changed.",
					  c->vol->name, c->new->replicas[i].name,
					  c->new->replicas[i].nqn, id, c->vol->degraded_timeout);
			}
			return -ETIMEDOUT;
		}
	}
	if (c->new->md.device && (r = member_bytes_needed(c, &needed)) < 0)
		return r;
	for (unsigned i = 0; i < c->new->n_replicas && c->new->md.device; i++) {
		_cleanup_free_ char *what = NULL;
		const struct desc_replica *rep = &c->new->replicas[i];
		uint64_t size;
		int k;

		if (!c->added[i])
			continue;
		size = dev_size_bytes(rep->device);
		if (size < needed)
			return log_error_errno(ENOSPC,
					       "%s: added replica %s (%s) has %" PRIu64 " bytes; "
					       "a member of %s needs %" PRIu64 ". Nothing changed.",
					       c->vol->name, rep->name, rep->device, size,
					       c->new->md.device, needed);
		k = blk_may_write(rep->device, c->new->md.uuid, &what, NULL);
		if (k < 0)
			return log_error_errno(k, "%s: cannot probe %s: %m", c->vol->name, rep->device);
		if (k == BLK_FOREIGN)
			return log_error_errno(EEXIST,
					       "%s: added replica %s (%s) holds %s; not adding "
					       "it. Nothing changed.",
					       c->vol->name, rep->name, rep->device, what);
		c->ours[i] = k == BLK_OURS;
	}
	return 0;
}

/* More slots: with --force, as a spare added to a degraded array fills
 * the missing slot first and mdadm would refuse to leave one empty; that
 * one belongs to the replica that is away, which gets it back (in full)
 * when it returns. */
static int set_raid_devices(const char *mddev, unsigned n, bool more)
{
	char arg[32];
	uint64_t slots;

	/* Already so: a reload killed after this step. */
	if (md_raid_disks(mddev, &slots) == 0 && slots == n)
		return 0;
	snprintf(arg, sizeof(arg), "--raid-devices=%u", n);
	return md_grow(mddev, arg, more);
}

/* Adds first (a spare, then a slot more for it: md recovers onto it in
 * full), removes after. */
static int change_array(struct reload *c)
{
	const char *md = c->new->md.device;
	char st[128];
	int r = 0, frozen = 0;

	/* Added as spares first: mdadm grows the slots only onto spares
	 * ("Need 1 spare to avoid degraded array"), then md recovers them.
	 * Frozen meanwhile: in a degraded array md would otherwise start
	 * recovering the first spare into the missing slot at once, and a
	 * running recovery makes md refuse the new slot count. */
	if (c->n_added > 0) {
		frozen = md_freeze(md);
		if (frozen < 0)
			log_debug_errno(frozen, "Cannot freeze %s: %m", md);
	}
	for (unsigned i = 0; i < c->new->n_replicas; i++) {
		struct desc_replica *rep = &c->new->replicas[i];

		if (!c->added[i])
			continue;
		/* Added already, by a reload that was killed. */
		if (md_member_state(md, rep->device, st, sizeof(st)) == 0) {
			state_transition(&rep->state, STATE_REBUILDING);
			continue;
		}
		/* A superblock of ours is an old copy: recover it in full. */
		if (c->ours[i] && (r = md_zero_superblock(rep->device)) < 0)
			break;
		r = md_add(md, rep->device);
		if (r < 0)
			break;
		state_transition(&rep->state, STATE_REBUILDING);
		log_info("%s: replica %s (%s) added; recovering.", c->vol->name, rep->name, rep->device);
	}
	if (c->n_added > 0) {
		if (r >= 0)
			r = set_raid_devices(md, c->old->n_replicas + c->n_added, true);
		md_thaw(md, frozen);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < c->old->n_replicas; i++) {
		const struct desc_replica *rep = &c->old->replicas[i];

		if (!c->removed[i] || !rep->device || md_member_state(md, rep->device, st, sizeof(st)) < 0)
			continue;
		if (!strstr(st, "faulty"))
			(void)md_fail(md, rep->device);
		r = md_remove(md, rep->device);
		if (r < 0)
			return r;
		log_info("%s: replica %s (%s) removed from %s.", c->vol->name, rep->name, rep->device, md);
	}
	if (c->n_removed > 0)
		return set_raid_devices(md, c->new->n_replicas, false);
	return 0;
}

static int apply(struct reload *c)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(udev_monitor_unrefp) struct udev_monitor *mon = NULL;
	int r;

	r = plan(c);
	if (r < 0)
		return r;
	if (!udev)
		return log_oom();
	r = dev_monitor_open(udev, &mon);
	if (r < 0)
		return log_error_errno(r, "%s: failed to listen to udev: %m", c->vol->name);

	/* New timeouts, portals and keys for the replicas that stay.  One
	 * whose controllers are all gone is the monitor's to reconnect, but
	 * the monitor retries one whose authentication was refused only
	 * after a back-off (reconcile.c): after a reload it is
	 * tried now, in a child (a silent portal holds a connect for the
	 * kernel's TCP timeout), which logs how it went. */
	for (unsigned i = 0; i < c->new->n_replicas; i++) {
		const struct vol_replica *vr = &c->vol->replicas[i];

		if (c->added[i])
			continue;
		if (fab_count_ctrls(vr->nqn) > 0)
			fab_connect_replica(c->vol, vr);
		else if (vr->dhchap_key && exec_fork() == 0)
			_exit(fab_connect_replica(c->vol, vr) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
	}

	if (c->n_added > 0) {
		r = desc_write_index(c->new);
		if (r >= 0)
			r = bring_added(c, udev, mon);
		if (r < 0) {
			let_go(c->new, c->added, c->old);
			return r;
		}
	}
	/* Held by the lock, no freeze of ours is current: one there now was
	 * left by a helper that was killed, and would stop md recovering. */
	if (c->new->md.device && md_thaw_leftover(c->new->md.device) > 0)
		log_info("%s: %s was left frozen by an interrupted helper; resync may go on.",
			 c->vol->name, c->new->md.device);
	if (c->new->md.device && (c->n_added > 0 || c->n_removed > 0)) {
		r = change_array(c);
		if (r < 0) {
			/* Part done: record what is, the monitor takes it from there. */
			desc_write(c->new);
			return log_error_errno(r,
					       "%s: changing the array failed part way; "
					       "see mdadm's message above.",
					       c->vol->name);
		}
	}
	if (c->n_removed > 0)
		let_go(c->old, c->removed, c->new);
	reconcile_write_mostly(c->new);
	r = desc_write(c->new);
	if (r < 0)
		return log_error_errno(r, "%s: failed to write the descriptor: %m", c->vol->name);
	r = reconcile_record(c->new);
	if (r < 0) {
		/* The array runs with the change made: the monitor tries again
		 * (record-stale), the reload reports it failed. */
		c->new->record_stale = true;
		(void)desc_write(c->new);
		return log_error_errno(r,
				       "%s: cannot write the in-sync record %s/%s.json (%m); the "
				       "monitor tries again.",
				       c->vol->name, state_record_dir(), c->vol->name);
	}
	log_info("%s: volume file applied: %u replica(s) added, %u removed.", c->vol->name, c->n_added,
		 c->n_removed);
	return 0;
}

static int reload(const char *name)
{
	_cleanup_(reload_done) struct reload c = {};
	uint64_t size;
	int r;

	r = vs_open(name, VS_FILE | VS_CROSS, &c.s);
	if (!c.s)
		return EXIT_FAILED;
	vs_log_problems(c.s);
	if (r == -ENOENT && c.s->failed == VS_STEP_FIND)
		log_error("%s: no volume file %s/%s.conf or %s/%s.conf; nothing changed.", name,
			  vol_etc_dir(), name, vol_run_dir(), name);
	else if (c.s->failed == VS_STEP_LOAD)
		log_error("%s: the volume file is not valid; nothing changed.", name);
	else if (c.s->failed == VS_STEP_CROSS)
		log_error("%s: nothing changed.", name);
	if (r < 0)
		return vs_exit_status(c.s, r);
	c.vol = c.s->vol;

	r = vs_lock(c.s, false);
	if (r >= 0)
		r = vs_read_desc(c.s);
	if (r == -ENOENT) {
		log_error("%s: not attached; start nvmf-raid@%s.service instead.", name, name);
		return EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "%s: cannot read its descriptor: %m", name);
		return EXIT_FAILED;
	}
	c.old = c.s->desc;
	r = apply(&c);
	vs_unlock(c.s, false);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;

	/* The namespaces may have grown too (the backend's extend). */
	r = grow_volume(name, &size);
	if (r == -EAGAIN)
		log_warning("%s: not grown; reload again once every replica has grown.", name);
	else if (r < 0)
		return EXIT_FAILED;
	return EXIT_OK;
}

int main(int argc, char *argv[])
{
	return helper_main(argc, argv, "nvmf-raid-reload",
			   "Apply a changed volume file to an attached nvmf-raid volume (replicas\n"
			   "added or removed, new settings) and grow its array after the replicas'\n"
			   "namespaces grew.  Run by `systemctl reload nvmf-raid@VOLUME`; see\n"
			   "nvmf-raid@.service(8).\n",
			   reload);
}
