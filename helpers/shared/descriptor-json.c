/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The descriptor's JSON form (layout in descriptor.h): serialise, and parse
 * with every value validated.  The parser reads root-owned files that other
 * code trusts, and is fuzzed: no input may crash it, leak, or get through
 * unchecked.  Untrusted strings are printed only once they passed a
 * whitelist.
 */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "descriptor-internal.h"
#include "descriptor.h"
#include "json-util.h"
#include "log.h"

/* Our nesting is 4 deep; json-c's default of 32 only helps an attacker. */
#define JSON_DEPTH_MAX 8

/* The integer settings, one row per key for both directions.  Ranges as
 * volume.h documents them: desc_write() refuses values out of range. */
static const struct setting_key {
	const char *key;
	int64_t min, max;
	size_t offset; /* of an int or unsigned in struct desc_settings */
	bool is_signed;
} setting_keys[] = {
	{ "min-replicas", 1, VOL_REPLICAS_MAX, offsetof(struct desc_settings, min_replicas), false },
	{ "degraded-timeout", 0, 86400, offsetof(struct desc_settings, degraded_timeout), false },
	{ "fast-io-fail-tmo", -1, 3600, offsetof(struct desc_settings, fast_io_fail_tmo), true },
	{ "ctrl-loss-tmo", -1, 86400, offsetof(struct desc_settings, ctrl_loss_tmo), true },
	{ "reconnect-delay", 1, 3600, offsetof(struct desc_settings, reconnect_delay), false },
	{ "keep-alive-tmo", 1, 3600, offsetof(struct desc_settings, keep_alive_tmo), false },
};

static int64_t setting_get(const struct desc_settings *s, const struct setting_key *k)
{
	const char *p = (const char *)s + k->offset;

	return k->is_signed ? *(const int *)p : (int64_t) * (const unsigned *)p;
}

static void setting_set(struct desc_settings *s, const struct setting_key *k, int64_t v)
{
	char *p = (char *)s + k->offset;

	if (k->is_signed)
		*(int *)p = (int)v;
	else
		*(unsigned *)p = (unsigned)v;
}

/* ---- serialise ---------------------------------------------------------- */

/* Adds v (consumed) under key; v == NULL means json-c ran out of memory. */
static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* A NULL string becomes JSON null. */
static int add_string(json_object *o, const char *key, const char *s)
{
	if (!s)
		return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
	return add(o, key, json_object_new_string(s));
}

static int append(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static json_object *settings_to_json(const struct desc_settings *s)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(setting_keys); i++)
		if (add(o, setting_keys[i].key, json_object_new_int64(setting_get(s, &setting_keys[i]))) < 0)
			return NULL;
	if (add_string(o, "notify", s->notify) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static json_object *md_to_json(const struct desc_md *md)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o || add_string(o, "device", md->device) < 0 || add_string(o, "uuid", md->uuid) < 0 ||
	    add_string(o, "name", md->name) < 0)
		return NULL;
	return TAKE_PTR(o);
}

int desc_ns_id_to_json(struct json_object *o, const struct vol_ns_id *id)
{
	char u[37] = "", g[33] = "";

	if (id->has_uuid)
		vol_uuid_format(id->uuid, u);
	if (id->has_nguid)
		vol_nguid_format(id->nguid, g);
	if (add_string(o, "uuid", id->has_uuid ? u : NULL) < 0 ||
	    add_string(o, "nguid", id->has_nguid ? g : NULL) < 0)
		return -ENOMEM;
	if (!id->nsid)
		return json_object_object_add(o, "nsid", NULL) < 0 ? -ENOMEM : 0;
	return add(o, "nsid", json_object_new_int64(id->nsid));
}

static int replica_to_json(const struct desc_replica *r, json_object **ret)
{
	_cleanup_json_ json_object *o = NULL, *portals = NULL;
	const char *state = state_to_string(r->state);

	if (!state || r->n_portals > VOL_PORTALS_MAX)
		return -EINVAL;
	o = json_object_new_object();
	portals = json_object_new_array();
	if (!o || !portals)
		return -ENOMEM;
	for (unsigned i = 0; i < r->n_portals; i++)
		if (append(portals, json_object_new_string(r->portals[i])) < 0)
			return -ENOMEM;
	if (add_string(o, "name", r->name) < 0 || add_string(o, "nqn", r->nqn) < 0 ||
	    desc_ns_id_to_json(o, &r->ns) < 0 || add(o, "portals", TAKE_PTR(portals)) < 0 ||
	    add(o, "outdated", json_object_new_boolean(r->outdated)) < 0 ||
	    add_string(o, "state", state) < 0 || add_string(o, "device", r->device) < 0 ||
	    add_string(o, "dhchap-key", r->dhchap_key) < 0 ||
	    add_string(o, "dhchap-ctrl-key", r->dhchap_ctrl_key) < 0 ||
	    add(o, "tls", json_object_new_boolean(r->tls)) < 0 ||
	    add(o, "write-mostly", json_object_new_boolean(r->write_mostly)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int replicas_to_json(const struct desc *d, json_object **ret)
{
	_cleanup_json_ json_object *a = NULL;
	int r;

	if (d->n_replicas > VOL_REPLICAS_MAX)
		return -EINVAL;
	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	for (unsigned i = 0; i < d->n_replicas; i++) {
		json_object *o = NULL;

		r = replica_to_json(&d->replicas[i], &o);
		if (r < 0)
			return r;
		if (append(a, o) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

static int desc_to_json(const struct desc *d, json_object **ret)
{
	_cleanup_json_ json_object *o = json_object_new_object(), *replicas = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	r = replicas_to_json(d, &replicas);
	if (r < 0)
		return r;
	if (add_string(o, "format", DESC_FORMAT) < 0 ||
	    add(o, "version", json_object_new_int(DESC_VERSION)) < 0 ||
	    add_string(o, "volume", d->volume) < 0 || add_string(o, "source", d->source) < 0 ||
	    add(o, "persistent", json_object_new_boolean(d->persistent)) < 0 ||
	    add_string(o, "device", d->device) < 0 ||
	    add(o, "settings", settings_to_json(&d->settings)) < 0 ||
	    add(o, "md", md_to_json(&d->md)) < 0 || add(o, "replicas", TAKE_PTR(replicas)) < 0 ||
	    add(o, "record-stale", json_object_new_boolean(d->record_stale)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int desc_serialise(const struct desc *d, char **ret_text)
{
	_cleanup_json_ json_object *root = NULL;
	const char *s;
	char *text;
	int r;

	assert(d);
	assert(ret_text);
	r = desc_to_json(d, &root);
	if (r < 0)
		return r;
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&text, "%s\n", s) < 0)
		return -ENOMEM;
	*ret_text = text;
	return 0;
}

/* ---- parse -------------------------------------------------------------- */

struct pctx {
	const char *origin; /* the file, for messages */
	char prefix[32];    /* "", "settings.", "replicas[3]." */
};

static int bad(const struct pctx *c, const char *key, const char *fmt, ...) _printf_(3, 4);
static int bad(const struct pctx *c, const char *key, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!key)
		return log_error_errno(EBADMSG, "%s: %s", c->origin, msg);
	return log_error_errno(EBADMSG, "%s: %s%s: %s", c->origin, c->prefix, key, msg);
}

/* A JSON null comes back as *ret == NULL, if nullable. */
static int get_value(const struct pctx *c, json_object *obj, const char *key, json_type type,
		     bool nullable, json_object **ret)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return bad(c, key, "missing");
	if (!v && !nullable)
		return bad(c, key, "must not be null");
	if (v && !json_object_is_type(v, type))
		return bad(c, key, "expected %s, got %s", json_type_to_name(type),
			   json_type_to_name(json_object_get_type(v)));
	*ret = v;
	return 0;
}

static int string_of(const struct pctx *c, const char *key, json_object *v, size_t max_len, const char **ret)
{
	const char *s = json_object_get_string(v);
	int len = json_object_get_string_len(v);

	if (!s || len < 0 || (size_t)len > max_len)
		return bad(c, key, "longer than %zu bytes", max_len);
	if (strlen(s) != (size_t)len)
		return bad(c, key, "contains a NUL character");
	*ret = s;
	return 0;
}

static int get_string(const struct pctx *c, json_object *obj, const char *key, bool nullable,
		      size_t max_len, const char **ret)
{
	json_object *v;
	int r;

	r = get_value(c, obj, key, json_type_string, nullable, &v);
	if (r < 0)
		return r;
	if (!v) {
		*ret = NULL;
		return 0;
	}
	return string_of(c, key, v, max_len, ret);
}

static int get_int(const struct pctx *c, json_object *obj, const char *key, int64_t min, int64_t max,
		   int64_t *ret)
{
	json_object *v;
	int64_t i;
	int r;

	r = get_value(c, obj, key, json_type_int, false, &v);
	if (r < 0)
		return r;
	/* json-c saturates at INT64_MIN/MAX, which no range here includes. */
	i = json_object_get_int64(v);
	if (i < min || i > max)
		return bad(c, key, "%" PRId64 " is out of range %" PRId64 "..%" PRId64, i, min, max);
	*ret = i;
	return 0;
}

static int get_bool(const struct pctx *c, json_object *obj, const char *key, bool *ret)
{
	json_object *v;
	int r;

	r = get_value(c, obj, key, json_type_boolean, false, &v);
	if (r < 0)
		return r;
	*ret = json_object_get_boolean(v);
	return 0;
}

/* A key added after version 2: absent reads as false. */
static int get_bool_opt(const struct pctx *c, json_object *obj, const char *key, bool *ret)
{
	*ret = false;
	if (!json_object_object_get_ex(obj, key, NULL))
		return 0;
	return get_bool(c, obj, key, ret);
}

/* Nullable string member checked by valid(), copied into *field; want
 * says what valid() accepts. */
static int get_checked_dup(const struct pctx *c, json_object *obj, const char *key, size_t max_len,
			   bool (*valid)(const char *), const char *want, char **field)
{
	const char *s;
	int r;

	r = get_string(c, obj, key, true, max_len, &s);
	if (r < 0)
		return r;
	if (s && !valid(s))
		return bad(c, key, "invalid value, want %s", want);
	return desc_set_string(field, s) < 0 ? -ENOMEM : 0;
}

static bool abs_path_is_valid(const char *s)
{
	return s[0] == '/';
}

static int parse_header(const struct pctx *c, json_object *root, const char *expected, struct desc *d)
{
	const char *s;
	int64_t v;
	int r;

	/* Format and version first: a foreign file gets the clearest message. */
	r = get_string(c, root, "format", false, 64, &s);
	if (r < 0)
		return r;
	if (!streq(s, DESC_FORMAT))
		return bad(c, "format", "not \"" DESC_FORMAT "\"");
	r = get_int(c, root, "version", INT64_MIN, INT64_MAX, &v);
	if (r < 0)
		return r;
	/* Version 1 had a namespace UUID for every replica: a subset of 2. */
	if (v != 1 && v != DESC_VERSION)
		return bad(c, "version", "unsupported version %" PRId64 ", want 1 or %d", v, DESC_VERSION);
	r = get_string(c, root, "volume", false, VOL_NAME_MAX, &s);
	if (r < 0)
		return r;
	if (!vol_name_is_valid(s))
		return bad(c, "volume", "invalid volume name");
	if (expected && !streq(s, expected))
		return bad(c, "volume", "describes volume %s, not %s", s, expected);
	snprintf(d->volume, sizeof(d->volume), "%s", s);
	snprintf(d->device, sizeof(d->device), DESC_DEVICE_PREFIX "%s", s);
	r = get_string(c, root, "device", false, sizeof(d->device) - 1, &s);
	if (r < 0)
		return r;
	if (!streq(s, d->device))
		return bad(c, "device", "not %s", d->device);
	r = get_string(c, root, "source", false, PATH_MAX - 1, &s);
	if (r < 0)
		return r;
	if (!abs_path_is_valid(s))
		return bad(c, "source", "not an absolute path");
	if (desc_set_string(&d->source, s) < 0)
		return -ENOMEM;
	return get_bool(c, root, "persistent", &d->persistent);
}

static int parse_settings(const struct pctx *c, json_object *root, struct desc_settings *s)
{
	struct pctx sc = { .origin = c->origin, .prefix = "settings." };
	json_object *o;
	int r;

	r = get_value(c, root, "settings", json_type_object, false, &o);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(setting_keys); i++) {
		const struct setting_key *k = &setting_keys[i];
		int64_t v;

		r = get_int(&sc, o, k->key, k->min, k->max, &v);
		if (r < 0)
			return r;
		setting_set(s, k, v);
	}
	return get_checked_dup(&sc, o, "notify", PATH_MAX - 1, abs_path_is_valid,
			       "an absolute path or null", &s->notify);
}

static int parse_md(const struct pctx *c, json_object *root, struct desc_md *md)
{
	struct pctx mc = { .origin = c->origin, .prefix = "md." };
	json_object *o;
	int r;

	r = get_value(c, root, "md", json_type_object, false, &o);
	if (r < 0)
		return r;
	r = get_checked_dup(&mc, o, "device", DESC_DEVPATH_MAX, desc_devpath_is_valid,
			    "a /dev path or null", &md->device);
	if (r < 0)
		return r;
	r = get_checked_dup(&mc, o, "uuid", DESC_MD_UUID_MAX, desc_md_uuid_is_valid,
			    "32 hex digits (mdadm's form) or null", &md->uuid);
	if (r < 0)
		return r;
	return get_checked_dup(&mc, o, "name", DESC_MD_NAME_MAX, desc_md_name_is_valid,
			       "1 to 32 of [A-Za-z0-9_.:~-] or null", &md->name);
}

static int parse_portals(const struct pctx *c, json_object *obj, struct desc_replica *dr)
{
	json_object *a;
	size_t n;
	int r;

	r = get_value(c, obj, "portals", json_type_array, false, &a);
	if (r < 0)
		return r;
	n = json_object_array_length(a);
	if (n < 1 || n > VOL_PORTALS_MAX)
		return bad(c, "portals", "%zu portals, want 1 to %d", n, VOL_PORTALS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		struct vol_portal p;
		const char *s, *why = "invalid";

		if (!json_object_is_type(v, json_type_string))
			return bad(c, "portals", "element %zu is not a string", i);
		r = string_of(c, "portals", v, DESC_PORTAL_MAX - 1, &s);
		if (r < 0)
			return r;
		if (vol_portal_parse(s, &p, &why) < 0)
			return bad(c, "portals", "element %zu: %s", i, why ? why : "invalid");
		snprintf(dr->portals[i], sizeof(dr->portals[i]), "%s", s);
	}
	dr->n_portals = (unsigned)n;
	return 0;
}

/* One identifier of @o: absent or null is not given; -EBADMSG for another
 * type or a value that is no identifier. */
static int ns_id_member(json_object *o, const char *key, struct vol_ns_id *id)
{
	json_object *v = NULL;
	const char *s;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (streq(key, "nsid")) {
		n = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || n < 1 || n > VOL_NSID_MAX)
			return -EBADMSG;
		id->nsid = (uint32_t)n;
		return 0;
	}
	/* 36: a UUID, or an NGUID as we write it (32) or the kernel (36). */
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > 36)
		return -EBADMSG;
	s = json_object_get_string(v);
	if (streq(key, "uuid")) {
		if (vol_uuid_parse(s, id->uuid) < 0)
			return -EBADMSG;
		id->has_uuid = true;
	} else {
		if (vol_nguid_parse(s, id->nguid) < 0)
			return -EBADMSG;
		id->has_nguid = true;
	}
	return 0;
}

int desc_ns_id_from_json(struct json_object *o, struct vol_ns_id *ret, const char **ret_key,
			 const char **ret_why)
{
	static const char *const keys[] = { "uuid", "nguid", "nsid" };
	static const char *const whys[] = { "invalid UUID", "invalid NGUID",
					    "not a namespace id (1..4294967294)" };
	struct vol_ns_id id = {};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (ns_id_member(o, keys[i], &id) < 0) {
			*ret_key = keys[i];
			*ret_why = whys[i];
			return -EBADMSG;
		}
	if (!id.has_uuid && !id.has_nguid && !id.nsid) {
		*ret_key = "uuid";
		*ret_why = "no uuid, nguid or nsid: the namespace is unknown";
		return -EBADMSG;
	}
	*ret = id;
	return 0;
}

/* Every version has "uuid", null or not; "nguid" and "nsid" came with 2. */
static int parse_ns_id(const struct pctx *c, json_object *o, struct vol_ns_id *id)
{
	const char *s, *key, *why;
	int r;

	r = get_string(c, o, "uuid", true, 36, &s);
	if (r < 0)
		return r;
	if (desc_ns_id_from_json(o, id, &key, &why) < 0)
		return bad(c, key, "%s", why);
	return 0;
}

static int parse_replica(const struct pctx *c, json_object *o, struct desc_replica *dr)
{
	const char *s;
	int r;

	r = get_string(c, o, "name", false, VOL_REPLICA_NAME_MAX, &s);
	if (r < 0)
		return r;
	if (!vol_replica_name_is_valid(s))
		return bad(c, "name", "invalid replica name");
	snprintf(dr->name, sizeof(dr->name), "%s", s);
	r = get_string(c, o, "nqn", false, VOL_NQN_MAX, &s);
	if (r < 0)
		return r;
	if (!vol_nqn_is_valid(s))
		return bad(c, "nqn", "invalid NQN");
	snprintf(dr->nqn, sizeof(dr->nqn), "%s", s);
	r = parse_ns_id(c, o, &dr->ns);
	if (r < 0)
		return r;
	r = parse_portals(c, o, dr);
	if (r < 0)
		return r;
	r = get_bool(c, o, "outdated", &dr->outdated);
	if (r < 0)
		return r;
	r = get_string(c, o, "state", false, 16, &s);
	if (r < 0)
		return r;
	dr->state = state_from_string(s);
	if (dr->state < 0)
		return bad(c, "state", "unknown state");
	r = get_checked_dup(c, o, "device", DESC_DEVPATH_MAX, desc_devpath_is_valid,
			    "a /dev path or null", &dr->device);
	if (r < 0)
		return r;
	/* Added after version 2: a descriptor written before has none. */
	if (json_object_object_get_ex(o, "dhchap-key", NULL)) {
		r = get_checked_dup(c, o, "dhchap-key", PATH_MAX - 1, abs_path_is_valid,
				    "an absolute path or null", &dr->dhchap_key);
		if (r < 0)
			return r;
	}
	if (json_object_object_get_ex(o, "dhchap-ctrl-key", NULL)) {
		r = get_checked_dup(c, o, "dhchap-ctrl-key", PATH_MAX - 1, abs_path_is_valid,
				    "an absolute path or null", &dr->dhchap_ctrl_key);
		if (r < 0)
			return r;
	}
	r = get_bool_opt(c, o, "tls", &dr->tls);
	if (r < 0)
		return r;
	return get_bool_opt(c, o, "write-mostly", &dr->write_mostly);
}

static int check_unique(const struct pctx *c, const struct desc *d, unsigned i)
{
	for (unsigned j = 0; j < i; j++) {
		const char *key = vol_ns_id_shared(d->replicas[j].nqn, &d->replicas[j].ns,
						   d->replicas[i].nqn, &d->replicas[i].ns);

		if (streq(d->replicas[j].name, d->replicas[i].name))
			return bad(c, "name", "replica %s appears twice", d->replicas[i].name);
		if (key)
			return bad(c, key, "replicas %s and %s name one namespace", d->replicas[j].name,
				   d->replicas[i].name);
	}
	return 0;
}

static int parse_replicas(const struct pctx *c, json_object *root, struct desc *d)
{
	json_object *a;
	size_t n;
	int r;

	r = get_value(c, root, "replicas", json_type_array, false, &a);
	if (r < 0)
		return r;
	n = json_object_array_length(a);
	if (n < 1 || n > VOL_REPLICAS_MAX)
		return bad(c, "replicas", "%zu replicas, want 1 to %d", n, VOL_REPLICAS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		struct pctx rc = { .origin = c->origin };

		snprintf(rc.prefix, sizeof(rc.prefix), "replicas[%zu].", i);
		if (!json_object_is_type(o, json_type_object))
			return bad(c, "replicas", "element %zu is not an object", i);
		r = parse_replica(&rc, o, &d->replicas[i]);
		if (r < 0)
			return r;
		r = check_unique(&rc, d, (unsigned)i);
		if (r < 0)
			return r;
	}
	d->n_replicas = (unsigned)n;
	if (d->settings.min_replicas > d->n_replicas)
		return bad(c, "settings.min-replicas", "more than the %u replicas", d->n_replicas);
	return 0;
}

/* One JSON object and nothing but whitespace after it. */
static int parse_json(const struct pctx *c, const char *buf, size_t len, json_object **ret)
{
	char why[160];
	int r;

	r = json_parse_object(buf, len, DESC_SIZE_MAX, JSON_DEPTH_MAX, ret, why, sizeof(why));
	if (r == -EBADMSG)
		return bad(c, NULL, "%s", why);
	return r == -ENOMEM ? -ENOMEM : r;
}

int desc_parse_origin(const char *buf, size_t len, const char *expected_volume, const char *origin,
		      struct desc **ret)
{
	_cleanup_json_ json_object *root = NULL;
	_cleanup_desc_ struct desc *d = NULL;
	struct pctx c = { .origin = origin ? origin : "descriptor" };
	int r;

	assert(buf || len == 0);
	assert(ret);
	if (expected_volume && !vol_name_is_valid(expected_volume))
		return -EINVAL;
	r = parse_json(&c, buf, len, &root);
	if (r < 0)
		return r;
	d = desc_alloc("");
	if (!d)
		return -ENOMEM;
	r = parse_header(&c, root, expected_volume, d);
	if (r < 0)
		return r;
	r = parse_settings(&c, root, &d->settings);
	if (r < 0)
		return r;
	r = parse_md(&c, root, &d->md);
	if (r < 0)
		return r;
	r = parse_replicas(&c, root, d);
	if (r < 0)
		return r;
	r = get_bool_opt(&c, root, "record-stale", &d->record_stale);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

int desc_parse(const char *buf, size_t len, const char *expected_volume, struct desc **ret)
{
	return desc_parse_origin(buf, len, expected_volume, NULL, ret);
}
