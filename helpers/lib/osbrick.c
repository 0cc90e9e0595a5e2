/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * osb_: os-brick's connection_properties → a transient volume file (the
 * two spellings are in osbrick.h).  Every value is checked here, with a
 * message naming its JSON path, before it is spliced into the INI text:
 * the text can then hold nothing vol_parse() would misread.  Strings from
 * the input appear in messages only through printable().
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "json-util.h"
#include "log.h"
#include "osbrick.h"


/* Our own nesting is 5 deep, but unknown keys (qos_specs…) may nest too;
 * json-c's default of 32 would only help an attacker. */
#define JSON_DEPTH_MAX 16
#define PATH_MAX_LEN 96		/* "volume_replicas[15].portals[7].transport" */
#define PRINT_MAX 64
#define INI_SPECIAL ";#\"'\\"	/* comment, quote and escape characters of iniparser */
#define URI_MAX 192		/* "rdma://[" INET6_ADDRSTRLEN "]:65535" */

struct pctx {
	unsigned n_errors;
	bool oom;
};

/* One replica as read, before it becomes a section. */
struct rep {
	char path[OSB_PATH_MAX];
	char nqn[VOL_NQN_MAX + 1];
	uint8_t uuid[16];
	char uuid_str[37];
	const char *uuid_key;		/* "vol_uuid" or "uuid", for messages */
	struct vol_portal portals[VOL_PORTALS_MAX];
	unsigned n_portals;
	char *host_nqn;
	bool ok;			/* every key of it was valid */
};

static int bad(struct pctx *c, const char *path, const char *format, ...) _printf_(3, 4);
static int bad(struct pctx *c, const char *path, const char *format, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);
	c->n_errors++;
	log_error("%s: %s", path && *path ? path : "connection_properties", msg);
	return -EINVAL;
}

/* @s fit for a message: control and non-ASCII bytes become '?', and a long
 * value is cut, so no input can forge or flood a log line. */
static const char *printable(const char *s, char buf[static PRINT_MAX + 4])
{
	size_t i;

	for (i = 0; s[i] && i < PRINT_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	strcpy(buf + i, s[i] ? "..." : "");
	return buf;
}

static void join(char buf[static PATH_MAX_LEN], const char *prefix, const char *key)
{
	snprintf(buf, PATH_MAX_LEN, "%s%s%s", prefix, *prefix ? "." : "", key);
}

/* Member @key of @o: 0 if absent or null (os-brick sends None for keys it
 * has no value for), 1 with *@ret set, -EINVAL (logged) for another type. */
static int get_typed(struct pctx *c, json_object *o, const char *prefix, const char *key,
		     json_type type, const char *type_text, json_object **ret)
{
	char path[PATH_MAX_LEN];
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, type)) {
		join(path, prefix, key);
		return bad(c, path, "must be %s, not %s", type_text, json_type_text(v));
	}
	*ret = v;
	return 1;
}

/* A string with no NUL inside: C would see a shorter value than JSON. */
static int string_of(struct pctx *c, json_object *v, const char *path, const char **ret)
{
	const char *s = json_object_get_string(v);

	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return bad(c, path, "contains a NUL character");
	*ret = s;
	return 1;
}

static int get_string(struct pctx *c, json_object *o, const char *prefix, const char *key,
		      const char **ret)
{
	char path[PATH_MAX_LEN];
	json_object *v = NULL;
	int r;

	r = get_typed(c, o, prefix, key, json_type_string, "a string", &v);
	if (r <= 0)
		return r;
	join(path, prefix, key);
	return string_of(c, v, path, ret);
}

/* os-brick's key and the spec's: either, or both if they agree (@same,
 * or equal text if NULL).
 * Return: 1 with *@ret and *@ret_key set, 0 if neither, -EINVAL. */
static int get_either(struct pctx *c, json_object *o, const char *prefix, const char *key1,
		      const char *key2, bool (*same)(const char *, const char *), const char **ret,
		      const char **ret_key)
{
	const char *a = NULL, *b = NULL;
	int r1 = get_string(c, o, prefix, key1, &a), r2 = get_string(c, o, prefix, key2, &b);

	if (r1 < 0 || r2 < 0)
		return -EINVAL;
	if (a && b && !(same ? same(a, b) : streq(a, b)))
		return bad(c, prefix, "\"%s\" and \"%s\" are both given and differ", key1, key2);
	if (!a && !b)
		return 0;
	*ret = a ? a : b;
	*ret_key = a ? key1 : key2;
	return 1;
}

/* os-brick takes a namespace UUID with or without dashes, in any case. */
static int uuid_from_string(const char *s, uint8_t ret[16])
{
	char dashed[37];

	if (strlen(s) == 32 && strspn(s, "0123456789abcdefABCDEF") == 32) {
		snprintf(dashed, sizeof(dashed), "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12,
			 s + 16, s + 20);
		s = dashed;
	}
	return vol_uuid_parse(s, ret);
}

static bool same_uuid(const char *a, const char *b)
{
	uint8_t ua[16], ub[16];

	/* Unparseable ones are reported by the caller; equal text is equal. */
	if (uuid_from_string(a, ua) < 0 || uuid_from_string(b, ub) < 0)
		return streq(a, b);
	return memcmp(ua, ub, sizeof(ua)) == 0;
}

static int read_nqn(struct pctx *c, json_object *o, struct rep *rep)
{
	char path[PATH_MAX_LEN], pr[PRINT_MAX + 4];
	const char *s = NULL, *key = NULL, *why;
	int r;

	r = get_either(c, o, rep->path, "target_nqn", "nqn", NULL, &s, &key);
	if (r < 0)
		return r;
	if (r == 0)
		return bad(c, rep->path, "no \"target_nqn\" (or \"nqn\"): the subsystem NQN is required");
	join(path, rep->path, key);
	if (strlen(s) > VOL_NQN_MAX)
		return bad(c, path, "too long (%zu bytes, at most %d)", strlen(s), VOL_NQN_MAX);
	if (vol_nqn_check(s, &why) < 0)
		return bad(c, path, "'%s' is not an NQN: %s", printable(s, pr), why);
	/* A valid NQN may hold them, but in the INI file they would start a
	 * comment, quote or escape: the volume would get another NQN. */
	if (strpbrk(s, INI_SPECIAL))
		return bad(c, path, "'%s' holds one of %s, which a volume file cannot carry",
			   printable(s, pr), INI_SPECIAL);
	memcpy(rep->nqn, s, strlen(s) + 1);
	return 0;
}

static int read_uuid(struct pctx *c, json_object *o, struct rep *rep)
{
	static const uint8_t nil[16];
	char path[PATH_MAX_LEN], pr[PRINT_MAX + 4];
	const char *s = NULL, *key = NULL;
	int r;

	r = get_either(c, o, rep->path, "vol_uuid", "uuid", same_uuid, &s, &key);
	if (r < 0)
		return r;
	if (r == 0)
		return bad(c, rep->path,
			   "no namespace UUID (\"vol_uuid\" or \"uuid\"): nvmf-raid finds a replica's "
			   "namespace by its UUID; \"volume_nguid\" and \"ns_id\" are not enough");
	join(path, rep->path, key);
	if (uuid_from_string(s, rep->uuid) < 0)
		return bad(c, path, "'%s' is not a UUID", printable(s, pr));
	/* NVMe reports the nil UUID for "no UUID": it names no namespace. */
	if (memcmp(rep->uuid, nil, sizeof(nil)) == 0)
		return bad(c, path, "the nil UUID names no namespace");
	vol_uuid_format(rep->uuid, rep->uuid_str);
	rep->uuid_key = key;
	return 0;
}

static int read_address(struct pctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	char pr[PRINT_MAX + 4];
	const char *s = NULL, *why = NULL;
	int r;

	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "the address must be a string, not %s", json_type_text(v));
	r = string_of(c, v, path, &s);
	if (r < 0)
		return r;
	if (s[0] == '[')
		return bad(c, path, "address '%s': in JSON an IPv6 address goes without brackets",
			   printable(s, pr));
	p->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (vol_ip_parse(s, strlen(s), AF_UNSPEC, p, &why) < 0)
		return bad(c, path, "address '%s' is not an IP address: %s%s", printable(s, pr), why,
			   p->family == AF_INET6 ? "" : " (host names are not resolved)");
	return 0;
}

/* A number 1..65535 or its decimal string, as os-brick passes either on. */
static int read_port(struct pctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	char pr[PRINT_MAX + 4];
	int64_t n = 0;

	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);

		/* No leading zero: the kernel reads trsvcid as octal then. */
		if (len == 0 || len > 5 || s[0] == '0' || strspn(s, "0123456789") != len)
			return bad(c, path, "port '%s' is not a number 1..65535", printable(s, pr));
		for (size_t i = 0; i < len; i++)
			n = n * 10 + (s[i] - '0');
	} else
		return bad(c, path, "the port must be a number or a string, not %s", json_type_text(v));
	if (n < 1 || n > 65535)
		return bad(c, path, "port %" PRId64 " is out of range (1..65535)", n);
	snprintf(p->trsvcid, sizeof(p->trsvcid), "%" PRId64, n);
	return 0;
}

static int read_transport(struct pctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	char pr[PRINT_MAX + 4];
	const char *s = NULL;

	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "the transport must be a string, not %s", json_type_text(v));
	if (string_of(c, v, path, &s) < 0)
		return -EINVAL;
	/* os-brick's names: RoCEv2 is NVMe over RDMA. */
	if (strcasecmp(s, "tcp") == 0)
		p->transport = VOL_TRANSPORT_TCP;
	else if (strcasecmp(s, "rdma") == 0 || strcasecmp(s, "RoCEv2") == 0)
		p->transport = VOL_TRANSPORT_RDMA;
	else
		return bad(c, path, "transport \"%s\" is not supported (tcp, rdma or RoCEv2)",
			   printable(s, pr));
	return 0;
}

/* One portal: os-brick's [address, port, transport] list or the spec's
 * {"address", "port", "transport"} object. */
static int read_portal(struct pctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	static const char *const keys[] = { "address", "port", "transport" };
	json_object *f[3] = {};
	int r = 0;

	*p = (struct vol_portal){};
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		if (n != 3)
			return bad(c, path, "must be [address, port, transport], not a list of %zu", n);
		for (size_t i = 0; i < 3; i++)
			f[i] = json_object_array_get_idx(v, i);
	} else if (json_object_is_type(v, json_type_object)) {
		for (size_t i = 0; i < 3; i++)
			if (!json_object_object_get_ex(v, keys[i], &f[i]) || !f[i])
				r = bad(c, path, "no \"%s\"", keys[i]);
		if (r < 0)
			return r;
	} else
		return bad(c, path, "must be a [address, port, transport] list or an object, not %s",
			   json_type_text(v));
	if (read_address(c, f[0], path, p) < 0)
		r = -EINVAL;
	if (read_port(c, f[1], path, p) < 0)
		r = -EINVAL;
	if (read_transport(c, f[2], path, p) < 0)
		r = -EINVAL;
	return r;
}

static bool portal_eq(const struct vol_portal *a, const struct vol_portal *b)
{
	return a->transport == b->transport && streq(a->traddr, b->traddr) &&
	       streq(a->trsvcid, b->trsvcid);
}

static int read_portals(struct pctx *c, json_object *o, struct rep *rep)
{
	char path[PATH_MAX_LEN];
	json_object *list = NULL, *old = NULL;
	bool valid[VOL_PORTALS_MAX] = {};
	size_t n;
	int r;

	r = get_typed(c, o, rep->path, "portals", json_type_array, "a list", &list);
	if (r < 0)
		return r;
	join(path, rep->path, "portals");
	if (r == 0)
		return bad(c, path, "missing: a replica needs 1 to %d portals%s", VOL_PORTALS_MAX,
			   json_object_object_get_ex(o, "target_portal", &old) ?
			   " (the old \"target_portal\"/\"target_port\"/\"transport_type\" form is not supported)" : "");
	n = json_object_array_length(list);
	if (n == 0 || n > VOL_PORTALS_MAX)
		return bad(c, path, "%zu portals; a replica needs 1 to %d", n, VOL_PORTALS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct vol_portal *p = &rep->portals[i];

		snprintf(path, sizeof(path), "%s%sportals[%zu]", rep->path, *rep->path ? "." : "", i);
		if (read_portal(c, json_object_array_get_idx(list, i), path, p) < 0) {
			r = -EINVAL;
			continue;
		}
		valid[i] = true;
		for (size_t j = 0; j < i; j++)
			if (valid[j] && portal_eq(&rep->portals[j], p))
				r = bad(c, path, "the same portal as portals[%zu]", j);
	}
	rep->n_portals = (unsigned)n;
	return r < 0 ? r : 0;
}

/* Accepted and type-checked; nvmf-raid finds namespaces by UUID and
 * connects with this host's own NQN (the verb compares host_nqn). */
static int read_extras(struct pctx *c, json_object *o, struct rep *rep)
{
	char path[PATH_MAX_LEN];
	const char *s = NULL;
	json_object *v = NULL;
	int r = 0;

	if (get_string(c, o, rep->path, "volume_nguid", &s) < 0)
		r = -EINVAL;
	if (json_object_object_get_ex(o, "ns_id", &v) && v && !json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_string)) {
		join(path, rep->path, "ns_id");
		r = bad(c, path, "must be an integer or a string, not %s", json_type_text(v));
	}
	s = NULL;
	if (get_string(c, o, rep->path, "host_nqn", &s) < 0)
		return -EINVAL;
	if (s && strlen(s) > VOL_NQN_MAX) {
		join(path, rep->path, "host_nqn");
		return bad(c, path, "too long (%zu bytes, at most %d)", strlen(s), VOL_NQN_MAX);
	}
	if (s && !(rep->host_nqn = strdup(s)))
		c->oom = true;
	return r;
}

static void read_replica(struct pctx *c, json_object *o, struct rep *rep)
{
	bool ok = true;

	ok = read_nqn(c, o, rep) == 0 && ok;
	ok = read_uuid(c, o, rep) == 0 && ok;
	ok = read_portals(c, o, rep) == 0 && ok;
	ok = read_extras(c, o, rep) == 0 && ok;
	rep->ok = ok;
}

static void check_duplicates(struct pctx *c, const struct rep *reps, unsigned n)
{
	char path[PATH_MAX_LEN];

	for (unsigned j = 1; j < n; j++)
		for (unsigned i = 0; i < j; i++)
			if (reps[i].ok && reps[j].ok && memcmp(reps[i].uuid, reps[j].uuid, 16) == 0) {
				join(path, reps[j].path, reps[j].uuid_key);
				bad(c, path, "namespace UUID %s is also the one of %s", reps[j].uuid_str,
				    reps[i].path);
				break;
			}
}

/* "volume_replicas" as a list, or the top level as the only replica. */
static int read_replicas(struct pctx *c, json_object *root, struct rep *reps, unsigned *ret_n)
{
	json_object *list = NULL;
	size_t n;
	int r;

	r = get_typed(c, root, "", "volume_replicas", json_type_array, "a list (or null)", &list);
	if (r < 0)
		return r;
	if (r == 0) {
		read_replica(c, root, &reps[0]);
		*ret_n = 1;
		return 0;
	}
	n = json_object_array_length(list);
	if (n == 0)
		return bad(c, "volume_replicas", "empty; a volume needs 1 to %d replicas", VOL_REPLICAS_MAX);
	if (n > VOL_REPLICAS_MAX)
		return bad(c, "volume_replicas", "too many replicas (%zu, at most %d)", n, VOL_REPLICAS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(list, i);

		snprintf(reps[i].path, sizeof(reps[i].path), "volume_replicas[%zu]", i);
		if (!json_object_is_type(o, json_type_object))
			bad(c, reps[i].path, "must be an object, not %s", json_type_text(o));
		else
			read_replica(c, o, &reps[i]);
	}
	*ret_n = (unsigned)n;
	check_duplicates(c, reps, *ret_n);
	return 0;
}

/* The top-level keys of the replicated form; in the flat form "vol_uuid"
 * is the replica's and was read with it. */
static void read_top(struct pctx *c, json_object *root, unsigned n, bool flat)
{
	json_object *v = NULL;
	const char *s = NULL;

	(void)get_string(c, root, "", "alias", &s);
	if (!flat)
		(void)get_string(c, root, "", "vol_uuid", &s);
	if (get_typed(c, root, "", "replica_count", json_type_int, "an integer", &v) > 0 && n > 0 &&
	    json_object_get_int64(v) != (int64_t)n)
		bad(c, "replica_count", "%" PRId64 ", but there %s %u replica%s", json_object_get_int64(v),
		    n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
}

static bool name_ok(struct pctx *c, const char *what, const char *name)
{
	char pr[PRINT_MAX + 4];

	if (vol_name_is_valid(name))
		return true;
	bad(c, what, "'%s' is not a valid volume name (1-%d of A-Z a-z 0-9 _ . -, starting with a "
	    "letter or digit)", printable(name, pr), VOL_NAME_MAX);
	return false;
}

/* A string member, already type-checked (and reported) by read_top(). */
static const char *peek_string(json_object *root, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

/* --volume, else alias, else the top-level vol_uuid, else the namespace
 * UUID of the only replica. */
static void pick_name(struct pctx *c, json_object *root, const char *override,
		      const struct rep *reps, unsigned n, char ret[VOL_NAME_MAX + 1])
{
	const char *name = NULL, *what = NULL, *alias = peek_string(root, "alias"),
		   *vol_uuid = peek_string(root, "vol_uuid");

	if (override)
		name = override, what = "--volume";
	else if (alias)
		name = alias, what = "alias";
	else if (vol_uuid)
		name = vol_uuid, what = "vol_uuid";
	else if (n == 1 && reps[0].ok)
		name = reps[0].uuid_str, what = reps[0].path;
	else if (n > 1)
		bad(c, NULL, "no volume name: a volume of %u replicas needs --volume, \"alias\" or a "
		    "top-level \"vol_uuid\"", n);
	if (name && name_ok(c, what, name))
		memcpy(ret, name, strlen(name) + 1);
}

/* One JSON object and nothing but whitespace after it. */
static int parse_json(struct pctx *c, const char *buf, size_t len, json_object **ret)
{
	char why[160];
	int r;

	r = json_parse_object(buf, len, OSB_INPUT_MAX, JSON_DEPTH_MAX, ret, why, sizeof(why));
	if (r == -EBADMSG)
		return bad(c, NULL, "%s", why);
	return r == -ENOMEM ? log_oom() : r;
}

/* The volume file; every value in it passed the checks above. */
static int format_text(const struct rep *reps, unsigned n, char **ret)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	bool failed;

	if (!f)
		return -ENOMEM;
	fputs("# Written by \"nvmf-raid os-brick connect\" from os-brick's connection_properties;\n"
	      "# removed by \"nvmf-raid os-brick disconnect\".  See nvmf-raid(8).\n", f);
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "\n[replica.%u]\nnqn = %s\nuuid = %s\nportals = ", i, reps[i].nqn,
			reps[i].uuid_str);
		for (unsigned j = 0; j < reps[i].n_portals; j++) {
			char uri[URI_MAX];

			vol_portal_format(&reps[i].portals[j], uri, sizeof(uri));
			fprintf(f, "%s%s", j ? ", " : "", uri);
		}
		fputc('\n', f);
	}
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
	_cleanup_free_ struct rep *reps = NULL;
	struct pctx c = {};
	json_object *list = NULL;
	unsigned n = 0;
	int r;

	assert(buf || len == 0);
	assert(ret);

	r = parse_json(&c, buf, len, &root);
	if (r < 0)
		return r;
	o = calloc(1, sizeof(*o));
	reps = calloc(VOL_REPLICAS_MAX, sizeof(*reps));
	if (!o || !reps)
		return log_oom();
	(void)read_replicas(&c, root, reps, &n);
	read_top(&c, root, n, !json_object_object_get_ex(root, "volume_replicas", &list) || !list);
	pick_name(&c, root, volume_override, reps, n, o->name);
	/* The host NQNs go to the caller whatever happens, or are freed. */
	for (unsigned i = 0; i < n; i++) {
		memcpy(o->replicas[i].path, reps[i].path, sizeof(reps[i].path));
		o->replicas[i].host_nqn = TAKE_PTR(reps[i].host_nqn);
	}
	o->n_replicas = n;
	if (c.oom)
		return log_oom();
	if (c.n_errors > 0 || n == 0 || !*o->name)
		return -EINVAL;
	if (format_text(reps, n, &o->text) < 0)
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
