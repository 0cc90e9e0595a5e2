/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-attach VOLUME: ExecStart= of nvmf-raid@.service.
 *
 * Validates the volume file, writes the descriptor and the by-uuid index
 * (which the udev rule reads), connects every replica, waits for udev to
 * report the namespaces, then creates or assembles the RAID1 and returns
 * once /dev/nvmf-raid/VOLUME exists.  Waiting is on udev events with a
 * deadline, never on sleeps.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "blk.h"
#include "descriptor.h"
#include "device.h"
#include "exec.h"
#include "exit-status.h"
#include "helper.h"
#include "fabrics.h"
#include "fabsec.h"
#include "fileio.h"
#include "hostid.h"
#include "log.h"
#include "md.h"
#include "reconcile.h"
#include "session.h"
#include "teardown.h"
#include "volume.h"
#include "assemble.h"
#include "event.h"
#include "state-record.h"

#define LINK_TIMEOUT_USEC (30ULL * 1000000) /* udev linking a device we made */
#define LINK_NUDGE_USEC (5ULL * 1000000)    /* then its change event again */
/* A replica whose controller is live but whose namespace udev has not
 * announced yet (a busy udev at boot took over 5 s): waited for this much
 * beyond degraded-timeout, which bounds replicas that are not reachable. */
#define NS_GRACE_USEC (30ULL * 1000000)
/* Both waits count from when udev's queue was last seen busy: 8 volumes
 * attached at once in a Debian 13 guest left udev 30 s behind, and an
 * attach gave up on a link udev had not come to yet (rebuild_test, CI of
 * 5b3cd82).  This bounds a udev that never empties its queue. */
#define UDEV_BUSY_MAX_USEC (600ULL * 1000000)

struct attach {
	struct vs_session *s;	/* owns the file, descriptor, record and lock */
	struct vol_volume *vol; /* s->vol */
	struct desc *desc;	/* s->desc, once made */
	struct udev *udev;
	struct udev_monitor *mon;
	char md_name[MD_NAME_MAX + 1];
	char md_uuid[36];
	char link[PATH_MAX];
	bool connected;			 /* something was connected: roll back on failure */
	bool accept_stale;		 /* the admin's override (see --help) */
	bool unlisted[VOL_REPLICAS_MAX]; /* connected, and the subsystem has no such namespace */
	unsigned waited_sec; /* for the namespaces: degraded-timeout, and the grace if given */
	enum assemble_kind kind[VOL_REPLICAS_MAX];
	struct assemble_plan plan;
};

/* Return: 0 if @module was there already, 1 if it was loaded now. */
static int load_module(const char *module)
{
	_cleanup_free_ char *modprobe = NULL, *err = NULL;
	char sys[64];
	struct utsname u;
	int r;

	/* Loaded (or built in) already: spare the exec. */
	snprintf(sys, sizeof(sys), "/sys/module/%s", module);
	for (char *c = sys + STRLEN("/sys/module/"); *c; c++)
		if (*c == '-')
			*c = '_';
	if (access(sys, F_OK) == 0)
		return 0;
	r = exec_find("modprobe", &modprobe);
	if (r == 0)
		r = exec_run((char *[]){ modprobe, (char *)"-q", (char *)module, NULL }, NULL, &err);
	if (r == 0)
		return 1;
	uname(&u);
	log_error("Kernel module %s is not available: install the Debian package "
		  "linux-image-%s (and kmod).",
		  module, u.release);
	return -ENOENT;
}

/* The PSKs of TLS replicas are in the kernel keyring only once nvme_tcp
 * provides its "psk" key type: nvme-cli's 70-nvmf-keys.rules imports
 * NVME_TLS_KEYFILE when udev sees the module come, as nvme-cli's
 * Documentation/nvme-tls.md describes.  Having loaded nvme_tcp here (at
 * boot, typically), wait for that rule rather than connect without the
 * keys.  Waiting is all it is: a failure only leaves the connect to say
 * what is missing. */
static void tls_keys_settle(void)
{
	_cleanup_free_ char *udevadm = NULL;

	if (access(NVME_TLS_KEYFILE, F_OK) < 0 || exec_find("udevadm", &udevadm) < 0)
		return;
	(void)exec_run((char *[]){ udevadm, (char *)"settle", (char *)"--timeout=10", NULL }, NULL, NULL);
}

static int check_requirements(const struct vol_volume *v)
{
	_cleanup_free_ char *mdadm = NULL;
	static const char *const modules[] = {
		[VOL_TRANSPORT_TCP] = "nvme-tcp",
		[VOL_TRANSPORT_RDMA] = "nvme-rdma",
		[VOL_TRANSPORT_FC] = "nvme-fc",
	};
	bool need[3] = {}, tls = false;
	int r;

	if (v->n_replicas > 1 && exec_find("mdadm", &mdadm) < 0) {
		log_error("%s: mdadm not found: install the Debian package mdadm.", v->name);
		return -ENOENT;
	}
	for (unsigned i = 0; i < v->n_replicas; i++) {
		tls |= v->replicas[i].tls;
		for (unsigned j = 0; j < v->replicas[i].n_portals; j++)
			need[v->replicas[i].portals[j].transport] = true;
	}
	for (unsigned t = 0; t < ELEMENTSOF(modules); t++) {
		if (!need[t])
			continue;
		r = load_module(modules[t]);
		if (r < 0)
			return r;
		if (r > 0 && t == VOL_TRANSPORT_TCP && tls)
			tls_keys_settle();
	}
	if (v->n_replicas > 1 && (r = load_module("raid1")) < 0)
		return r;
	/* Asked for authentication or TLS: a kernel without it gets nothing
	 * connected, rather than a connection without it. */
	return fabsec_kernel_check(v);
}

/* What the member holds, probed with libblkid once it appears: nothing,
 * this volume's array, or anything else. */
static int probe_kind(struct attach *a, const struct desc_replica *r)
{
	_cleanup_free_ char *what = NULL, *md_uuid = NULL;
	unsigned i = (unsigned)(r - a->desc->replicas);
	int k;

	k = blk_may_write(r->device, a->md_uuid, &what, &md_uuid);
	if (k < 0)
		return log_error_errno(k, "%s: failed to probe %s: %m", a->vol->name, r->device);
	if (k == BLK_BLANK)
		a->kind[i] = KIND_BLANK;
	else if (k == BLK_OURS)
		a->kind[i] = KIND_OURS;
	else {
		a->kind[i] = KIND_FOREIGN;
		if (md_uuid)
			log_error("%s: replica %s (%s) belongs to another md array (uuid %s); not touching it.",
				  a->vol->name, r->name, r->device, md_uuid);
		else
			log_error("%s: replica %s (%s) holds a signature (%s); refusing to create the array over it.",
				  a->vol->name, r->name, r->device, what);
	}
	return 1;
}

/* Records that replica @name of our volume is @dev; 1 if newly present. */
static int note_member(struct attach *a, struct udev_device *dev)
{
	const char *vol = udev_device_get_property_value(dev, "NVMF_RAID_VOLUME");
	const char *rep = udev_device_get_property_value(dev, "NVMF_RAID_REPLICA");
	const char *node = udev_device_get_devnode(dev);
	struct desc_replica *r;
	int k;

	if (!streq(vol, a->vol->name) || !rep || !node)
		return 0;
	if (streq(udev_device_get_action(dev), "remove"))
		return 0;
	r = desc_find_replica(a->desc, rep);
	if (!r || r->state != STATE_ABSENT)
		return 0;
	k = desc_set_string(&r->device, node);
	if (k < 0)
		return k;
	k = state_transition(&r->state, STATE_PRESENT);
	if (k < 0)
		return k;
	log_info("%s: replica %s is %s.", a->vol->name, r->name, node);
	if (a->vol->n_replicas > 1)
		return probe_kind(a, r);
	return 1;
}

/* Namespaces that were there before our index entry (a subsystem shared
 * with another volume, a second start) get a "change" so that udev tags
 * them; ours already tagged are taken as they are. */
static int scan_existing(struct attach *a)
{
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		int r = dev_namespace_find(a->udev, a->desc->replicas[i].nqn, &a->desc->replicas[i].ns,
					   &dev);

		if (r <= 0)
			continue;
		if (streq(udev_device_get_property_value(dev, "NVMF_RAID_VOLUME"), a->vol->name) &&
		    streq(udev_device_get_property_value(dev, "NVMF_RAID_REPLICA"),
			  a->desc->replicas[i].name))
			r = note_member(a, dev);
		else
			r = dev_trigger_change(udev_device_get_syspath(dev));
		if (r < 0)
			return r;
	}
	return 0;
}

static void decide(struct attach *a, bool deadline_passed)
{
	struct assemble_input in = {
		.n = a->desc->n_replicas,
		.min_replicas = a->vol->min_replicas,
		.deadline_passed = deadline_passed,
		.have_record = a->s->have_record,
		.accept_stale = a->accept_stale,
	};

	for (unsigned i = 0; i < in.n; i++) {
		in.kind[i] = a->desc->replicas[i].state == STATE_ABSENT ? KIND_ABSENT : a->kind[i];
		in.outdated[i] = a->vol->replicas[i].outdated;
		in.in_record[i] = a->s->have_record &&
				  state_record_vouches(&a->s->record, a->vol->replicas[i].name,
						       a->vol->replicas[i].nqn, &a->vol->replicas[i].ns);
	}
	if (in.n == 1) {
		/* No array: the namespace is the volume, or nothing is. */
		a->plan = (struct assemble_plan){
			.action = a->desc->replicas[0].state != STATE_ABSENT ? ASSEMBLE_START :
				  deadline_passed			     ? ASSEMBLE_REFUSE_FEW :
									       ASSEMBLE_WAIT,
		};
		return;
	}
	assert_se(assemble_decide(&in, &a->plan) == 0);
}

/* The first replica whose controller is live while its namespace has not
 * appeared, and which its subsystem may still have: one that a controller
 * says it has no such namespace is not waited for (it is marked in
 * a->unlisted for refuse()).  NULL if there is none. */
static const struct desc_replica *connected_absent(struct attach *a)
{
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		const struct desc_replica *r = &a->desc->replicas[i];

		if (r->state != STATE_ABSENT || !fab_ctrl_live(r->nqn))
			continue;
		if (fab_ns_listed(r->nqn, &r->ns) == 0) {
			a->unlisted[i] = true;
			continue;
		}
		return r;
	}
	return NULL;
}

/* Waits on udev until the policy can decide (lib/assemble.h): all
 * replicas here, or every in-sync one, or degraded-timeout passed — and
 * then once more, up to NS_GRACE_USEC, while a replica is connected but
 * its namespace not yet announced: one replica that is there must never
 * be given up for a slow udev (a plain NVMe volume would come up).  Not
 * for a namespace its controller says the subsystem does not have: that
 * one is not coming (a wrong uuid in the volume file). */
static int wait_members(struct attach *a)
{
	uint64_t deadline = now_usec() + (uint64_t)a->vol->degraded_timeout * 1000000;
	uint64_t busy_cap = now_usec() + UDEV_BUSY_MAX_USEC;
	bool passed = false, graced = false;
	const struct desc_replica *late;
	int r;

	a->waited_sec = a->vol->degraded_timeout;
	r = scan_existing(a);
	for (;;) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;

		if (r < 0)
			return log_error_errno(r, "%s: failed waiting for replicas: %m", a->vol->name);
		decide(a, passed);
		if (a->plan.action != ASSEMBLE_WAIT)
			return 0;
		r = dev_monitor_next(a->mon, deadline, &dev);
		if (r == 0 && graced && now_usec() < busy_cap && dev_udev_busy(a->udev) &&
		    connected_absent(a)) {
			/* udev is behind: the namespace may be in its queue. */
			deadline = now_usec() + NS_GRACE_USEC;
			a->waited_sec += NS_GRACE_USEC / 1000000;
			continue;
		}
		if (r == 0 && !graced && (late = connected_absent(a))) {
			graced = true;
			deadline = now_usec() + NS_GRACE_USEC;
			a->waited_sec += NS_GRACE_USEC / 1000000;
			log_notice("%s: replica %s is connected, its namespace not announced yet after %us; "
				   "waiting up to %llus more for it.",
				   a->vol->name, late->name, a->vol->degraded_timeout,
				   NS_GRACE_USEC / 1000000);
		} else if (r == 0)
			passed = true;
		else if (r > 0)
			r = note_member(a, dev);
	}
}

/* Says why the policy refused, naming the replicas. */
static int refuse(struct attach *a)
{
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		const struct desc_replica *r = &a->desc->replicas[i];
		char id[160];

		vol_ns_id_describe(&r->ns, id, sizeof(id));
		if (r->state == STATE_ABSENT && a->unlisted[i])
			log_error("%s: replica %s: subsystem %s has no namespace %s (its controller's "
				  "active namespace list).",
				  a->vol->name, r->name, r->nqn, id);
		else if (r->state == STATE_ABSENT)
			log_error("%s: replica %s (%s, namespace %s) did not appear within %us.",
				  a->vol->name, r->name, r->nqn, id, a->waited_sec);
		else if (a->plan.action == ASSEMBLE_REFUSE_STALE)
			event_emit(EVENT_STALE_REFUSED, a->vol->name, r->name, a->vol->notify,
				   "%s: replica %s (%s) is stale (%s); refusing to start from it. "
				   "Nothing was written.",
				   a->vol->name, r->name, r->device,
				   a->vol->replicas[i].outdated ? "outdated = yes" :
								  "not in the last in-sync set");
	}
	switch (a->plan.action) {
	case ASSEMBLE_REFUSE_STALE:
		return log_error_errno(ESTALE,
				       "%s: only stale replicas are reachable; not starting. "
				       "It starts when an in-sync replica returns.",
				       a->vol->name);
	case ASSEMBLE_REFUSE_FEW:
		return log_error_errno(ENODEV, "%s: %s; not starting (min-replicas = %u).", a->vol->name,
				       a->s->have_record || a->plan.n_use ?
					       "too few usable replicas" :
					       "no record of which replicas are in sync, so all must be present",
				       a->vol->min_replicas);
	case ASSEMBLE_REFUSE_MIXED:
		return log_error_errno(EEXIST,
				       "%s: some replicas carry the array and some are blank, and "
				       "there is no record to tell which are current; not starting.",
				       a->vol->name);
	default:
		return log_error_errno(EEXIST, "%s: a replica holds foreign data; not starting.",
				       a->vol->name);
	}
}

/* Sends the "change" event of the device the link is to name again: the
 * array that holds the first member, or the one replica's namespace. */
static void retrigger_link_target(struct attach *a)
{
	char mddev[32], sys[PATH_MAX];

	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		const char *dev = a->desc->replicas[i].device;

		if (!dev || strncmp(dev, "/dev/", STRLEN("/dev/")) != 0)
			continue;
		if (a->vol->n_replicas > 1) {
			if (md_holder(NULL, dev, mddev) <= 0)
				continue;
			dev = mddev;
		}
		snprintf(sys, sizeof(sys), "/sys/class/block/%s", dev + STRLEN("/dev/"));
		(void)dev_trigger_change(sys);
		return;
	}
}

/* Waits until udev made /dev/nvmf-raid/VOLUME.  udev may have handled the
 * device's events before it could know the device is ours: after a start
 * killed during mdadm --assemble (Debian 13, crash_test), the next start
 * assembled the array and no link came.  Every LINK_NUDGE_USEC without the
 * link, the device's "change" event is sent again. */
static int wait_link(struct attach *a)
{
	uint64_t start = now_usec(), deadline = start + LINK_TIMEOUT_USEC, nudge = start + LINK_NUDGE_USEC;
	bool said = false, told_busy = false;

	for (;;) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		uint64_t now;
		bool busy;
		int r;

		if (access(a->link, F_OK) == 0) {
			log_debug("%s: udev made %s.", a->vol->name, a->link);
			return 0;
		}
		now = now_usec();
		busy = dev_udev_busy(a->udev);
		/* udev has events to go through: the device's may be among
		 * them; and a change event more would only join the queue. */
		if (busy && now - start < UDEV_BUSY_MAX_USEC) {
			if (now - start >= LINK_TIMEOUT_USEC && !told_busy)
				log_info("%s: udev has events queued still; waiting for it to make %s.",
					 a->vol->name, a->link);
			told_busy = told_busy || now - start >= LINK_TIMEOUT_USEC;
			deadline = now + LINK_TIMEOUT_USEC;
			nudge = now + LINK_NUDGE_USEC;
		}
		if (now >= deadline)
			return log_error_errno(ETIMEDOUT, "%s: udev did not create %s.", a->vol->name,
					       a->link);
		if (now >= nudge) {
			if (!said)
				log_info("%s: udev has not made %s yet; sending the device's change "
					 "event again.",
					 a->vol->name, a->link);
			said = true;
			retrigger_link_target(a);
			nudge = now + LINK_NUDGE_USEC;
		}
		r = dev_monitor_next(a->mon, nudge < deadline ? nudge : deadline, &dev);
		if (r < 0)
			return r;
	}
}

struct connect_job {
	const struct vol_volume *vol;
	const struct vol_replica *replica;
	int result;
};

/* mdadm --create or --assemble over the members the policy chose. */
static int run_mdadm(struct attach *a)
{
	const char *members[VOL_REPLICAS_MAX];
	bool create = a->plan.action == ASSEMBLE_CREATE;

	for (unsigned i = 0; i < a->desc->n_replicas; i++)
		members[i] = a->plan.use[i] ? a->desc->replicas[i].device : NULL;
	log_info("%s: %s /dev/md/%s %s %u of %u replicas.", a->vol->name,
		 create ? "creating RAID1" : "assembling", a->md_name, create ? "over" : "from",
		 a->plan.n_use, a->desc->n_replicas);
	if (create)
		return md_create(a->md_name, a->md_uuid, members, a->desc->n_replicas);
	return md_assemble(a->md_name, a->md_uuid, members, a->desc->n_replicas, a->plan.degraded);
}

/* The md device (behind the link udev made) and each member's state. */
static int record_array(struct attach *a)
{
	char real[PATH_MAX];
	int r;

	if (!realpath(a->link, real))
		return log_error_errno(errno, "%s: %s vanished: %m", a->vol->name, a->link);
	r = desc_set_string(&a->desc->md.device, real);
	if (r >= 0)
		r = desc_set_string(&a->desc->md.uuid, a->md_uuid);
	if (r >= 0)
		r = desc_set_string(&a->desc->md.name, a->md_name);
	if (r < 0)
		return r;
	/* The link's second source, for events that come without MD_UUID. */
	r = desc_md_dev_index_write(real, a->vol->name, a->md_uuid);
	if (r < 0)
		return log_error_errno(r, "%s: failed to write the index entry of %s: %m", a->vol->name,
				       real);
	/* Members left out stay "present" (or absent); the monitor adds them. */
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		struct desc_replica *rep = &a->desc->replicas[i];

		if (!a->plan.use[i])
			continue;
		r = state_transition(&rep->state, md_member_in_sync(real, rep->device) ? STATE_IN_SYNC :
											 STATE_REBUILDING);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The members were probed when they appeared, up to degraded-timeout ago:
 * look again right before mdadm --create writes a superblock. */
static int still_blank(struct attach *a)
{
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		if (!a->plan.use[i])
			continue;
		if (probe_kind(a, &a->desc->replicas[i]) < 0)
			return -EIO;
		if (a->kind[i] != KIND_BLANK)
			return log_error_errno(EEXIST, "%s: replica %s is no longer blank; not creating.",
					       a->vol->name, a->desc->replicas[i].name);
	}
	return 0;
}

/* An array already holding the members: a start killed after it started
 * the array left it running (taken as it is), or a killed mdadm
 * --assemble left it inactive (stopped, to be assembled again).  The
 * members are this volume's (plan.use: blank or our superblock), so is
 * the array.  Return: 1 if one runs, 0 if none, negative errno. */
static int leftover_array(struct attach *a)
{
	char mddev[32], sys[64];

	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		if (!a->plan.use[i] || md_holder(NULL, a->desc->replicas[i].device, mddev) <= 0)
			continue;
		if (!md_array_active(mddev)) {
			log_info("%s: stopping %s, which an interrupted start left inactive.",
				 a->vol->name, mddev);
			if (md_stop(mddev) < 0)
				return log_error_errno(EBUSY, "%s: %s, left inactive, cannot be stopped.",
						       a->vol->name, mddev);
			return 0;
		}
		log_info("%s: %s runs already (an interrupted start); taking it as it is.",
			 a->vol->name, mddev);
		/* udev may have seen it before our index entry named it. */
		snprintf(sys, sizeof(sys), "/sys/class/block/%s", mddev + STRLEN("/dev/"));
		(void)dev_trigger_change(sys);
		return 1;
	}
	return 0;
}

static int attach_md(struct attach *a)
{
	unsigned absent = 0;
	int r;

	if (a->plan.action == ASSEMBLE_CREATE && still_blank(a) < 0)
		return -EEXIST;
	r = desc_md_index_write(a->md_uuid, a->vol->name);
	if (r < 0)
		return log_error_errno(r, "%s: failed to write the array index: %m", a->vol->name);
	r = desc_set_string(&a->desc->md.uuid, a->md_uuid);
	if (r >= 0)
		r = desc_write(a->desc);
	if (r < 0)
		return r;
	r = leftover_array(a);
	if (r == 0)
		r = run_mdadm(a);
	if (r < 0)
		return r;
	r = wait_link(a);
	if (r >= 0)
		r = record_array(a);
	if (r < 0)
		return r;
	/* The in-sync set the array started with, durably, before use: an
	 * array whose record cannot be written is not used (the caller stops
	 * it), or a later start could assemble from a replica now stale. */
	r = reconcile_record(a->desc);
	if (r < 0)
		return log_error_errno(r,
				       "%s: cannot write the in-sync record %s/%s.json (%m); "
				       "not using %s.",
				       a->vol->name, state_record_dir(), a->vol->name, a->desc->md.device);
	reconcile_write_mostly(a->desc);
	for (unsigned i = 0; i < a->desc->n_replicas; i++)
		absent += a->desc->replicas[i].state == STATE_ABSENT;
	if (absent > 0)
		event_emit(EVENT_DEGRADED_START, a->vol->name, NULL, a->vol->notify,
			   "%s: started degraded from %u of %u replicas; %u did not appear within %us.",
			   a->vol->name, a->plan.n_use, a->desc->n_replicas, absent,
			   a->vol->degraded_timeout);
	return 0;
}

static int attach_single(struct attach *a)
{
	struct desc_replica *rep = &a->desc->replicas[0];
	int r;

	r = wait_link(a);
	if (r < 0)
		return r;
	return state_transition(&rep->state, STATE_IN_SYNC);
}

static void *connect_one(void *arg)
{
	struct connect_job *job = arg;

	job->result = fab_connect_replica(job->vol, job->replica);
	return NULL;
}

/* Every replica is connected at once: a fabric connect waits on the
 * network, and N of them in a row would add up.
 * Return: 0, or -EKEYREJECTED if a replica's authentication or TLS failed
 * or was not done (logged by fab_connect_replica()): waiting for it would
 * not help. */
static int connect_all(const struct vol_volume *v)
{
	int refused = 0;

	struct connect_job jobs[VOL_REPLICAS_MAX] = {};
	pthread_t threads[VOL_REPLICAS_MAX];
	bool started[VOL_REPLICAS_MAX] = {};

	for (unsigned i = 0; i < v->n_replicas; i++) {
		jobs[i] = (struct connect_job){ .vol = v, .replica = &v->replicas[i] };
		started[i] = v->n_replicas > 1 &&
			     pthread_create(&threads[i], NULL, connect_one, &jobs[i]) == 0;
		if (!started[i])
			connect_one(&jobs[i]);
	}
	for (unsigned i = 0; i < v->n_replicas; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		/* fab_connect_replica() warned for each portal that failed. */
		if (jobs[i].result < 0)
			log_debug_errno(jobs[i].result, "%s: replica %s: no portal could be connected: %m",
					v->name, v->replicas[i].name);
		if (jobs[i].result == -EKEYREJECTED)
			refused = -EKEYREJECTED;
	}
	return refused;
}

/* The admin's disaster-recovery override: a file
 * /run/nvmf-raid/VOLUME.accept-stale, consumed by the next start.  It lets
 * the array start from whatever replicas are reachable, stale or not. */
static bool accept_stale_requested(int run_fd, const char *name)
{
	char flag[NAME_MAX + 1];

	if (vs_file_name(VS_FILE_ACCEPT_STALE, name, flag) < 0 || unlinkat(run_fd, flag, 0) < 0)
		return false;
	log_warning("%s: %s found: starting from the reachable replicas even if they are stale "
		    "(admin override).",
		    name, flag);
	return true;
}

/* A second start finds the volume attached and changes nothing. */
static bool already_attached(struct vs_session *s, const char *link)
{
	struct stat st;

	if (vs_read_desc(s) < 0 || stat(link, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	if (s->vol->n_replicas > 1 && (!s->desc->md.device || !md_array_active(s->desc->md.device)))
		return false;
	return true;
}

/* This host's identity, created here if missing, before the connect
 * threads: without it no replica can be connected, and waiting the
 * degraded timeout would not help.  hostid_get() logs why not. */
static int identity_ready(void)
{
	_cleanup_free_ char *nqn = NULL, *id = NULL;

	return hostid_get(&nqn, &id);
}

static int attach_locked(struct attach *a)
{
	int r;

	r = identity_ready();
	if (r < 0)
		return r;
	r = vs_new_desc(a->s);
	if (r < 0)
		return r;
	a->desc = a->s->desc;
	r = desc_write_index(a->desc);
	if (r >= 0)
		r = desc_write(a->desc);
	if (r < 0)
		return log_error_errno(r, "%s: failed to write the runtime files: %m", a->vol->name);

	a->udev = udev_new();
	if (!a->udev)
		return log_oom();
	r = dev_monitor_open(a->udev, &a->mon);
	if (r < 0)
		return log_error_errno(r, "%s: failed to listen to udev: %m", a->vol->name);

	a->connected = true;
	log_debug("%s: runtime files written; connecting %u replicas.", a->vol->name, a->vol->n_replicas);
	r = connect_all(a->vol);
	if (r < 0)
		return log_error_errno(r,
				       "%s: a replica could not be connected as securely as its "
				       "volume file asks (above): not attached.",
				       a->vol->name);
	r = wait_members(a);
	if (r < 0)
		return r;
	if (a->plan.action != ASSEMBLE_START && a->plan.action != ASSEMBLE_CREATE)
		return refuse(a);
	r = a->vol->n_replicas > 1 ? attach_md(a) : attach_single(a);
	if (r < 0)
		return r;
	r = desc_write(a->desc);
	if (r < 0)
		return r;
	log_info("%s: attached as %s.", a->vol->name, a->link);
	return 0;
}

static void attach_done(struct attach *a)
{
	if (a->mon)
		udev_monitor_unref(a->mon);
	if (a->udev)
		udev_unref(a->udev);
	vs_close(a->s);
}

static int attach(const char *name)
{
	_cleanup_(attach_done) struct attach a = {};
	int r;

	r = vs_open(name, VS_FILE | VS_CROSS, &a.s);
	if (a.s && a.s->failed == VS_STEP_FIND && r == -ENOENT)
		log_error("%s: no volume file %s/%s.conf or %s/%s.conf.", name, vol_etc_dir(), name,
			  vol_run_dir(), name);
	/* A file that is not a valid volume file is a usage error, one that
	 * cannot be read a failure (vs_exit_status()). */
	if (a.s)
		vs_log_problems(a.s);
	if (r < 0)
		return vs_exit_status(a.s, r);
	a.vol = a.s->vol;
	r = check_requirements(a.vol);
	if (r < 0)
		return EXIT_MISSING;
	log_debug("%s: volume file read, requirements met.", name);

	snprintf(a.link, sizeof(a.link), "/dev/nvmf-raid/%s", name);
	md_name_for_volume(name, a.md_name);
	md_uuid_for_volume(name, a.md_uuid);

	r = vs_lock(a.s, true);
	if (r < 0) {
		log_error_errno(r, "%s: failed to lock the volume: %m", name);
		return EXIT_FAILED;
	}

	a.accept_stale = accept_stale_requested(a.s->run_fd, name);
	/* The record is what keeps stale replicas out: one that cannot be read
	 * (damaged, of a newer version, unreadable) is not "no record". */
	r = vs_read_record(a.s);
	if (r < 0 && r != -ENOENT && !a.accept_stale) {
		log_error_errno(r,
				"%s: the in-sync record cannot be used (%m); refusing to start, so "
				"that no stale replica is served. Repair or remove it, or override: "
				"touch /run/nvmf-raid/%s.accept-stale",
				name, name);
		return EXIT_FAILED;
	}

	log_debug("%s: locked, in-sync record read.", name);
	if (already_attached(a.s, a.link)) {
		log_info("%s: already attached as %s.", name, a.link);
		return EXIT_OK;
	}
	r = attach_locked(&a);
	if (r < 0 && a.desc) {
		log_error("%s: attach failed; disconnecting what this volume connected.", name);
		/* An array it started goes first: disconnecting its members
		 * under it would fail them.  One in use stays, and with it
		 * everything a detach needs to find it. */
		if (teardown_array(a.desc) >= 0) {
			if (a.connected)
				teardown_connections(a.desc);
			teardown_runtime(a.desc);
		}
	}
	vs_unlock(a.s, false);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}

int main(int argc, char *argv[])
{
	return helper_main(argc, argv, "nvmf-raid-attach",
			   "Attach an nvmf-raid volume: connect its replicas, create or assemble\n"
			   "its RAID1 array and provide /dev/nvmf-raid/VOLUME.  Run by\n"
			   "nvmf-raid@VOLUME.service; see nvmf-raid@.service(8).\n"
			   "Override for disaster recovery: touch /run/nvmf-raid/VOLUME.accept-stale\n"
			   "before starting to accept stale replicas once.\n",
			   attach);
}
