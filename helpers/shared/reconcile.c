/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk.h"
#include "descriptor.h"
#include "device.h"
#include "event.h"
#include "exec.h"
#include "fabrics.h"
#include "fileio.h"
#include "log.h"
#include "md.h"
#include "rebuild.h"
#include "reconcile.h"
#include "session.h"
#include "state-record.h"

/* How soon the monitor tries again to write a record it could not. */
#define RECORD_RETRY_MS 2000

struct pass {
	struct udev *udev;
	struct fo_volume *fo;
	struct desc *d;
	const char *mddev;
	char md_uuid[36];
	int retry_ms;
	bool changed;
	bool acted; /* mdadm changed the array: look again */
};

/* Moves a replica along the state table (state_follow()): a move it
 * refuses leaves the replica where it is, so a faulty or outdated one is
 * in sync again only after a rebuild (put_back() -> rebuilding -> in-sync). */
static void set_state(struct pass *p, struct desc_replica *r, enum state to)
{
	enum state next = state_follow(r->state, to);

	if (next != to)
		log_debug("%s: replica %s stays %s (md and udev show it %s).", p->d->volume, r->name,
			  state_to_string(r->state), state_to_string(to));
	if (next != r->state) {
		r->state = next;
		p->changed = true;
	}
}

static enum state observed(struct pass *p, struct desc_replica *r, const char *node);

/* re-add uses the write-intent bitmap; when md cannot (the member missed
 * more than the bitmap covers, or was never in this array), the member is
 * added and recovered in full — but only over our own superblock or a
 * blank device. */
static int put_back(struct pass *p, struct desc_replica *r, const char *node)
{
	_cleanup_free_ char *what = NULL, *why = NULL;
	int k;

	/* Host-wide rebuild limit: wait for a slot, out of the array and
	 * present meanwhile (mdadm once, not on every pass while waiting). */
	if (rebuild_put_back(p->d->volume, p->mddev) == 0) {
		if (observed(p, r, node) == STATE_FAULTY)
			(void)md_remove_gone(p->mddev);
		set_state(p, r, observed(p, r, node));
		return -EAGAIN;
	}
	(void)md_remove_gone(p->mddev);
	k = rebuild_heal_unthrottled(p->d->volume, p->mddev);
	if (k < 0)
		log_warning_errno(k, "%s: cannot let the heal of replica %s run unthrottled (%m); md paces it.",
				  p->d->volume, r->name);
	if (md_re_add(p->mddev, node, &why) == 0) {
		event_emit(EVENT_REPLICA_BACK, p->d->volume, r->name, p->d->settings.notify,
			   "%s: replica %s is back as %s; re-added with the write-intent bitmap.",
			   p->d->volume, r->name, node);
		return 0;
	}
	/* A full recovery: md's throttle lets the application go first. */
	rebuild_heal_done();
	k = blk_may_write(node, p->md_uuid, &what, NULL);
	if (k < 0)
		return log_error_errno(k, "%s: cannot probe %s: %m", p->d->volume, node);
	if (k == BLK_FOREIGN)
		return log_error_errno(EEXIST, "%s: replica %s (%s) holds %s; not adding it.",
				       p->d->volume, r->name, node, what);
	if (k == BLK_OURS) {
		k = md_zero_superblock(node);
		if (k < 0)
			return k;
	}
	k = md_add(p->mddev, node);
	if (k < 0)
		return k;
	event_emit(EVENT_REPLICA_BACK, p->d->volume, r->name, p->d->settings.notify,
		   "%s: replica %s (%s) added back in full: md could not re-add it from the bitmap (%s).",
		   p->d->volume, r->name, node, why ?: "mdadm gave no reason");
	return 0;
}

static struct fo_track *track_of(struct pass *p, const char *name)
{
	for (unsigned i = 0; p->fo && i < p->fo->n; i++)
		if (streq(p->fo->r[i].name, name))
			return &p->fo->r[i];
	return NULL;
}

/* The replica has no controller: the kernel gave it up (ctrl-loss-tmo) or
 * the monitor deleted it to fail it over (failover.h).  Connect again, as
 * the kernel would have kept doing with ctrl-loss-tmo = -1 — in a child:
 * a connect to a silent portal takes the kernel's TCP connect timeout,
 * and the monitor must go on watching meanwhile.  The next pass after the
 * child ended sees the namespace (udev) or retries. */
/* When a replica whose authentication was refused is tried again: the
 * target may have been mid-change, but every try is logged and may hold a
 * connect for a minute.  Not at once when its key files change: the admin
 * writes them, then runs systemctl reload, which connects it; a try of the
 * monitor's at the same time as the reload's re-authentication of the
 * volume's other controllers was refused, the right key notwithstanding
 * (nvmet, Debian 13 guest: "host response mismatch" within 3 s, or a
 * minute's wait, the reload's held behind it), every time the two met. */
#define REFUSED_RETRY_MIN_MS 30000
#define REFUSED_RETRY_MAX_MS 600000
/* A portal that listens answers a TCP handshake within a round trip; one
 * that does not answer at all is not refusing, and is connected. */
#define PROBE_TIMEOUT_MS 1000

/* The state of one key file (inode, size, change time), folded in. */
static uint64_t key_state(uint64_t h, const char *path)
{
	struct stat st;

	if (!path)
		return h;
	if (lstat(path, &st) < 0)
		return h * 31 + 1;
	h = h * 1000003 ^ (uint64_t)st.st_ino;
	h = h * 1000003 ^ (uint64_t)st.st_size;
	h = h * 1000003 ^ (uint64_t)st.st_ctim.tv_sec;
	return h * 1000003 ^ (uint64_t)st.st_ctim.tv_nsec;
}

static uint64_t keys_state(const struct desc_replica *r)
{
	return key_state(key_state(1, r->dhchap_key), r->dhchap_ctrl_key) | 1;
}

void reconcile_connect_done(const char *volume, struct fo_track *t, int status)
{
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SUCCESS;

	t->away = ok ? 0 : t->away + 1;
	if (ok)
		t->told_away = false;
	if (WIFEXITED(status) && WEXITSTATUS(status) == RECONCILE_EXIT_AWAY && !t->told_away) {
		log_notice("%s: replica %s: every portal refuses connections (nothing listens there "
			   "yet); asked again every reconnect-delay.",
			   volume, t->name);
		t->told_away = true;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == RECONCILE_EXIT_REFUSED) {
		t->refused = t->refused_keys == t->connect_keys ? t->refused + 1 : 1;
		t->refused_keys = t->connect_keys;
		t->refused_at = now_usec();
	} else {
		t->refused_keys = 0;
		t->refused = 0;
	}
	t->connecting = 0;
}

/* Milliseconds until a replica refused @n times in a row is tried again. */
static uint64_t refused_backoff_ms(unsigned n)
{
	uint64_t ms = REFUSED_RETRY_MIN_MS;

	for (unsigned i = 1; i < n && ms < REFUSED_RETRY_MAX_MS; i++)
		ms *= 2;
	return ms < REFUSED_RETRY_MAX_MS ? ms : REFUSED_RETRY_MAX_MS;
}

/* Asks for another pass within @ms (the soonest of all replicas'). */
static void retry_within(struct pass *p, uint64_t ms)
{
	if (p->retry_ms < 0 || ms < (uint64_t)p->retry_ms)
		p->retry_ms = (int)ms;
}

static void reconnect(struct pass *p, struct desc_replica *r)
{
	struct fo_track *t = track_of(p, r->name);
	uint64_t keys = keys_state(r);
	unsigned delay = p->d->settings.reconnect_delay ?: 1; /* seconds */
	bool probe;
	pid_t pid;

	if ((t && t->connecting > 0) || fab_count_ctrls(r->nqn) > 0) {
		log_debug("%s: replica %s: %s; looked at again in %u s.", p->d->volume, r->name,
			  t && t->connecting > 0 ? "a connect is under way" : "a controller is there",
			  delay);
		retry_within(p, delay * 1000ULL);
		return;
	}
	/* Refused: a retry is likely refused again (and logged, and may take
	 * the kernel a minute to fail) until the keys change, and a reload
	 * connects at once. */
	if (t && t->refused_keys) {
		uint64_t due = t->refused_at + refused_backoff_ms(t->refused) * 1000, now = now_usec();

		if (now < due) {
			retry_within(p, (due - now) / 1000 + 1);
			return;
		}
	}
	retry_within(p, delay * 1000ULL);
	probe = !t || t->away % RECONCILE_CONNECT_EVERY != RECONCILE_CONNECT_EVERY - 1;
	pid = exec_fork();
	if (pid < 0) {
		log_warning_errno(pid, "%s: cannot start reconnecting replica %s: %m", p->d->volume,
				  r->name);
		return;
	}
	if (pid == 0) {
		/* From the descriptor, what the volume was attached (or
		 * reloaded) with: an edited volume file counts from its
		 * reload on, not from the next reconnect. */
		_cleanup_vol_ struct vol_volume *v = NULL;
		unsigned i = (unsigned)(r - p->d->replicas);
		int k;

		if (desc_to_volume(p->d, &v) < 0)
			_exit(EXIT_FAILURE);
		if (probe && fab_replica_refuses(&v->replicas[i], PROBE_TIMEOUT_MS))
			_exit(RECONCILE_EXIT_AWAY);
		k = fab_connect_replica(v, &v->replicas[i]);
		if (k == -EKEYREJECTED) {
			log_warning("%s: replica %s is tried again in %" PRIu64 " s, or at once on "
				    "systemctl reload nvmf-raid@%s (once its key files hold the new keys).",
				    p->d->volume, r->name,
				    refused_backoff_ms(t && t->refused_keys == keys ? t->refused + 1 : 1) /
					    1000,
				    p->d->volume);
			_exit(RECONCILE_EXIT_REFUSED);
		}
		_exit(k < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
	}
	if (t) {
		t->connecting = pid;
		t->connect_keys = keys;
	}
}

static enum state observed(struct pass *p, struct desc_replica *r, const char *node)
{
	char st[128];

	if (r->device && md_member_state(p->mddev, r->device, st, sizeof(st)) == 0) {
		if (strstr(st, "faulty"))
			return STATE_FAULTY;
		return strstr(st, "in_sync") ? STATE_IN_SYNC : STATE_REBUILDING;
	}
	return node ? STATE_PRESENT : STATE_ABSENT;
}

static void reconcile_replica(struct pass *p, struct desc_replica *r)
{
	_cleanup_(udev_device_unrefp) struct udev_device *nd = NULL;
	const char *node = NULL;
	enum state now, old = r->state;

	/* Only a namespace the probe gave this volume: two volume files may
	 * name one namespace in ways no check can compare (an NSID here, a
	 * UUID there), and the probe gives it to one of them only. */
	if (dev_namespace_find_at(p->udev, r->nqn, &r->ns, r->device, &nd) > 0 &&
	    streq(udev_device_get_property_value(nd, "NVMF_RAID_VOLUME") ?: "", p->d->volume))
		node = udev_device_get_devnode(nd);
	/* A namespace that came back under a new name is the same replica. */
	if (node && (!r->device || !streq(r->device, node)) && observed(p, r, NULL) != STATE_FAULTY &&
	    desc_set_string(&r->device, node) > 0)
		p->changed = true;
	now = observed(p, r, node);

	if (now == STATE_FAULTY && old != STATE_FAULTY)
		event_emit(EVENT_REPLICA_LOST, p->d->volume, r->name, p->d->settings.notify,
			   "%s: replica %s (%s) failed; the volume runs on the other replicas.",
			   p->d->volume, r->name, strna(r->device));
	set_state(p, r, now);
	if (r->state == STATE_IN_SYNC && old != STATE_IN_SYNC && old != STATE_ABSENT)
		event_emit(EVENT_RESYNC_FINISHED, p->d->volume, r->name, p->d->settings.notify,
			   "%s: replica %s is in sync.", p->d->volume, r->name);

	if ((now == STATE_FAULTY || now == STATE_PRESENT) && node && fab_ctrl_live(r->nqn)) {
		if (put_back(p, r, node) == 0) {
			p->acted = true;
			if (desc_set_string(&r->device, node) > 0)
				p->changed = true;
			set_state(p, r, STATE_REBUILDING);
			event_emit(EVENT_RESYNC_STARTED, p->d->volume, r->name, NULL,
				   "%s: resync of replica %s started.", p->d->volume, r->name);
		}
	} else if (now == STATE_ABSENT || (now == STATE_FAULTY && (!node || fab_count_ctrls(r->nqn) == 0))) {
		/* A failed replica whose namespace is still there but whose
		 * controllers are all being deleted is as good as gone: the
		 * deletion of one a silent partition cut off waits for the
		 * kernel's admin timeout (60 s), and nothing else comes back
		 * meanwhile. */
		reconnect(p, r);
	}
}

/* The identifiers the namespace of @r shows in sysfs now, all of them: the
 * record then vouches for the namespace, whichever of them a volume file
 * names it by later (vol_ns_id_matches()).  What the volume file gives, if
 * the device cannot be read. */
static const struct vol_ns_id *shown_ns(struct udev *udev, const struct desc_replica *r,
					struct vol_ns_id *buf)
{
	_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
	char nqn[VOL_NQN_MAX + 1];
	const char *name = r->device ? strrchr(r->device, '/') : NULL;

	if (!name || !udev || !(dev = udev_device_new_from_subsystem_sysname(udev, "block", name + 1)) ||
	    dev_ns_identity(dev, nqn, buf) < 0 || !streq(nqn, r->nqn) || !vol_ns_id_matches(&r->ns, buf))
		return &r->ns;
	return buf;
}

int reconcile_record(const struct desc *d)
{
	_cleanup_(udev_unrefp) struct udev *udev = NULL;
	struct state_record rec = {}, old;
	struct vol_ns_id shown;
	bool same;
	int r;

	if (!d->md.uuid)
		return 0;
	snprintf(rec.volume, sizeof(rec.volume), "%s", d->volume);
	snprintf(rec.md_uuid, sizeof(rec.md_uuid), "%s", d->md.uuid);
	udev = udev_new();
	for (unsigned i = 0; i < d->n_replicas; i++)
		if (d->replicas[i].state == STATE_IN_SYNC)
			(void)state_record_add(&rec, d->replicas[i].name, d->replicas[i].nqn,
					       shown_ns(udev, &d->replicas[i], &shown));
	if (rec.n_in_sync == 0)
		return 0; /* an array with no in-sync member is not running */
	/* A version 1 record (has_ns false) is rewritten with the namespaces. */
	same = state_record_read(d->volume, &old) == 0 && old.n_in_sync == rec.n_in_sync &&
	       streq(old.md_uuid, rec.md_uuid) && old.has_ns[0];
	for (unsigned i = 0; same && i < rec.n_in_sync; i++)
		same = state_record_vouches(&old, rec.in_sync[i], rec.nqn[i], &rec.ns[i]);
	if (same)
		return 0;
	for (unsigned i = 0; i < d->n_replicas; i++) {
		struct md_examine e;

		if (d->replicas[i].state == STATE_IN_SYNC && d->replicas[i].device &&
		    md_examine(d->replicas[i].device, &e) == 0 && e.is_member) {
			rec.events = e.events;
			break;
		}
	}
	r = state_record_write(&rec);
	if (r > 0)
		log_info("%s: recorded in-sync replicas (%u of %u), events %llu.", d->volume,
			 rec.n_in_sync, d->n_replicas, (unsigned long long)rec.events);
	return r;
}

/* The monitor keeps going on an array whose record it could not write (the
 * array is in use), but says so once, marks the descriptor (status: a
 * problem, not "optimal") and tries again until it can. */
static void record_pass(struct pass *p)
{
	int r = reconcile_record(p->d);

	if (r < 0 && !p->d->record_stale)
		log_error_errno(r,
				"%s: cannot write the in-sync record %s/%s.json (%m); retrying every "
				"%d ms. Until it is written, a restart may not know which replicas are stale.",
				p->d->volume, state_record_dir(), p->d->volume, RECORD_RETRY_MS);
	else if (r >= 0 && p->d->record_stale)
		log_info("%s: in-sync record written again.", p->d->volume);
	if ((r < 0) != p->d->record_stale) {
		p->d->record_stale = r < 0;
		p->changed = true;
	}
	if (r < 0 && (p->retry_ms < 0 || p->retry_ms > RECORD_RETRY_MS))
		p->retry_ms = RECORD_RETRY_MS;
}

/* mdadm --add and --re-add freeze the array around the ADD_NEW_DISK
 * ioctl (mdadm Manage.c, Manage_subdevs()) and unfreeze it when done; an
 * mdadm killed in between (the monitor's child when the monitor dies and
 * systemd stops its cgroup) leaves it frozen, and md never recovers the
 * member it was given.  Every freeze of ours is under the volume lock, held
 * here: one seen now is left over.  Only a degraded array is thawed — a
 * freeze that blocks nothing we need is left to whoever set it. */
static void thaw_leftover(struct pass *p)
{
	uint64_t degraded;
	int r;

	if (md_degraded(p->mddev, &degraded) < 0 || degraded == 0)
		return;
	r = md_thaw_leftover(p->mddev);
	if (r > 0)
		log_notice("%s: %s was left frozen by an interrupted mdadm or helper; its recovery resumes.",
			   p->d->volume, p->mddev);
	else if (r < 0)
		log_warning_errno(r, "%s: cannot read or end the freeze of %s; recovery may wait: %m",
				  p->d->volume, p->mddev);
}

unsigned reconcile_write_mostly(const struct desc *d)
{
	unsigned changed = 0;

	if (!d->md.device)
		return 0;
	for (unsigned i = 0; i < d->n_replicas; i++) {
		const struct desc_replica *r = &d->replicas[i];
		int k;

		if (!r->device || !IN_SET(r->state, STATE_IN_SYNC, STATE_REBUILDING))
			continue;
		k = md_member_set_write_mostly(d->md.device, r->device, r->write_mostly);
		if (k > 0) {
			log_info("%s: replica %s is %s in %s.", d->volume, r->name,
				 r->write_mostly ? "write-mostly: reads go to the other replicas" :
						   "no longer write-mostly: it serves reads again",
				 d->md.device);
			changed++;
		} else if (k < 0 && k != -ENOENT) {
			log_warning_errno(k, "%s: cannot %s md's write-mostly flag of replica %s (%s): %m",
					  d->volume, r->write_mostly ? "set" : "clear", r->name,
					  r->device);
		}
	}
	return changed;
}

int reconcile_volume(struct udev *udev, const char *name, struct fo_volume *fo, char **ret_mddev,
		     int *ret_retry_ms)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	struct pass p = { .udev = udev, .fo = fo, .retry_ms = -1 };
	struct desc *d;
	int r;

	*ret_mddev = NULL;
	*ret_retry_ms = -1;
	r = vs_open(name, VS_LOCK | VS_DESC, &s);
	if (r < 0)
		return r;
	d = s->desc;
	if (!d->md.device || !d->md.uuid || !md_array_active(d->md.device))
		return 0;
	p.d = d;
	p.mddev = d->md.device;
	snprintf(p.md_uuid, sizeof(p.md_uuid), "%s", d->md.uuid);
	thaw_leftover(&p);
	for (unsigned i = 0; i < d->n_replicas; i++)
		reconcile_replica(&p, &d->replicas[i]);
	reconcile_write_mostly(d);
	rebuild_pass_done(d);
	record_pass(&p);
	if (p.changed) {
		r = desc_write(d);
		if (r < 0)
			log_warning_errno(r, "%s: failed to update the descriptor: %m", name);
	}
	if (fo)
		fo_volume_load(fo, d);
	*ret_mddev = strdup(d->md.device);
	*ret_retry_ms = p.retry_ms;
	return p.acted;
}
