/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What `nvmf-raid status` shows (layout in status.h).  The first half is
 * pure (states, JSON, text); the second gathers the live state from the
 * descriptor, md's sysfs and udev.  Reads only, and takes no lock: the
 * descriptor is replaced atomically, and sysfs is what it is right now.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libudev.h>

#include "device.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "rebuild.h"
#include "status.h"


static inline int max_int(int a, int b)
{
	return a > b ? a : b;
}

static const char *const status_names[_STATUS_STATE_MAX] = {
	[STATUS_INACTIVE] = "inactive",
	[STATUS_OPTIMAL] = "optimal",
	[STATUS_REBUILDING] = "rebuilding",
	[STATUS_DEGRADED] = "degraded",
	[STATUS_FAILED] = "failed",
};

void status_volume_free(struct status_volume *v)
{
	if (!v)
		return;
	free(v->source);
	free(v->device);
	free(v->md);
	free(v->error);
	for (unsigned i = 0; i < v->n_replicas && i < VOL_REPLICAS_MAX; i++)
		free(v->replicas[i].device);
	free(v);
}

const char *status_state_to_string(enum status_state s)
{
	return s >= 0 && s < _STATUS_STATE_MAX ? status_names[s] : NULL;
}

/* ---- pure: states ------------------------------------------------------- */

enum state status_replica_state(bool has_md, const char *member, bool present,
				enum state recorded, bool outdated)
{
	/* One replica: no md, the namespace is the volume. */
	if (!has_md)
		return present ? STATE_IN_SYNC : STATE_ABSENT;
	if (member) {
		if (strstr(member, "faulty"))
			return STATE_FAULTY;
		/* "spare" and friends: md is (about to be) recovering it. */
		return strstr(member, "in_sync") ? STATE_IN_SYNC : STATE_REBUILDING;
	}
	/* md already dropped the failed member; until its namespace returns
	 * it is still the replica md failed, not merely one not seen. */
	if (!present)
		return recorded == STATE_FAULTY ? STATE_FAULTY : STATE_ABSENT;
	/* Known stale, from the volume file or from attach's check against
	 * the in-sync record: never call that merely "present". */
	return outdated || recorded == STATE_OUTDATED ? STATE_OUTDATED : STATE_PRESENT;
}

enum status_state status_volume_state(const struct status_volume *v)
{
	bool all_in_sync = true, rebuilding = false;

	assert(v);
	if (!v->attached)
		return STATUS_INACTIVE;
	if (v->error || !v->running)
		return STATUS_FAILED;
	for (unsigned i = 0; i < v->n_replicas; i++) {
		all_in_sync = all_in_sync && v->replicas[i].state == STATE_IN_SYNC;
		rebuilding = rebuilding || v->replicas[i].state == STATE_REBUILDING;
	}
	/* A resync rewrites members md still calls in_sync (after an unclean
	 * stop): redundancy is not whole until it ends. */
	if (rebuilding || streq(v->sync_action, "recover") || streq(v->sync_action, "resync"))
		return STATUS_REBUILDING;
	/* md's count catches a slot no configured replica fills. */
	return all_in_sync && v->md_degraded == 0 ? STATUS_OPTIMAL : STATUS_DEGRADED;
}

/* Decimal digits at *@p, no sign; *@p moves past them. */
static int parse_u64(const char **p, uint64_t *ret)
{
	uint64_t n = 0;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	for (; isdigit((unsigned char)**p); (*p)++) {
		unsigned d = (unsigned)(**p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*ret = n;
	return 0;
}

int status_parse_sync_completed(const char *s, uint64_t *ret_completed, uint64_t *ret_total)
{
	uint64_t n, m;

	if (!s || parse_u64(&s, &n) < 0 || strncmp(s, " / ", 3) != 0)
		return -EINVAL;
	s += 3;
	if (parse_u64(&s, &m) < 0 || (*s && *s != '\n') || m == 0 || n > m)
		return -EINVAL;
	*ret_completed = n;
	*ret_total = m;
	return 0;
}

/* completed/total in units of 1/@scale, rounded down: a running sync never
 * reads as done. */
static unsigned ratio(uint64_t completed, uint64_t total, unsigned scale)
{
	if (total == 0)
		return 0;
	if (completed >= total)
		return scale;
	return (unsigned)((double)completed * scale / (double)total);
}

/* The array's sync progress for replica @r, if it is the one rebuilt. */
static bool replica_progress(const struct status_volume *v, const struct status_replica *r)
{
	return v->has_sync && r->state == STATE_REBUILDING;
}

/* ---- pure: JSON --------------------------------------------------------- */

/* Adds @o (consumed) under @key; @o NULL is JSON null, or json-c's out of
 * memory when @fail_null. */
static int add(json_object *obj, const char *key, json_object *o, bool fail_null)
{
	if (!o && fail_null)
		return -ENOMEM;
	if (json_object_object_add(obj, key, o) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}

static int add_value(json_object *obj, const char *key, json_object *o)
{
	return add(obj, key, o, true);
}

static int add_string(json_object *obj, const char *key, const char *s)
{
	return add(obj, key, s ? json_object_new_string(s) : NULL, !!s);
}

static int add_size(json_object *obj, const char *key, uint64_t size)
{
	bool known = size != STATUS_SIZE_UNKNOWN && size <= INT64_MAX;

	return add(obj, key, known ? json_object_new_int64((int64_t)size) : NULL, known);
}

/* Printed from our own digits: json-c would print the double with %.17g,
 * 0.10000000000000001 style. */
static json_object *progress_new(uint64_t completed, uint64_t total)
{
	unsigned p = ratio(completed, total, 10000);
	char s[16];

	snprintf(s, sizeof(s), "%u.%04u", p / 10000, p % 10000);
	return json_object_new_double_s(p / 10000.0, s);
}

static json_object *sync_to_json(const struct status_volume *v)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o || add_string(o, "action", v->sync_action) < 0 ||
	    add_size(o, "completed", v->sync_completed) < 0 ||
	    add_size(o, "total", v->sync_total) < 0 ||
	    add_value(o, "progress", progress_new(v->sync_completed, v->sync_total)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static json_object *rebuild_to_json(const struct status_volume *v)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	bool q = v->rebuild_queued;

	if (!o || add_value(o, "queued", json_object_new_boolean(q)) < 0 ||
	    add(o, "position", q ? json_object_new_int((int)v->queue_position) : NULL, q) < 0 ||
	    add(o, "queue-length", q ? json_object_new_int((int)v->queue_length) : NULL, q) < 0 ||
	    add(o, "rate-max", v->rate_max ? json_object_new_int64(v->rate_max) : NULL,
		v->rate_max) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static bool has_rebuild(const struct status_volume *v)
{
	return v->rebuild_queued || v->has_sync;
}

static int replica_to_json(const struct status_volume *v, const struct status_replica *r,
			   json_object **ret)
{
	_cleanup_json_ json_object *o = NULL, *portals = NULL;
	bool known = r->state != _STATE_INVALID, progress = replica_progress(v, r);
	const char *state = known ? state_to_string(r->state) : NULL;

	if ((known && !state) || r->n_portals > VOL_PORTALS_MAX)
		return -EINVAL;
	o = json_object_new_object();
	portals = json_object_new_array();
	if (!o || !portals)
		return -ENOMEM;
	for (unsigned i = 0; i < r->n_portals; i++) {
		json_object *s = json_object_new_string(r->portals[i]);

		if (!s || json_object_array_add(portals, s) < 0) {
			json_object_put(s);
			return -ENOMEM;
		}
	}
	if (add_string(o, "name", r->name) < 0 || add_string(o, "state", state) < 0 ||
	    add_string(o, "device", r->device) < 0 || add_size(o, "size", r->size) < 0 ||
	    add_string(o, "nqn", r->nqn) < 0 || desc_ns_id_to_json(o, &r->ns) < 0 ||
	    add_value(o, "portals", TAKE_PTR(portals)) < 0 ||
	    add_value(o, "outdated", json_object_new_boolean(r->outdated)) < 0 ||
	    add(o, "progress", progress ? progress_new(v->sync_completed, v->sync_total) : NULL,
		progress) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int volume_to_json(const struct status_volume *v, json_object **ret)
{
	_cleanup_json_ json_object *o = json_object_new_object(), *reps = json_object_new_array();
	const char *state = status_state_to_string(v->state);

	if (!state || v->n_replicas > VOL_REPLICAS_MAX)
		return -EINVAL;
	if (!o || !reps)
		return -ENOMEM;
	for (unsigned i = 0; i < v->n_replicas; i++) {
		json_object *r = NULL;
		int k = replica_to_json(v, &v->replicas[i], &r);

		if (k < 0)
			return k;
		if (json_object_array_add(reps, r) < 0) {
			json_object_put(r);
			return -ENOMEM;
		}
	}
	if (add_string(o, "volume", v->name) < 0 || add_string(o, "state", state) < 0 ||
	    add_value(o, "attached", json_object_new_boolean(v->attached)) < 0 ||
	    add_string(o, "source", v->source) < 0 ||
	    add_value(o, "persistent", json_object_new_boolean(v->persistent)) < 0 ||
	    add_string(o, "device", v->device) < 0 || add_string(o, "md", v->md) < 0 ||
	    add_size(o, "size", v->size) < 0 ||
	    add(o, "min-replicas", v->min_replicas ? json_object_new_int((int)v->min_replicas) : NULL,
		v->min_replicas) < 0 ||
	    add(o, "sync", v->has_sync ? sync_to_json(v) : NULL, v->has_sync) < 0 ||
	    add(o, "rebuild", has_rebuild(v) ? rebuild_to_json(v) : NULL, has_rebuild(v)) < 0 ||
	    add_string(o, "error", v->error) < 0 || add_value(o, "replicas", TAKE_PTR(reps)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int status_to_json(const struct status_volume *const *vols, unsigned n, char **ret_text)
{
	_cleanup_json_ json_object *root = json_object_new_object(), *a = json_object_new_array();
	const char *s;
	int r;

	assert(vols || n == 0);
	assert(ret_text);
	if (!root || !a)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		json_object *o = NULL;

		r = volume_to_json(vols[i], &o);
		if (r < 0)
			return r;
		if (json_object_array_add(a, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
	}
	if (add_string(root, "format", STATUS_FORMAT) < 0 ||
	    add_value(root, "version", json_object_new_int(STATUS_VERSION)) < 0 ||
	    add_value(root, "volumes", TAKE_PTR(a)) < 0)
		return -ENOMEM;
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(ret_text, "%s\n", s) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- pure: text --------------------------------------------------------- */

/* "64.0M": binary units, one decimal, rounded down. */
static void format_bytes(uint64_t b, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	uint64_t div = 1024;
	unsigned u = 0;

	if (b < 1024) {
		snprintf(buf, size, "%uB", (unsigned)b);
		return;
	}
	while (u + 1 < STRLEN(units) && b / div >= 1024) {
		div *= 1024;
		u++;
	}
	/* (b % div) * 10 cannot overflow: div is at most 2^60. */
	snprintf(buf, size, "%llu.%llu%c", (unsigned long long)(b / div),
		 (unsigned long long)((b % div) * 10 / div), units[u]);
}

static void print_progress(FILE *f, const struct status_volume *v)
{
	unsigned p = ratio(v->sync_completed, v->sync_total, 1000);

	fprintf(f, "  %s %u.%u%%", v->sync_action, p / 10, p % 10);
	if (v->rate_max)
		fprintf(f, " (rate cap %u KiB/s)", v->rate_max);
}

static const char *replica_state_name(const struct status_replica *r)
{
	return r->state == _STATE_INVALID ? "-" : strna(state_to_string(r->state));
}

static void print_header(FILE *f, const struct status_volume *v, int name_w, int state_w)
{
	const char *target = v->md;
	bool rebuilt = false;
	char human[32];

	fprintf(f, "%-*s  %-*s  ", name_w, v->name, state_w, strna(status_state_to_string(v->state)));
	/* One replica: the link points at the namespace itself. */
	if (!target && v->n_replicas == 1)
		target = v->replicas[0].device;
	if (!v->attached)
		fputs(v->source ?: "-", f);
	else if (target)
		fprintf(f, "%s -> %s", v->device ?: "-", target);
	else
		fputs(v->device ?: "-", f);
	if (v->size != STATUS_SIZE_UNKNOWN) {
		format_bytes(v->size, human, sizeof(human));
		fprintf(f, "  %s (%llu bytes)", human, (unsigned long long)v->size);
	}
	for (unsigned i = 0; i < v->n_replicas; i++)
		rebuilt = rebuilt || replica_progress(v, &v->replicas[i]);
	/* A resync or check of members md still calls in sync shows here. */
	if (v->has_sync && !rebuilt)
		print_progress(f, v);
	if (v->error)
		fprintf(f, "  error: %s", v->error);
	fputc('\n', f);
}

static void print_replicas(FILE *f, const struct status_volume *v)
{
	int name_w = 0, state_w = 0, dev_w = 0;

	for (unsigned i = 0; i < v->n_replicas; i++) {
		const struct status_replica *r = &v->replicas[i];

		name_w = max_int(name_w, (int)strlen(r->name));
		state_w = max_int(state_w, (int)strlen(replica_state_name(r)));
		dev_w = max_int(dev_w, (int)strlen(r->device ?: "-"));
	}
	for (unsigned i = 0; i < v->n_replicas; i++) {
		const struct status_replica *r = &v->replicas[i];

		fprintf(f, "  %-*s  %-*s  %-*s  ", name_w, r->name, state_w, replica_state_name(r),
			dev_w, r->device ?: "-");
		for (unsigned k = 0; k < r->n_portals && k < VOL_PORTALS_MAX; k++)
			fprintf(f, "%s%s", k ? "," : "", r->portals[k]);
		if (replica_progress(v, r))
			print_progress(f, v);
		/* Back, but not re-added until a rebuild slot frees. */
		if (v->rebuild_queued && r->state == STATE_PRESENT)
			fprintf(f, "  rebuild queued (position %u of %u)", v->queue_position,
				v->queue_length);
		fputc('\n', f);
	}
}

int status_to_text(const struct status_volume *const *vols, unsigned n, char **ret_text)
{
	_cleanup_fclose_ FILE *f = NULL;
	char *text = NULL;
	size_t size = 0;
	int name_w = 0, state_w = 0;

	assert(vols || n == 0);
	assert(ret_text);
	for (unsigned i = 0; i < n; i++) {
		name_w = max_int(name_w, (int)strlen(vols[i]->name));
		state_w = max_int(state_w, (int)strlen(strna(status_state_to_string(vols[i]->state))));
	}
	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		print_header(f, vols[i], name_w, state_w);
		print_replicas(f, vols[i]);
	}
	if (fclose(TAKE_PTR(f)) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	return 0;
}

/* ---- gathering ---------------------------------------------------------- */


static uint64_t sysfs_size(const char *dev)
{
	char buf[32];
	const char *p = buf;
	uint64_t sectors;

	if (dev_sysfs_read(dev, "size", buf, sizeof(buf)) < 0 || parse_u64(&p, &sectors) < 0 || *p ||
	    sectors > UINT64_MAX / 512)
		return STATUS_SIZE_UNKNOWN;
	return sectors * 512;
}

/* @dev's md member state in buf, if it is a member of @md; else NULL. */
static const char *member_state(const char *md, const char *dev, char *buf, size_t size)
{
	const char *base = strrchr(dev, '/');
	char attr[NAME_MAX + 16];

	snprintf(attr, sizeof(attr), "md/dev-%s/state", base ? base + 1 : dev);
	return dev_sysfs_read(md, attr, buf, size) == 0 ? buf : NULL;
}

/* Its place in the host-wide rebuild queue, and the rate cap md keeps
 * for it: "20000 (local)" set for this array, "200000 (system)" not. */
static void gather_rebuild(struct status_volume *s)
{
	char buf[64];
	const char *p = buf;
	uint64_t n;
	int r;

	r = rebuild_queue_position(s->name, &s->queue_position, &s->queue_length);
	if (r < 0)
		log_debug_errno(r, "%s: cannot read the rebuild queue: %m", s->name);
	s->rebuild_queued = r > 0;
	if (dev_sysfs_read(s->md, "md/sync_speed_max", buf, sizeof(buf)) == 0 &&
	    parse_u64(&p, &n) == 0 && streq(p, " (local)") && n <= UINT_MAX)
		s->rate_max = (unsigned)n;
}

static void gather_md(struct status_volume *s)
{
	char buf[64];
	const char *p = buf;
	uint64_t n;

	if (!s->md || dev_sysfs_read(s->md, "md/array_state", buf, sizeof(buf)) < 0 ||
	    streq(buf, "clear") || streq(buf, "inactive"))
		return;
	s->running = true;
	s->size = sysfs_size(s->md);
	if (dev_sysfs_read(s->md, "md/degraded", buf, sizeof(buf)) == 0 && parse_u64(&p, &n) == 0)
		s->md_degraded = n > UINT_MAX ? UINT_MAX : (unsigned)n;
	if (dev_sysfs_read(s->md, "md/sync_action", s->sync_action, sizeof(s->sync_action)) < 0)
		s->sync_action[0] = 0;
	/* sync_completed says "none" when idle and "delayed" while waiting
	 * for another array on the same disks: no numbers then. */
	if (s->sync_action[0] && !streq(s->sync_action, "idle") && !streq(s->sync_action, "frozen") &&
	    dev_sysfs_read(s->md, "md/sync_completed", buf, sizeof(buf)) == 0 &&
	    status_parse_sync_completed(buf, &s->sync_completed, &s->sync_total) == 0)
		s->has_sync = true;
	gather_rebuild(s);
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
		int r = dev_namespace_find(udev, s->replicas[i].nqn, &s->replicas[i].ns, &dev);

		if (r < 0)
			log_debug_errno(r, "%s: cannot look for the namespace of replica %s: %m",
					s->name, s->replicas[i].name);
		if (r > 0 && !(s->replicas[i].device = strdup(udev_device_get_devnode(dev))))
			return -ENOMEM;
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
	if (!(s->device = strdup(d->device)) || (d->md.device && !(s->md = strdup(d->md.device))))
		return -ENOMEM;
	gather_md(s);
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
static int gather_inactive(struct status_volume *s)
{
	_cleanup_vol_ struct vol_volume *v = NULL;
	_cleanup_desc_ struct desc *d = NULL;
	_cleanup_free_ char *path = NULL;
	const char *etc = vol_etc_dir();
	int saved = log_get_max_level(), r;

	r = vol_find(s->name, &path);
	if (r < 0)
		return r;
	/* vol_find() tries vol_etc_dir() first and builds the path from it. */
	s->persistent = strncmp(path, etc, strlen(etc)) == 0 && path[strlen(etc)] == '/';
	/* Every problem of the file is check's to list, not ours. */
	log_set_max_level(LOG_CRIT);
	r = vol_load(path, &v);
	log_set_max_level(saved);
	if (r >= 0)
		r = desc_from_volume(v, &d);
	if (r >= 0 || r == -ENOMEM)
		return r < 0 ? r : copy_desc(s, d);
	s->source = TAKE_PTR(path);
	if (IN_SET(r, -EINVAL, -ELOOP, -EFBIG))
		return set_error(s, "invalid volume file; 'nvmf-raid check %s' says why", s->name);
	return set_error(s, "cannot read %s: %s", s->source, strerror(-r));
}

int status_gather(struct udev *udev, const char *name, struct status_volume **ret)
{
	_cleanup_status_volume_ struct status_volume *s = NULL;
	_cleanup_desc_ struct desc *d = NULL;
	int r;

	assert(udev);
	assert(ret);
	if (!vol_name_is_valid(name))
		return log_error_errno(EINVAL, "Invalid volume name: want 1 to %d of [A-Za-z0-9_.-], "
				       "the first a letter or digit.", VOL_NAME_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->size = STATUS_SIZE_UNKNOWN;
	r = desc_read(name, &d);
	if (r == -ENOENT)
		r = gather_inactive(s);
	else if (IN_SET(r, -ENOMEM, -EINVAL))	/* -EINVAL: $NVMF_RAID_RUNTIME_DIR */
		return r;
	else if (r < 0) {
		/* The descriptor is there (attached) but unusable; desc_read()
		 * logged what is wrong with its content. */
		s->attached = true;
		r = set_error(s, "cannot read its descriptor: %s", strerror(-r));
	} else
		r = gather_attached(udev, s, d);
	if (r < 0)
		return r;
	s->state = status_volume_state(s);
	*ret = TAKE_PTR(s);
	return 0;
}
