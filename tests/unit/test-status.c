/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure half of lib/status.c: live states from observations, the volume
 * state, sync_completed, and the JSON and text views.  The gathering half
 * reads sysfs and udev and is covered by tests/guest/status_test.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "macro.h"
#include "status.h"
#include "tap.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

#define A STATE_ABSENT
#define P STATE_PRESENT
#define S STATE_IN_SYNC
#define R STATE_REBUILDING
#define F STATE_FAULTY
#define O STATE_OUTDATED
#define MIB64 67108864ULL

/* The views of the fixtures below written out in full: tools parse the
 * JSON and admins read the text, so any change to them must show up here. */
#define GOLDEN_JSON_DEGRADED \
	"{\n" \
	"  \"format\": \"nvmf-raid-status\",\n" \
	"  \"version\": 1,\n" \
	"  \"volumes\": [\n" \
	"    {\n" \
	"      \"volume\": \"db1\",\n" \
	"      \"state\": \"degraded\",\n" \
	"      \"attached\": true,\n" \
	"      \"source\": \"/etc/nvmf-raid/volumes/db1.conf\",\n" \
	"      \"persistent\": true,\n" \
	"      \"device\": \"/dev/nvmf-raid/db1\",\n" \
	"      \"md\": \"/dev/md127\",\n" \
	"      \"size\": 67108864,\n" \
	"      \"min-replicas\": 1,\n" \
	"      \"sync\": null,\n" \
	"      \"rebuild\": null,\n" \
	"      \"error\": null,\n" \
	"      \"writable\": true,\n" \
	"      \"device-link\": \"/dev/md127\",\n" \
	"      \"array-state\": \"clean\",\n" \
	"      \"problems\": [\n" \
	"        \"degraded\"\n" \
	"      ],\n" \
	"      \"replicas\": [\n" \
	"        {\n" \
	"          \"name\": \"a\",\n" \
	"          \"state\": \"in-sync\",\n" \
	"          \"device\": \"/dev/nvme1n1\",\n" \
	"          \"size\": 67108864,\n" \
	"          \"nqn\": \"nqn.2024-01.io.nvmf-raid.test:db1-a\",\n" \
	"          \"uuid\": \"96e25fb4-9f91-4c88-ab59-275fd3547700\",\n" \
	"          \"nguid\": null,\n" \
	"          \"nsid\": null,\n" \
	"          \"portals\": [\n" \
	"            \"tcp://127.0.0.1:4420\"\n" \
	"          ],\n" \
	"          \"outdated\": false,\n" \
	"          \"progress\": null,\n" \
	"          \"reachable\": true\n" \
	"        },\n" \
	"        {\n" \
	"          \"name\": \"b\",\n" \
	"          \"state\": \"faulty\",\n" \
	"          \"device\": \"/dev/nvme2n1\",\n" \
	"          \"size\": 67108864,\n" \
	"          \"nqn\": \"nqn.2024-01.io.nvmf-raid.test:db1-b\",\n" \
	"          \"uuid\": \"96e25fb4-9f91-4c88-ab59-275fd3547701\",\n" \
	"          \"nguid\": null,\n" \
	"          \"nsid\": null,\n" \
	"          \"portals\": [\n" \
	"            \"tcp://127.0.0.1:4421\"\n" \
	"          ],\n" \
	"          \"outdated\": false,\n" \
	"          \"progress\": null,\n" \
	"          \"reachable\": true\n" \
	"        },\n" \
	"        {\n" \
	"          \"name\": \"c\",\n" \
	"          \"state\": \"absent\",\n" \
	"          \"device\": null,\n" \
	"          \"size\": null,\n" \
	"          \"nqn\": \"nqn.2024-01.io.nvmf-raid.test:db1-c\",\n" \
	"          \"uuid\": \"96e25fb4-9f91-4c88-ab59-275fd3547702\",\n" \
	"          \"nguid\": null,\n" \
	"          \"nsid\": null,\n" \
	"          \"portals\": [\n" \
	"            \"tcp://127.0.0.1:4422\"\n" \
	"          ],\n" \
	"          \"outdated\": true,\n" \
	"          \"progress\": null,\n" \
	"          \"reachable\": false\n" \
	"        }\n" \
	"      ]\n" \
	"    }\n" \
	"  ]\n" \
	"}\n"
#define GOLDEN_TEXT_DEGRADED \
	"db1  degraded  /dev/nvmf-raid/db1 -> /dev/md127  64.0M (67108864 bytes)\n" \
	"  a  in-sync  /dev/nvme1n1  tcp://127.0.0.1:4420\n" \
	"  b  faulty   /dev/nvme2n1  tcp://127.0.0.1:4421\n" \
	"  c  absent   -             tcp://127.0.0.1:4422\n"
#define GOLDEN_TEXT_REBUILDING \
	"db1  rebuilding  /dev/nvmf-raid/db1 -> /dev/md127  64.0M (67108864 bytes)\n" \
	"  a  in-sync     /dev/nvme1n1  tcp://127.0.0.1:4420\n" \
	"  b  rebuilding  /dev/nvme2n1  tcp://127.0.0.1:4421  recover 42.0%\n" \
	"  c  absent      -             tcp://127.0.0.1:4422\n"
#define GOLDEN_TEXT_LIST \
	"db1  degraded  /dev/nvmf-raid/db1 -> /dev/md127  64.0M (67108864 bytes)\n" \
	"  a  in-sync  /dev/nvme1n1  tcp://127.0.0.1:4420\n" \
	"  b  faulty   /dev/nvme2n1  tcp://127.0.0.1:4421\n" \
	"  c  absent   -             tcp://127.0.0.1:4422\n" \
	"db2  inactive  /run/nvmf-raid/volumes/db2.conf\n" \
	"  a  -  -  tcp://127.0.0.1:4420\n" \
	"  b  -  -  tcp://127.0.0.1:4421\n" \
	"one  optimal   /dev/nvmf-raid/one -> /dev/nvme1n1  64.0M (67108864 bytes)\n" \
	"  a  in-sync  /dev/nvme1n1  tcp://127.0.0.1:4420\n"

/* ---- fixtures ----------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	char *p = s ? strdup(s) : NULL;

	if (s && !p)
		abort();
	return p;
}

/* What gathering does last: problems, then the state. */
static void refresh(struct status_volume *v)
{
	v->problems = status_problems(v);
	v->state = status_volume_state(v);
}

/* An attached, running volume "db1" of @n replicas a, b, c…, every one
 * in sync as /dev/nvme<i+1>n1 on its own port, reachable; the link leads
 * to the array (or the namespace), which is clean. */
static struct status_volume *make_volume(const char *name, unsigned n)
{
	struct status_volume *v = calloc(1, sizeof(*v));
	char buf[64];

	if (!v)
		abort();
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(buf, sizeof(buf), "/etc/nvmf-raid/volumes/%s.conf", name);
	v->source = xstrdup(buf);
	v->persistent = true;
	v->attached = true;
	snprintf(buf, sizeof(buf), "/dev/nvmf-raid/%s", name);
	v->device = xstrdup(buf);
	v->md = n > 1 ? xstrdup("/dev/md127") : NULL;
	v->size = MIB64;
	v->min_replicas = 1;
	v->running = true;
	snprintf(v->sync_action, sizeof(v->sync_action), "%s", n > 1 ? "idle" : "");
	for (unsigned i = 0; i < n; i++) {
		struct status_replica *r = &v->replicas[i];

		snprintf(r->name, sizeof(r->name), "%c", 'a' + i);
		snprintf(r->nqn, sizeof(r->nqn), "nqn.2024-01.io.nvmf-raid.test:%s-%c", name, 'a' + i);
		{
			char u[37];

			snprintf(u, sizeof(u), "96e25fb4-9f91-4c88-ab59-275fd35477%02x", i);
			r->ns.has_uuid = vol_uuid_parse(u, r->ns.uuid) == 0;
		}
		snprintf(r->portals[0], sizeof(r->portals[0]), "tcp://127.0.0.1:%u", 4420 + i);
		r->n_portals = 1;
		r->state = S;
		snprintf(buf, sizeof(buf), "/dev/nvme%un1", i + 1);
		r->device = xstrdup(buf);
		r->size = MIB64;
		r->reachable = true;
	}
	v->n_replicas = n;
	snprintf(v->array_state, sizeof(v->array_state), "%s", n > 1 ? "clean" : "");
	v->link_target = xstrdup(n > 1 ? v->md : v->replicas[0].device);
	refresh(v);
	return v;
}

/* db1 degraded: a in sync, b failed by md, c's namespace gone. */
static struct status_volume *make_degraded(void)
{
	struct status_volume *v = make_volume("db1", 3);

	v->md_degraded = 2;
	v->replicas[1].state = F;
	v->replicas[2].state = A;
	free(v->replicas[2].device);
	v->replicas[2].device = NULL;
	v->replicas[2].size = STATUS_SIZE_UNKNOWN;
	v->replicas[2].outdated = true;
	v->replicas[2].reachable = false;
	refresh(v);
	return v;
}

/* db1 rebuilding: b recovered by md, 42% through. */
static struct status_volume *make_rebuilding(void)
{
	struct status_volume *v = make_degraded();

	v->replicas[1].state = R;
	snprintf(v->sync_action, sizeof(v->sync_action), "recover");
	v->has_sync = true;
	v->sync_completed = 55051;
	v->sync_total = 131072;
	refresh(v);
	return v;
}

/* db2, not attached: only what its volume file says. */
static struct status_volume *make_inactive(void)
{
	struct status_volume *v = make_volume("db2", 2);

	v->attached = false;
	v->running = false;
	free(v->device);
	free(v->md);
	free(v->link_target);
	v->device = v->md = v->link_target = NULL;
	v->array_state[0] = 0;
	v->size = STATUS_SIZE_UNKNOWN;
	v->sync_action[0] = 0;
	v->persistent = false;
	free(v->source);
	v->source = xstrdup("/run/nvmf-raid/volumes/db2.conf");
	for (unsigned i = 0; i < v->n_replicas; i++) {
		v->replicas[i].state = _STATE_INVALID;
		free(v->replicas[i].device);
		v->replicas[i].device = NULL;
		v->replicas[i].size = STATUS_SIZE_UNKNOWN;
		v->replicas[i].reachable = false;
	}
	refresh(v);
	return v;
}

static char *to_json(struct status_volume *v)
{
	const struct status_volume *vols[] = { v };
	char *text = NULL;

	if (status_to_json(vols, 1, &text) < 0)
		abort();
	return text;
}

static char *to_text(struct status_volume *v)
{
	const struct status_volume *vols[] = { v };
	char *text = NULL;

	if (status_to_text(vols, 1, &text) < 0)
		abort();
	return text;
}

/* The volume object of a one-volume JSON text. */
static json_object *parse_volume(const char *text, json_object **ret_root)
{
	json_object *root = json_tokener_parse(text), *vols;

	*ret_root = root;
	if (!root || !json_object_object_get_ex(root, "volumes", &vols) ||
	    json_object_array_length(vols) != 1)
		return NULL;
	return json_object_array_get_idx(vols, 0);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool has_null(json_object *o, const char *key)
{
	json_object *v = (json_object *)1;

	return o && json_object_object_get_ex(o, key, &v) && !v;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* @o has exactly the keys of @keys, in that order, of the types given;
 * json_type_null means "null or as in @alt". */
static void check_keys(json_object *o, const char *what, const char *const *keys,
		       const json_type *types, const json_type *alt, size_t n)
{
	size_t i = 0;
	bool okay = json_object_is_type(o, json_type_object) && (size_t)json_object_object_length(o) == n;

	if (okay) {
		json_object_object_foreach(o, key, val)
		{
			json_type t = json_object_get_type(val);

			if (i >= n || strcmp(key, keys[i]) != 0 ||
			    (t != types[i] && !(types[i] == json_type_null && t == alt[i]))) {
				printf("#   %s: key %zu is \"%s\" (%s)\n", what, i, key,
				       json_type_to_name(t));
				okay = false;
				break;
			}
			i++;
		}
	}
	ok(okay, "%s: keys and types exactly as specified", what);
}

#define NUL json_type_null
#define STR json_type_string
#define INT json_type_int
#define DBL json_type_double
#define BOOL json_type_boolean
#define ARR json_type_array
#define OBJ json_type_object

static void check_volume_keys(json_object *v, const json_type *nullable_as, const char *what)
{
	static const char *const keys[] = { "volume",	    "state",	   "attached",	  "source",
					    "persistent",   "device",	   "md",	  "size",
					    "min-replicas", "sync",	   "rebuild",	  "error",
					    "writable",	    "device-link", "array-state", "problems",
					    "replicas" };
	static const json_type types[] = { STR, STR, BOOL, NUL, BOOL, NUL, NUL, NUL, NUL,
					   NUL, NUL, NUL,  NUL, NUL,  NUL, ARR, ARR };

	check_keys(v, what, keys, types, nullable_as, ELEMENTSOF(keys));
}

static void check_replica_keys(json_object *r, const json_type *nullable_as, const char *what)
{
	static const char *const keys[] = { "name",    "state",	   "device",   "size",
					    "nqn",     "uuid",	   "nguid",    "nsid",
					    "portals", "outdated", "progress", "reachable" };
	static const json_type types[] = { STR, NUL, NUL, NUL, STR, NUL, NUL, NUL, ARR, BOOL, NUL, NUL };

	check_keys(r, what, keys, types, nullable_as, ELEMENTSOF(keys));
}

/* ---- states ------------------------------------------------------------- */

static void test_state_names(void)
{
	static const char *const names[] = { "inactive", "optimal", "rebuilding",
					     "degraded", "failed",  "suspended" };

	for (int s = 0; s < _STATUS_STATE_MAX; s++)
		is_str(status_state_to_string(s), names[s], names[s]);
	ok(!status_state_to_string(_STATUS_STATE_MAX), "no name past the last state");
	ok(!status_state_to_string(_STATUS_STATE_INVALID), "no name for an invalid state");
}

static void test_replica_states(void)
{
	static const struct {
		bool has_md;
		const char *member;
		bool present;
		enum state recorded;
		bool outdated;
		enum state want;
		const char *what;
	} cases[] = {
		{ false, NULL, true, A, false, S, "one replica, namespace there: in-sync" },
		{ false, NULL, false, S, false, A, "one replica, namespace gone: absent" },
		{ true, "in_sync", true, P, false, S, "member in_sync: in-sync" },
		{ true, "in_sync,write_mostly", true, S, false, S, "in_sync with flags: in-sync" },
		{ true, "faulty", true, S, false, F, "member faulty: faulty" },
		{ true, "faulty,in_sync", false, S, false, F, "faulty wins over in_sync" },
		{ true, "spare", true, P, false, R, "member spare: rebuilding" },
		{ true, "", true, P, false, R, "member with no flag: rebuilding" },
		{ true, NULL, true, A, false, P, "not a member, namespace there: present" },
		{ true, NULL, true, F, false, P, "recorded faulty but back: present" },
		{ true, NULL, true, S, true, O, "outdated = yes: outdated" },
		{ true, NULL, true, O, false, O, "recorded outdated: outdated" },
		{ true, NULL, false, F, false, F, "removed from md, namespace gone: faulty" },
		{ true, NULL, false, S, false, A, "namespace gone: absent" },
		{ true, NULL, false, O, true, A, "outdated and gone: absent" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		is_str(state_to_string(status_replica_state(cases[i].has_md, cases[i].member, cases[i].present,
							    cases[i].recorded, cases[i].outdated)),
		       state_to_string(cases[i].want), cases[i].what);
}

static void is_volume_state(struct status_volume *v, enum status_state want, const char *what)
{
	is_str(status_state_to_string(status_volume_state(v)), status_state_to_string(want), what);
	status_volume_free(v);
}

static void test_volume_states(void)
{
	struct status_volume *v;

	is_volume_state(make_volume("db1", 3), STATUS_OPTIMAL, "every replica in sync: optimal");
	is_volume_state(make_degraded(), STATUS_DEGRADED, "faulty and absent replica: degraded");
	is_volume_state(make_rebuilding(), STATUS_REBUILDING, "a replica rebuilding: rebuilding");
	is_volume_state(make_inactive(), STATUS_INACTIVE, "no descriptor: inactive");
	v = make_volume("db1", 2);
	v->record_stale = true;
	refresh(v);
	ok(v->problems & STATUS_PROBLEM_BIT(STATUS_PROBLEM_RECORD_STALE),
	   "record not written: problem record-stale");
	is_str(status_problem_to_string(STATUS_PROBLEM_RECORD_STALE), "record-stale", "  ... so named");
	is_volume_state(v, STATUS_DEGRADED, "  ... and not optimal: degraded");

	v = make_volume("db1", 2);
	v->replicas[1].state = P;
	is_volume_state(v, STATUS_DEGRADED, "a replica present, not a member: degraded");
	v = make_volume("db1", 2);
	v->replicas[1].state = O;
	is_volume_state(v, STATUS_DEGRADED, "a replica outdated: degraded");
	v = make_volume("db1", 2);
	v->md_degraded = 1;
	is_volume_state(v, STATUS_DEGRADED, "md misses a member no replica names: degraded");
	v = make_volume("db1", 2);
	snprintf(v->sync_action, sizeof(v->sync_action), "resync");
	is_volume_state(v, STATUS_REBUILDING, "resync with every member in_sync: rebuilding");
	v = make_volume("db1", 2);
	snprintf(v->sync_action, sizeof(v->sync_action), "recover");
	is_volume_state(v, STATUS_REBUILDING, "recover before the member shows: rebuilding");
	v = make_volume("db1", 2);
	snprintf(v->sync_action, sizeof(v->sync_action), "check");
	is_volume_state(v, STATUS_OPTIMAL, "a check keeps it optimal");
	v = make_volume("db1", 2);
	v->running = false;
	is_volume_state(v, STATUS_FAILED, "array not running: failed");
	v = make_volume("db1", 2);
	v->error = xstrdup("cannot read its descriptor: Bad message");
	is_volume_state(v, STATUS_FAILED, "descriptor unreadable: failed");
	is_volume_state(make_volume("one", 1), STATUS_OPTIMAL, "one replica there: optimal");
	v = make_volume("one", 1);
	v->running = false;
	v->replicas[0].state = A;
	is_volume_state(v, STATUS_FAILED, "one replica, namespace gone: failed");
}

/* ---- health: what a user of the device gets ----------------------------- */

#define PB(p) STATUS_PROBLEM_BIT(STATUS_PROBLEM_##p)

/* One observation changed from a healthy two-replica volume (or, with
 * @one, a one-replica volume): the state, problems and writability. */
struct health_case {
	bool one;
	const char *array_state; /* NULL: keep "clean" */
	bool stopped;		 /* running false */
	const char *link;	 /* "-": missing; NULL: keep */
	int unreachable;	 /* bits: replicas without a live controller */
	enum state b;		 /* replica b's state; 0: keep in-sync */
	enum status_state want;
	unsigned problems;
	const char *what;
};

static void check_health(const struct health_case *c)
{
	struct status_volume *v = make_volume("db1", c->one ? 1 : 2);

	if (c->array_state)
		snprintf(v->array_state, sizeof(v->array_state), "%s", c->array_state);
	v->running = !c->stopped;
	if (c->link) {
		free(v->link_target);
		v->link_target = streq(c->link, "-") ? NULL : xstrdup(c->link);
	}
	for (unsigned i = 0; i < v->n_replicas; i++)
		v->replicas[i].reachable = !(c->unreachable & (1 << i));
	if (c->b)
		v->replicas[1].state = c->b;
	refresh(v);
	ok(v->state == c->want, "%s: state %s", c->what, strna(status_state_to_string(v->state)));
	ok(v->problems == c->problems, "%s: problems 0x%x (want 0x%x)", c->what, v->problems, c->problems);
	ok(status_volume_writable(v) == (c->want != STATUS_FAILED && c->want != STATUS_SUSPENDED),
	   "%s: writable only unless failed or suspended", c->what);
	status_volume_free(v);
}

static void test_health(void)
{
	static const struct health_case cases[] = {
		{ .want = STATUS_OPTIMAL, .what = "everything holds: optimal" },
		{ .array_state = "active", .want = STATUS_OPTIMAL, .what = "md active: optimal" },
		{ .array_state = "active-idle", .want = STATUS_OPTIMAL, .what = "md active-idle: optimal" },
		{ .array_state = "write-pending", .want = STATUS_OPTIMAL, .what = "md write-pending: optimal" },
		{ .array_state = "read-auto",
		  .want = STATUS_OPTIMAL,
		  .what = "md read-auto (writable, turns active): optimal" },
		{ .array_state = "broken",
		  .want = STATUS_FAILED,
		  .problems = PB(ARRAY_BROKEN),
		  .what = "md broken, members still in_sync: failed" },
		{ .array_state = "readonly",
		  .want = STATUS_FAILED,
		  .problems = PB(ARRAY_READ_ONLY),
		  .what = "md readonly: failed" },
		{ .array_state = "suspended",
		  .want = STATUS_FAILED,
		  .problems = PB(ARRAY_STATE),
		  .what = "md suspended: failed" },
		{ .array_state = "",
		  .want = STATUS_FAILED,
		  .problems = PB(ARRAY_STATE),
		  .what = "array_state unreadable: failed" },
		{ .array_state = "inactive",
		  .stopped = true,
		  .want = STATUS_FAILED,
		  .problems = PB(NOT_RUNNING),
		  .what = "md inactive: failed" },
		{ .link = "-",
		  .want = STATUS_FAILED,
		  .problems = PB(LINK_MISSING),
		  .what = "link missing, array fine: failed" },
		{ .link = "/dev/md126",
		  .want = STATUS_FAILED,
		  .problems = PB(LINK_WRONG),
		  .what = "link to another array: failed" },
		{ .link = "/dev/nvmf-raid/db1",
		  .want = STATUS_FAILED,
		  .problems = PB(LINK_WRONG),
		  .what = "link is no link: failed" },
		{ .array_state = "broken",
		  .link = "-",
		  .want = STATUS_FAILED,
		  .problems = PB(ARRAY_BROKEN) | PB(LINK_MISSING),
		  .what = "broken and link gone (the outage seen): failed, both said" },
		{ .unreachable = 3,
		  .want = STATUS_SUSPENDED,
		  .problems = PB(SUSPENDED),
		  .what = "no in-sync replica reachable: suspended" },
		{ .unreachable = 2,
		  .want = STATUS_DEGRADED,
		  .problems = PB(UNREACHABLE),
		  .what = "one in-sync replica unreachable: degraded" },
		{ .unreachable = 1,
		  .b = F,
		  .want = STATUS_SUSPENDED,
		  .problems = PB(SUSPENDED) | PB(DEGRADED),
		  .what = "the last in-sync replica unreachable: suspended" },
		{ .unreachable = 2,
		  .b = F,
		  .want = STATUS_DEGRADED,
		  .problems = PB(DEGRADED),
		  .what = "the faulty one unreachable: degraded" },
		{ .unreachable = 3,
		  .array_state = "broken",
		  .want = STATUS_FAILED,
		  .problems = PB(ARRAY_BROKEN) | PB(SUSPENDED),
		  .what = "broken wins over suspended" },
		{ .one = true, .want = STATUS_OPTIMAL, .what = "one replica: optimal" },
		{ .one = true,
		  .unreachable = 1,
		  .want = STATUS_SUSPENDED,
		  .problems = PB(SUSPENDED),
		  .what = "one replica, controller reconnecting: suspended" },
		{ .one = true,
		  .link = "/dev/nvme2n1",
		  .want = STATUS_FAILED,
		  .problems = PB(LINK_WRONG),
		  .what = "one replica, link to another namespace: failed" },
		{ .one = true,
		  .link = "-",
		  .want = STATUS_FAILED,
		  .problems = PB(LINK_MISSING),
		  .what = "one replica, link missing: failed" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		check_health(&cases[i]);
	for (int p = 0; p < _STATUS_PROBLEM_MAX; p++)
		ok(status_problem_to_string(p) != NULL, "problem %d has a name", p);
	ok(!status_problem_to_string(_STATUS_PROBLEM_MAX), "no name past the last problem");
}

static void test_health_json_text(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_volume("db1", 2);
	_cleanup_free_ char *text = NULL, *human = NULL;
	_cleanup_json_ json_object *root = NULL;
	json_object *o, *problems;

	snprintf(v->array_state, sizeof(v->array_state), "broken");
	free(TAKE_PTR(v->link_target));
	refresh(v);
	text = to_json(v);
	o = parse_volume(text, &root);
	is_str(get_str(o, "state"), "failed", "broken, link gone: state failed");
	ok(json_object_is_type(get(o, "writable"), json_type_boolean) &&
		   !json_object_get_boolean(get(o, "writable")),
	   "writable false");
	ok(has_null(o, "device-link"), "device-link null: missing");
	is_str(get_str(o, "array-state"), "broken", "array-state as md says");
	problems = get(o, "problems");
	ok(json_object_array_length(problems) == 2 &&
		   streq(json_object_get_string(json_object_array_get_idx(problems, 0)), "array-broken") &&
		   streq(json_object_get_string(json_object_array_get_idx(problems, 1)),
			 "device-link-missing"),
	   "problems: array-broken, device-link-missing");
	human = to_text(v);
	is_str(strtok(human, "\n"),
	       "db1  failed  /dev/nvmf-raid/db1 -> /dev/md127  64.0M (67108864 bytes)  problems: "
	       "array-broken, device-link-missing",
	       "text: the problems on the header");
}

static void test_sync_completed(void)
{
	static const char *const bad[] = { "none",
					   "delayed",
					   "",
					   "1 /",
					   "1 / ",
					   "5 / 4",
					   "1 / 0",
					   "-1 / 5",
					   "1 / 5x",
					   "1/5",
					   " 1 / 5",
					   "1 / +5",
					   "18446744073709551616 / 18446744073709551617" };
	uint64_t c = 7, t = 7;

	is_int(status_parse_sync_completed("1234 / 131072", &c, &t), 0, "\"1234 / 131072\" parses");
	ok(c == 1234 && t == 131072, "completed 1234, total 131072");
	is_int(status_parse_sync_completed("131072 / 131072\n", &c, &t), 0, "done, with a newline");
	is_int(status_parse_sync_completed("0 / 18446744073709551615", &c, &t), 0, "largest total");
	ok(t == UINT64_MAX, "total is UINT64_MAX");
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		c = t = 7;
		ok(status_parse_sync_completed(bad[i], &c, &t) == -EINVAL && c == 7 && t == 7,
		   "\"%s\" refused, nothing set", bad[i]);
	}
}

/* ---- JSON --------------------------------------------------------------- */

/* Types the nullable keys have when not null. */
static const json_type vol_alt[] = { STR, STR, BOOL, STR,  BOOL, STR, STR, INT, INT,
				     OBJ, OBJ, STR,  BOOL, STR,	 STR, ARR, ARR };
static const json_type rep_alt[] = { STR, STR, STR, INT, STR, STR, NUL, NUL, ARR, BOOL, DBL, BOOL };

static void test_json_degraded(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_degraded();
	_cleanup_free_ char *text = to_json(v);
	_cleanup_json_ json_object *root = NULL;
	json_object *o = parse_volume(text, &root), *reps = get(o, "replicas");
	static const char *const top[] = { "format", "version", "volumes" };
	static const json_type top_types[] = { STR, INT, ARR };

	is_str(text, GOLDEN_JSON_DEGRADED, "degraded volume: the exact JSON text");
	ok(o, "JSON parses back with json-c");
	check_keys(root, "top level", top, top_types, top_types, ELEMENTSOF(top));
	is_str(get_str(root, "format"), "nvmf-raid-status", "format");
	is_int(json_object_get_int(get(root, "version")), 1, "version 1");
	check_volume_keys(o, vol_alt, "degraded volume");
	is_str(get_str(o, "state"), "degraded", "state degraded");
	ok(json_object_get_boolean(get(o, "attached")), "attached true");
	is_str(get_str(o, "device"), "/dev/nvmf-raid/db1", "device");
	is_str(get_str(o, "md"), "/dev/md127", "md");
	is_int(json_object_get_int64(get(o, "size")), MIB64, "size in bytes");
	is_int(json_object_get_int(get(o, "min-replicas")), 1, "min-replicas");
	ok(has_null(o, "sync") && has_null(o, "error"), "sync and error null");
	is_int(json_object_array_length(reps), 3, "three replicas");
	for (size_t i = 0; i < 3; i++) {
		json_object *r = json_object_array_get_idx(reps, i);
		static const char *const want[] = { "in-sync", "faulty", "absent" };

		check_replica_keys(r, rep_alt, want[i]);
		is_str(get_str(r, "state"), want[i], "replica state");
		ok(has_null(r, "progress"), "%s: progress null, nothing rebuilds", want[i]);
		is_str(json_object_get_string(json_object_array_get_idx(get(r, "portals"), 0)),
		       v->replicas[i].portals[0], "portal");
	}
	is_str(get_str(json_object_array_get_idx(reps, 1), "device"), "/dev/nvme2n1",
	       "faulty replica keeps its device");
	ok(has_null(json_object_array_get_idx(reps, 2), "device") &&
		   has_null(json_object_array_get_idx(reps, 2), "size"),
	   "absent replica: device and size null");
	ok(json_object_get_boolean(get(json_object_array_get_idx(reps, 2), "outdated")),
	   "outdated true as configured");
}

static void test_json_rebuilding(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_rebuilding();
	_cleanup_free_ char *text = to_json(v);
	_cleanup_json_ json_object *root = NULL;
	json_object *o = parse_volume(text, &root), *sync = get(o, "sync");
	json_object *reps = get(o, "replicas");
	static const char *const keys[] = { "action", "completed", "total", "progress" };
	static const json_type types[] = { STR, INT, INT, DBL };

	is_str(get_str(o, "state"), "rebuilding", "state rebuilding");
	check_volume_keys(o, vol_alt, "rebuilding volume");
	check_keys(sync, "sync", keys, types, types, ELEMENTSOF(keys));
	is_str(get_str(sync, "action"), "recover", "sync action");
	is_int(json_object_get_int64(get(sync, "completed")), 55051, "completed sectors");
	is_int(json_object_get_int64(get(sync, "total")), 131072, "total sectors");
	ok(json_object_get_double(get(sync, "progress")) == 0.42,
	   "progress 0.42 (55051/131072 = 0.42000…, 4 decimals)");
	ok(strstr(text, "\"progress\": 0.4200"), "progress printed as 0.4200");
	check_replica_keys(json_object_array_get_idx(reps, 1), rep_alt, "rebuilding replica");
	ok(json_object_get_double(get(json_object_array_get_idx(reps, 1), "progress")) == 0.42,
	   "rebuilding replica: the array's progress");
	ok(has_null(json_object_array_get_idx(reps, 0), "progress") &&
		   has_null(json_object_array_get_idx(reps, 2), "progress"),
	   "the others: progress null");
}

static void test_json_progress_bounds(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_rebuilding();
	_cleanup_free_ char *almost = NULL, *done = NULL, *start = NULL;

	v->sync_completed = v->sync_total - 1;
	almost = to_json(v);
	ok(strstr(almost, "\"progress\": 0.9999,") || strstr(almost, "\"progress\": 0.9999\n"),
	   "one sector short: 0.9999, never 1 while running");
	v->sync_completed = v->sync_total;
	done = to_json(v);
	ok(strstr(done, "\"progress\": 1.0000"), "done: 1.0000");
	v->sync_completed = 0;
	start = to_json(v);
	ok(strstr(start, "\"progress\": 0.0000"), "start: 0.0000");
}

static void test_json_inactive(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_inactive();
	_cleanup_free_ char *text = to_json(v);
	_cleanup_json_ json_object *root = NULL;
	json_object *o = parse_volume(text, &root), *reps = get(o, "replicas");
	static const json_type vol_null[] = { STR, STR, BOOL, STR, BOOL, NUL, NUL, NUL, INT,
					      NUL, NUL, NUL,  NUL, NUL,	 NUL, ARR, ARR };
	static const json_type rep_null[] = { STR, NUL, NUL, NUL,  STR, STR,
					      NUL, NUL, ARR, BOOL, NUL, NUL };

	check_volume_keys(o, vol_null,
			  "inactive volume: device, md, size, sync, error, writable, "
			  "device-link, array-state null");
	is_int(json_object_array_length(get(o, "problems")), 0, "inactive volume: no problems");
	is_str(get_str(o, "state"), "inactive", "state inactive");
	ok(!json_object_get_boolean(get(o, "attached")), "attached false");
	ok(!json_object_get_boolean(get(o, "persistent")), "persistent false (/run)");
	is_str(get_str(o, "source"), "/run/nvmf-raid/volumes/db2.conf", "source");
	is_int(json_object_array_length(reps), 2, "both replicas listed");
	for (size_t i = 0; i < 2; i++)
		check_replica_keys(json_object_array_get_idx(reps, i), rep_null,
				   "inactive replica: state, device, size, progress, reachable null");
}

static void test_json_broken_file(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_inactive();
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_object *root = NULL;
	json_object *o;
	static const json_type vol_null[] = { STR, STR, BOOL, STR, BOOL, NUL, NUL, NUL, NUL,
					      NUL, NUL, STR,  NUL, NUL,	 NUL, ARR, ARR };

	for (unsigned i = 0; i < v->n_replicas; i++)
		free(v->replicas[i].device);
	v->n_replicas = 0;
	v->min_replicas = 0;
	v->error = xstrdup("invalid volume file; 'nvmf-raid check db2' says why");
	refresh(v);
	text = to_json(v);
	o = parse_volume(text, &root);
	check_volume_keys(o, vol_null, "broken volume file: min-replicas null, error a string");
	is_str(get_str(o, "state"), "inactive", "still shown as inactive");
	is_str(get_str(o, "error"), v->error, "error says why");
	is_int(json_object_array_length(get(o, "replicas")), 0, "no replicas known");
}

static void test_json_one_replica(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_volume("one", 1);
	_cleanup_free_ char *text = to_json(v);
	_cleanup_json_ json_object *root = NULL;
	json_object *o = parse_volume(text, &root);
	static const json_type vol_null[] = { STR, STR, BOOL, STR,  BOOL, STR, NUL, INT, INT,
					      NUL, NUL, NUL,  BOOL, STR,  NUL, ARR, ARR };

	check_volume_keys(o, vol_null, "one replica: md and array-state null");
	is_str(get_str(o, "device-link"), "/dev/nvme1n1", "one replica: the link leads to the namespace");
	is_str(get_str(o, "state"), "optimal", "optimal");
	is_str(get_str(json_object_array_get_idx(get(o, "replicas"), 0), "state"), "in-sync",
	       "its replica in-sync");
}

static void test_json_list(void)
{
	_cleanup_(status_volume_freep) struct status_volume *a = make_volume("a1", 2);
	_cleanup_(status_volume_freep) struct status_volume *b = make_inactive();
	const struct status_volume *vols[] = { a, b };
	_cleanup_free_ char *text = NULL, *empty = NULL;
	_cleanup_json_ json_object *root = NULL, *none = NULL;
	json_object *list;

	is_int(status_to_json(vols, 2, &text), 0, "two volumes");
	root = json_tokener_parse(text);
	list = get(root, "volumes");
	ok(json_object_array_length(list) == 2 &&
		   streq(get_str(json_object_array_get_idx(list, 0), "volume"), "a1") &&
		   streq(get_str(json_object_array_get_idx(list, 1), "volume"), "db2"),
	   "in the order given");
	ok(text[strlen(text) - 1] == '\n', "ends in a newline");
	is_int(status_to_json(NULL, 0, &empty), 0, "no volumes");
	none = json_tokener_parse(empty);
	ok(json_object_is_type(get(none, "volumes"), json_type_array) &&
		   json_object_array_length(get(none, "volumes")) == 0,
	   "no volumes: an empty array");
	a->state = _STATUS_STATE_INVALID;
	free(TAKE_PTR(text));
	is_int(status_to_json(vols, 2, &text), -EINVAL, "an invalid volume state is refused");
	a->state = STATUS_OPTIMAL;
	a->replicas[0].state = _STATE_MAX;
	is_int(status_to_json(vols, 2, &text), -EINVAL, "an invalid replica state is refused");
}

/* ---- text --------------------------------------------------------------- */

static void test_text(void)
{
	_cleanup_(status_volume_freep) struct status_volume *deg = make_degraded();
	_cleanup_(status_volume_freep) struct status_volume *reb = make_rebuilding();
	_cleanup_(status_volume_freep) struct status_volume *one = make_volume("one", 1);
	_cleanup_(status_volume_freep) struct status_volume *ina = make_inactive();
	_cleanup_free_ char *t1 = to_text(deg), *t2 = to_text(reb), *t3 = NULL;
	const struct status_volume *all[] = { deg, ina, one };

	is_str(t1, GOLDEN_TEXT_DEGRADED, "degraded volume: the exact text");
	is_str(t2, GOLDEN_TEXT_REBUILDING, "rebuilding volume: progress on the rebuilt replica");
	is_int(status_to_text(all, 3, &t3), 0, "three volumes");
	is_str(t3, GOLDEN_TEXT_LIST, "headers aligned across volumes, inactive and one replica");
}

static void test_text_sizes_and_resync(void)
{
	_cleanup_(status_volume_freep) struct status_volume *v = make_volume("db1", 2);
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	snprintf(v->sync_action, sizeof(v->sync_action), "resync");
	v->has_sync = true;
	v->sync_completed = 65536;
	v->sync_total = 131072;
	v->size = 1000;
	refresh(v);
	a = to_text(v);
	is_str(strtok(a, "\n"),
	       "db1  rebuilding  /dev/nvmf-raid/db1 -> /dev/md127  1000B (1000 bytes)  resync 50.0%",
	       "resync of in-sync members: progress on the header; bytes below 1K");
	v->size = 1610612736;
	b = to_text(v);
	ok(strstr(b, "  1.5G (1610612736 bytes)"), "1.5G");
	/* The widest figures: four digits before the point, and the last unit. */
	v->size = (UINT64_C(1) << 60) - 1;
	d = to_text(v);
	ok(strstr(d, "  1023.9P (1152921504606846975 bytes)"), "1023.9P: rounded down, not 1.0E");
	v->size = STATUS_SIZE_UNKNOWN - 1;
	e = to_text(v);
	ok(strstr(e, "  15.9E (18446744073709551614 bytes)"), "15.9E: the largest size");
	v->size = STATUS_SIZE_UNKNOWN;
	v->has_sync = false;
	v->running = false;
	refresh(v);
	c = to_text(v);
	is_str(strtok(c, "\n"),
	       "db1  failed  /dev/nvmf-raid/db1 -> /dev/md127  problems: not-running, rebuilding",
	       "failed, size unknown, why");
}

/* ---- the rebuild queue and rate cap ------------------------------------ */

static void test_rebuild(void)
{
	_cleanup_(status_volume_freep) struct status_volume *q = make_volume("db1", 2);
	_cleanup_(status_volume_freep) struct status_volume *reb = make_rebuilding();
	_cleanup_free_ char *t = NULL, *j = NULL, *t2 = NULL, *j2 = NULL;
	_cleanup_json_ json_object *root = NULL, *root2 = NULL;
	json_object *o, *rb;
	static const char *const keys[] = { "queued", "position", "queue-length", "rate-max" };
	static const json_type queued[] = { BOOL, INT, INT, NUL };
	static const json_type running[] = { BOOL, NUL, NUL, INT };

	/* r2 back, waiting for a slot: present, third of four in line. */
	q->replicas[1].state = P;
	q->rebuild_queued = true;
	q->queue_position = 3;
	q->queue_length = 4;
	q->state = status_volume_state(q);
	t = to_text(q);
	ok(strstr(t, "  present  ") && strstr(t, "  rebuild queued (position 3 of 4)\n"),
	   "text: a present replica of a queued array says its place");
	is_int(status_volume_state(q), STATUS_DEGRADED, "  ... the volume is degraded meanwhile");
	j = to_json(q);
	o = parse_volume(j, &root);
	rb = get(o, "rebuild");
	check_keys(rb, "rebuild (queued)", keys, queued, queued, ELEMENTSOF(keys));
	ok(json_object_get_boolean(get(rb, "queued")), "json: queued true");
	is_int(json_object_get_int(get(rb, "position")), 3, "json: position 3");
	is_int(json_object_get_int(get(rb, "queue-length")), 4, "json: queue-length 4");
	ok(has_null(rb, "rate-max"), "json: rate-max null: md's default");

	/* Rebuilding under a cap of 20000 KiB/s. */
	reb->rate_max = 20000;
	t2 = to_text(reb);
	ok(strstr(t2, "recover 42.0% (rate cap 20000 KiB/s)\n"), "text: progress with the rate cap");
	ok(!strstr(t2, "queued"), "  ... not queued");
	j2 = to_json(reb);
	o = parse_volume(j2, &root2);
	rb = get(o, "rebuild");
	check_keys(rb, "rebuild (running)", keys, running, running, ELEMENTSOF(keys));
	ok(!json_object_get_boolean(get(rb, "queued")), "json: queued false");
	ok(has_null(rb, "position") && has_null(rb, "queue-length"), "json: no place");
	is_int(json_object_get_int64(get(rb, "rate-max")), 20000, "json: rate-max 20000");
}

int main(void)
{
	test_state_names();
	test_replica_states();
	test_volume_states();
	test_health();
	test_health_json_text();
	test_sync_completed();
	test_json_degraded();
	test_json_rebuilding();
	test_json_progress_bounds();
	test_json_inactive();
	test_json_broken_file();
	test_json_one_replica();
	test_json_list();
	test_text();
	test_text_sizes_and_resync();
	test_rebuild();
	return tap_done();
}
