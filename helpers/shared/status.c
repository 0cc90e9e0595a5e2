/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What `nvmf-raid status` shows (layout in status.h): the JSON and text
 * views, pure.  The health is status-health.c's, the gathering
 * status-gather.c's.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json-util.h"
#include "rebuild.h"
#include "parse-util.h"
#include "status.h"

static inline int max_int(int a, int b)
{
	return a > b ? a : b;
}

static const char *const status_names[_STATUS_STATE_MAX] = {
	[STATUS_INACTIVE] = "inactive",	    [STATUS_OPTIMAL] = "optimal",
	[STATUS_REBUILDING] = "rebuilding", [STATUS_DEGRADED] = "degraded",
	[STATUS_FAILED] = "failed",	    [STATUS_SUSPENDED] = "suspended",
};

void status_volume_free(struct status_volume *v)
{
	if (!v)
		return;
	free(v->source);
	free(v->device);
	free(v->md);
	free(v->link_target);
	free(v->error);
	for (unsigned i = 0; i < v->n_replicas && i < VOL_REPLICAS_MAX; i++)
		free(v->replicas[i].device);
	free(v);
}

const char *status_state_to_string(enum status_state s)
{
	return s >= 0 && s < _STATUS_STATE_MAX ? status_names[s] : NULL;
}

int status_parse_sync_completed(const char *s, uint64_t *ret_completed, uint64_t *ret_total)
{
	uint64_t n, m;

	if (!s || parse_u64_at(&s, &n) < 0 || strncmp(s, " / ", 3) != 0)
		return -EINVAL;
	s += 3;
	if (parse_u64_at(&s, &m) < 0 || (*s && *s != '\n') || m == 0 || n > m)
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
	    add_size(o, "completed", v->sync_completed) < 0 || add_size(o, "total", v->sync_total) < 0 ||
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
	    add(o, "rate-max", v->rate_max ? json_object_new_int64(v->rate_max) : NULL, v->rate_max) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static bool has_rebuild(const struct status_volume *v)
{
	return v->rebuild_queued || v->has_sync;
}

static int replica_to_json(const struct status_volume *v, const struct status_replica *r, json_object **ret)
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
		progress) < 0 ||
	    add(o, "reachable", v->attached ? json_object_new_boolean(r->reachable) : NULL, v->attached) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static json_object *problems_to_json(unsigned problems)
{
	_cleanup_json_ json_object *a = json_object_new_array();

	for (int p = 0; a && p < _STATUS_PROBLEM_MAX; p++) {
		json_object *s;

		if (!(problems & STATUS_PROBLEM_BIT(p)))
			continue;
		s = json_object_new_string(status_problem_to_string(p));
		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			return NULL;
		}
	}
	return TAKE_PTR(a);
}

/* The keys of what the user sees: writable, device link, array state,
 * problems. */
static int add_health(json_object *o, const struct status_volume *v)
{
	bool md = v->attached && v->array_state[0];

	if (add(o, "writable", v->attached ? json_object_new_boolean(status_volume_writable(v)) : NULL,
		v->attached) < 0 ||
	    add_string(o, "device-link", v->attached ? v->link_target : NULL) < 0 ||
	    add(o, "array-state", md ? json_object_new_string(v->array_state) : NULL, md) < 0 ||
	    add_value(o, "problems", problems_to_json(v->problems)) < 0)
		return -ENOMEM;
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
	    add_string(o, "error", v->error) < 0 || add_health(o, v) < 0 ||
	    add_value(o, "replicas", TAKE_PTR(reps)) < 0)
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

/* "64.0M": binary units, one decimal, rounded down.  Returns the length,
 * or -ENOBUFS when buf is too small for it (buf then holds no figure). */
static int format_bytes(uint64_t b, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	uint64_t div = 1024;
	unsigned u = 0, whole, tenth;
	int n;

	if (b < 1024) {
		n = snprintf(buf, size, "%uB", (unsigned)b);
	} else {
		while (u + 1 < STRLEN(units) && b / div >= 1024) {
			div *= 1024;
			u++;
		}
		/* The whole part is below 1024 (at most 16 in the last unit),
		 * the tenth below 10: unsigned holds both, and so the compiler
		 * sees their width (gcc 14's -Wformat-truncation did not).
		 * (b % div) * 10 cannot overflow: div is at most 2^60. */
		whole = (unsigned)(b / div);
		tenth = (unsigned)((b % div) * 10 / div);
		n = snprintf(buf, size, "%u.%u%c", whole, tenth, units[u]);
	}
	return n >= 0 && (size_t)n < size ? n : -ENOBUFS;
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
		if (format_bytes(v->size, human, sizeof(human)) < 0)
			strcpy(human, "?");
		fprintf(f, "  %s (%llu bytes)", human, (unsigned long long)v->size);
	}
	for (unsigned i = 0; i < v->n_replicas; i++)
		rebuilt = rebuilt || replica_progress(v, &v->replicas[i]);
	/* A resync or check of members md still calls in sync shows here. */
	if (v->has_sync && !rebuilt)
		print_progress(f, v);
	if (v->error)
		fprintf(f, "  error: %s", v->error);
	/* Why it is not optimal, unless the state or the error says it all. */
	if (v->attached && !v->error &&
	    v->problems & ~(STATUS_PROBLEM_BIT(STATUS_PROBLEM_DEGRADED) |
			    STATUS_PROBLEM_BIT(STATUS_PROBLEM_REBUILDING))) {
		const char *sep = "  problems: ";

		for (int p = 0; p < _STATUS_PROBLEM_MAX; p++)
			if (v->problems & STATUS_PROBLEM_BIT(p)) {
				fprintf(f, "%s%s", sep, status_problem_to_string(p));
				sep = ", ";
			}
	}
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
