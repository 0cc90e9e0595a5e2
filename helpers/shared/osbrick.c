/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * osb_: os-brick's connection_properties → a transient volume file.  This
 * file tells os-brick's four shapes apart (osbrick.h), reads the top-level
 * keys, picks the volume name and writes the INI text; osbrick-target.c
 * reads and checks each target.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json-util.h"
#include "log.h"
#include "osbrick-internal.h"

/* Our own nesting is 5 deep, but unknown keys (qos_specs…) may nest too;
 * json-c's default of 32 would only help an attacker. */
#define JSON_DEPTH_MAX 16

/* NVMeOFConnProps.__init__() */
enum shape {
	SHAPE_REPLICAS, /* 1 and 2: "volume_replicas", one target or more */
	SHAPE_TARGET,	/* 3: the top level is the target ("target_nqn") */
	SHAPE_OLD,	/* 4: the original form, neither of those keys */
};

static enum shape shape_of(json_object *root)
{
	json_object *v = NULL;

	/* os-brick tests "volume_replicas" in conn_props; null is the
	 * replication spec's flat form (os-brick fails on it). */
	if (json_object_object_get_ex(root, "volume_replicas", &v) && v)
		return SHAPE_REPLICAS;
	if (osb_has(root, "target_nqn"))
		return SHAPE_TARGET;
	/* The spec's flat form ("nqn", "uuid", "portals") has no "target_nqn"
	 * either, but "portals" and none of the original form's portal keys. */
	if (osb_has(root, "portals") && !osb_has(root, "target_portal") &&
	    !osb_has(root, "target_port") && !osb_has(root, "transport_type"))
		return SHAPE_TARGET;
	return SHAPE_OLD;
}

static void check_duplicates(struct osb_ctx *c, const struct osb_target *t, unsigned n)
{
	char path[OSB_JSON_PATH_MAX], id[160];

	for (unsigned j = 1; j < n; j++)
		for (unsigned i = 0; i < j; i++) {
			if (!t[i].ok || !t[j].ok ||
			    !vol_ns_id_shared(t[i].nqn, &t[i].all, t[j].nqn, &t[j].all))
				continue;
			osb_join(path, t[j].path, t[j].ns_key);
			vol_ns_id_describe(&t[j].all, id, sizeof(id));
			osb_bad(c, path, "names the namespace of %s too (%s%s)", t[i].path, id,
				t[j].ns.nsid ? " in the same subsystem" : "");
			break;
		}
}

/* Shapes 1 and 2: "volume_replicas", each an os-brick target. */
static int read_replicas(struct osb_ctx *c, json_object *root, struct osb_target *t, unsigned *ret_n)
{
	json_object *list = NULL;
	size_t n;
	int r;

	r = osb_get_typed(c, root, "", "volume_replicas", json_type_array, "a list (or null)", &list);
	if (r <= 0)
		return r;
	n = json_object_array_length(list);
	if (n == 0)
		return osb_bad(c, "volume_replicas", "empty; a volume needs 1 to %d replicas",
			       VOL_REPLICAS_MAX);
	if (n > VOL_REPLICAS_MAX)
		return osb_bad(c, "volume_replicas", "too many replicas (%zu, at most %d)", n,
			       VOL_REPLICAS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(list, i);

		snprintf(t[i].path, sizeof(t[i].path), "volume_replicas[%zu]", i);
		if (!json_object_is_type(o, json_type_object))
			osb_bad(c, t[i].path, "must be an object, not %s", json_type_text(o));
		else
			osb_read_target(c, o, &t[i]);
	}
	*ret_n = (unsigned)n;
	check_duplicates(c, t, *ret_n);
	return 0;
}

/* os-brick: replica_count = conn_props["replica_count"] or the number of
 * targets; it creates the array only once that many legs are found, and
 * with a count of 1 attaches one leg without RAID. */
static void read_replica_count(struct osb_ctx *c, json_object *root, unsigned n)
{
	json_object *v = NULL;
	int64_t k;

	if (osb_get_typed(c, root, "", "replica_count", json_type_int, "an integer", &v) <= 0 || n == 0)
		return;
	k = json_object_get_int64(v);
	if (k == 0 || k == (int64_t)n)
		return;
	if (k < 0)
		osb_bad(c, "replica_count", "%" PRId64 " is not a number of replicas", k);
	else if (k > (int64_t)n)
		osb_bad(c, "replica_count",
			"%" PRId64 ", but there %s %u replica%s: os-brick would not "
			"create the array from fewer legs either",
			k, n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
	else if (k == 1)
		osb_bad(c, "replica_count",
			"1, but there are %u replicas: os-brick would attach one of "
			"them without RAID",
			n);
	else
		log_notice("replica_count: %" PRId64 ", but there are %u replicas; all are used, as "
			   "os-brick does.",
			   k, n);
}

/* The top-level keys besides the targets'. */
static void read_top(struct osb_ctx *c, json_object *root, enum shape shape, unsigned n)
{
	char pr[OSB_PRINT_MAX + 4];
	const char *s = NULL;
	uint8_t id[16];

	(void)osb_get_string(c, root, "", "alias", &s);
	if (shape == SHAPE_TARGET)
		return; /* its vol_uuid is the target's, read with it */
	s = NULL;
	if (osb_get_string(c, root, "", "vol_uuid", &s) < 0 || shape != SHAPE_REPLICAS)
		return;
	/* os-brick: cinder_volume_id = str(uuid.UUID(conn_props["vol_uuid"])) */
	if (s && vol_nguid_parse(s, id) < 0)
		osb_bad(c, "vol_uuid",
			"'%s' is not a UUID; os-brick refuses it too (it is the Cinder "
			"volume id)",
			osb_printable(s, pr));
	read_replica_count(c, root, n);
}

static bool name_ok(struct osb_ctx *c, const char *what, const char *name)
{
	char pr[OSB_PRINT_MAX + 4];

	if (vol_name_is_valid(name))
		return true;
	osb_bad(c, what,
		"'%s' is not a valid volume name (1-%d of A-Z a-z 0-9 _ . -, starting with a "
		"letter or digit)",
		osb_printable(name, pr), VOL_NAME_MAX);
	return false;
}

/* A string member, already type-checked (and reported). */
static const char *peek_string(json_object *root, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

/* --volume, else alias, else the top-level vol_uuid (as given), else the
 * namespace UUID or NGUID of the only target (canonical). */
static void pick_name(struct osb_ctx *c, json_object *root, const char *override,
		      const struct osb_target *t, unsigned n, char ret[VOL_NAME_MAX + 1])
{
	const char *name = NULL, *what = NULL, *alias = peek_string(root, "alias"),
		   *vol_uuid = peek_string(root, "vol_uuid");
	char id[37];

	/* "" is no vol_uuid to os-brick; beside volume_replicas it was refused. */
	if (vol_uuid && !*vol_uuid)
		vol_uuid = NULL;
	if (override)
		name = override, what = "--volume";
	else if (alias)
		name = alias, what = "alias";
	else if (vol_uuid)
		name = vol_uuid, what = "vol_uuid";
	else if (n == 1 && t[0].ok && (t[0].ns.has_uuid || t[0].ns.has_nguid)) {
		if (t[0].ns.has_uuid)
			vol_uuid_format(t[0].ns.uuid, id);
		else
			vol_nguid_format(t[0].ns.nguid, id);
		name = id, what = t[0].path;
	} else if (n == 1 && t[0].ok)
		osb_bad(c, NULL,
			"no volume name: the namespace is known by \"ns_id\" only, which names "
			"no volume; give --volume, \"alias\" or \"vol_uuid\"");
	else if (n > 1)
		osb_bad(c, NULL,
			"no volume name: a volume of %u replicas needs --volume, \"alias\" or a "
			"top-level \"vol_uuid\"",
			n);
	if (name && name_ok(c, what, name))
		memcpy(ret, name, strlen(name) + 1);
}

/* One JSON object and nothing but whitespace after it. */
static int parse_json(struct osb_ctx *c, const char *buf, size_t len, json_object **ret)
{
	char why[160];
	int r;

	r = json_parse_object(buf, len, OSB_INPUT_MAX, JSON_DEPTH_MAX, ret, why, sizeof(why));
	if (r == -EBADMSG)
		return osb_bad(c, NULL, "%s", why);
	return r == -ENOMEM ? log_oom() : r;
}

static void format_target(FILE *f, unsigned i, const struct osb_target *t)
{
	char id[37], portals[OSB_PORTALS_TEXT_MAX];

	/* In quotes ';' and '#' start no comment and '\'' no quote;
	 * vol_nqn_check() let no '"' through. */
	fprintf(f, vol_nqn_needs_quotes(t->nqn) ? "\n[replica.%u]\nnqn = \"%s\"\n" : "\n[replica.%u]\nnqn = %s\n",
		i, t->nqn);
	if (t->ns.has_uuid) {
		vol_uuid_format(t->ns.uuid, id);
		fprintf(f, "uuid = %s\n", id);
	} else if (t->ns.has_nguid) {
		vol_nguid_format(t->ns.nguid, id);
		fprintf(f, "nguid = %s\n", id);
	} else
		fprintf(f, "nsid = %" PRIu32 "\n", t->ns.nsid);
	osb_portals_text(t, portals, sizeof(portals));
	fprintf(f, "portals = %s\n", portals);
}

/* The volume file; every value in it passed the checks of osbrick-target.c. */
static int format_text(const struct osb_target *t, unsigned n, char **ret)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	bool failed;

	if (!f)
		return -ENOMEM;
	fputs("# Written by \"nvmf-raid os-brick connect\" from os-brick's connection_properties;\n"
	      "# removed by \"nvmf-raid os-brick disconnect\".  See nvmf-raid(8).\n",
	      f);
	for (unsigned i = 0; i < n; i++)
		format_target(f, i, &t[i]);
	failed = ferror(f);
	if (fclose(f) != 0 || failed) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

int osb_parse(const char *buf, size_t len, const char *volume_override, struct osb_volume **ret)
{
	_cleanup_json_ json_object *root = NULL;
	_cleanup_osb_ struct osb_volume *o = NULL;
	_cleanup_free_ struct osb_target *t = NULL;
	struct osb_ctx c = {};
	enum shape shape;
	unsigned n = 0;
	int r;

	assert(buf || len == 0);
	assert(ret);

	r = parse_json(&c, buf, len, &root);
	if (r < 0)
		return r;
	o = calloc(1, sizeof(*o));
	t = calloc(VOL_REPLICAS_MAX, sizeof(*t));
	if (!o || !t)
		return log_oom();
	shape = shape_of(root);
	if (shape == SHAPE_REPLICAS)
		(void)read_replicas(&c, root, t, &n);
	else {
		n = 1;
		if (shape == SHAPE_TARGET)
			osb_read_target(&c, root, &t[0]);
		else
			osb_read_old(&c, root, &t[0]);
	}
	read_top(&c, root, shape, n);
	pick_name(&c, root, volume_override, t, n, o->name);
	/* The host NQNs go to the caller whatever happens, or are freed. */
	for (unsigned i = 0; i < n; i++) {
		memcpy(o->replicas[i].path, t[i].path, sizeof(t[i].path));
		o->replicas[i].host_nqn = TAKE_PTR(t[i].host_nqn);
	}
	o->n_replicas = n;
	if (c.oom)
		return log_oom();
	if (c.n_errors > 0 || n == 0 || !*o->name)
		return -EINVAL;
	if (format_text(t, n, &o->text) < 0)
		return log_oom();
	*ret = TAKE_PTR(o);
	return 0;
}

int osb_validate(const struct osb_volume *o, struct vol_volume **ret)
{
	_cleanup_free_ char *path = NULL;

	assert(o);
	assert(ret);
	if (asprintf(&path, "%s/%s.conf", vol_run_dir(), o->name) < 0)
		return log_oom();
	return vol_parse(path, o->text, strlen(o->text), ret);
}

void osb_free(struct osb_volume *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < o->n_replicas; i++)
		free(o->replicas[i].host_nqn);
	free(o->text);
	free(o);
}
