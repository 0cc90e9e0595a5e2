/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One target of os-brick's connection_properties (os_brick/initiator/
 * connectors/nvmeof.py, Target and Portal): its subsystem NQN, the one
 * identifier its namespace is found by, its portals and host NQN.  Every
 * value is checked here, with a message naming its JSON path, before
 * osbrick.c splices it into the INI text.  Strings from the input appear in
 * messages only through osb_printable().
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "json-util.h"
#include "log.h"
#include "osbrick-internal.h"

int osb_bad(struct osb_ctx *c, const char *path, const char *format, ...)
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

const char *osb_printable(const char *s, char buf[static OSB_PRINT_MAX + 4])
{
	size_t i;

	for (i = 0; i < OSB_PRINT_MAX && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	strcpy(buf + i, s[i] ? "..." : "");
	return buf;
}

void osb_join(char buf[static OSB_JSON_PATH_MAX], const char *prefix, const char *key)
{
	snprintf(buf, OSB_JSON_PATH_MAX, "%s%s%s", prefix, *prefix ? "." : "", key);
}

bool osb_has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

int osb_get_typed(struct osb_ctx *c, json_object *o, const char *prefix, const char *key,
		  json_type type, const char *type_text, json_object **ret)
{
	char path[OSB_JSON_PATH_MAX];
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, type)) {
		osb_join(path, prefix, key);
		return osb_bad(c, path, "must be %s, not %s", type_text, json_type_text(v));
	}
	*ret = v;
	return 1;
}

/* A string with no NUL inside: C would see a shorter value than JSON. */
static int string_of(struct osb_ctx *c, json_object *v, const char *path, const char **ret)
{
	const char *s = json_object_get_string(v);

	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return osb_bad(c, path, "contains a NUL character");
	*ret = s;
	return 1;
}

int osb_get_string(struct osb_ctx *c, json_object *o, const char *prefix, const char *key, const char **ret)
{
	char path[OSB_JSON_PATH_MAX];
	json_object *v = NULL;
	int r;

	r = osb_get_typed(c, o, prefix, key, json_type_string, "a string", &v);
	if (r <= 0)
		return r;
	osb_join(path, prefix, key);
	return string_of(c, v, path, ret);
}

/* os-brick's key and the spec's: either, or both if they agree (@same,
 * or equal text if NULL).
 * Return: 1 with *@ret and *@ret_key set, 0 if neither, -EINVAL. */
static int get_either(struct osb_ctx *c, json_object *o, const char *prefix, const char *key1,
		      const char *key2, bool (*same)(const char *, const char *), const char **ret,
		      const char **ret_key)
{
	const char *a = NULL, *b = NULL;
	int r1 = osb_get_string(c, o, prefix, key1, &a), r2 = osb_get_string(c, o, prefix, key2, &b);

	if (r1 < 0 || r2 < 0)
		return -EINVAL;
	if (a && b && !(same ? same(a, b) : streq(a, b)))
		return osb_bad(c, prefix, "\"%s\" and \"%s\" are both given and differ", key1, key2);
	if (!a && !b)
		return 0;
	*ret = a ? a : b;
	*ret_key = a ? key1 : key2;
	return 1;
}

/* ---- the subsystem ------------------------------------------------------ */

/* Whatever the kernel takes (vol_nqn_check()); osbrick.c quotes it in the
 * file where ';', '#' or '\'' would be read as a comment or quote. */
static int check_nqn(struct osb_ctx *c, const char *path, const char *s, struct osb_target *t)
{
	char pr[OSB_PRINT_MAX + 4];
	const char *why = NULL;

	if (strlen(s) > VOL_NQN_MAX)
		return osb_bad(c, path, "too long (%zu bytes, at most %d)", strlen(s), VOL_NQN_MAX);
	if (vol_nqn_check(s, &why) < 0)
		return osb_bad(c, path, "'%s' is not an NQN: %s", osb_printable(s, pr), why);
	memcpy(t->nqn, s, strlen(s) + 1);
	return 0;
}

static int read_target_nqn(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	char path[OSB_JSON_PATH_MAX];
	const char *s = NULL, *key = NULL;
	int r;

	r = get_either(c, o, t->path, "target_nqn", "nqn", NULL, &s, &key);
	if (r < 0)
		return r;
	if (r == 0)
		return osb_bad(c, t->path, "no \"target_nqn\" (or \"nqn\"): the subsystem NQN is required");
	osb_join(path, t->path, key);
	return check_nqn(c, path, s, t);
}

/* ---- the namespace ------------------------------------------------------ */

/* os-brick reads a namespace UUID and an NGUID alike, str(uuid.UUID(s)):
 * 32 hex digits in any case, dashes allowed between them. */
static int parse_id128(struct osb_ctx *c, const char *path, const char *s, const char *what,
		       uint8_t ret[16])
{
	static const uint8_t nil[16];
	char pr[OSB_PRINT_MAX + 4];

	if (vol_nguid_parse(s, ret) < 0)
		return osb_bad(c, path, "'%s' is not %s (32 hex digits, dashes allowed)",
			       osb_printable(s, pr), streq(what, "UUID") ? "a UUID" : "an NGUID");
	/* The kernel shows no uuid or nguid for an all-zero one. */
	if (memcmp(ret, nil, sizeof(nil)) == 0)
		return osb_bad(c, path, "the nil %s names no namespace", what);
	return 0;
}

static bool same_id128(const char *a, const char *b)
{
	uint8_t ua[16], ub[16];

	/* Unparseable ones are reported by the caller; equal text is equal. */
	if (vol_nguid_parse(a, ua) < 0 || vol_nguid_parse(b, ub) < 0)
		return streq(a, b);
	return memcmp(ua, ub, sizeof(ua)) == 0;
}

/* "vol_uuid" (or the spec's "uuid"); "" is not given, as os-brick's
 * "uuid and …" has it. */
static int read_uuid(struct osb_ctx *c, json_object *o, const char *prefix, struct vol_ns_id *id,
		     const char **ret_key)
{
	char path[OSB_JSON_PATH_MAX];
	const char *s = NULL;
	int r;

	r = get_either(c, o, prefix, "vol_uuid", "uuid", same_id128, &s, ret_key);
	if (r <= 0 || !*s)
		return r < 0 ? r : 0;
	osb_join(path, prefix, *ret_key);
	if (parse_id128(c, path, s, "UUID", id->uuid) < 0)
		return -EINVAL;
	id->has_uuid = true;
	return 0;
}

static int read_nguid(struct osb_ctx *c, json_object *o, const char *prefix, struct vol_ns_id *id)
{
	char path[OSB_JSON_PATH_MAX];
	const char *s = NULL;
	int r;

	r = osb_get_string(c, o, prefix, "volume_nguid", &s);
	if (r <= 0 || !*s)
		return r < 0 ? r : 0;
	osb_join(path, prefix, "volume_nguid");
	if (parse_id128(c, path, s, "NGUID", id->nguid) < 0)
		return -EINVAL;
	id->has_nguid = true;
	return 0;
}

/* An integer or its decimal string (Cinder's nvmet sends either); 0 and ""
 * are not given, as os-brick's "if ns_id" has it.  os-brick compares the
 * text with the kernel's "nsid", so no sign, blank or leading zero. */
static int read_nsid(struct osb_ctx *c, json_object *o, const char *prefix, struct vol_ns_id *id)
{
	char path[OSB_JSON_PATH_MAX], pr[OSB_PRINT_MAX + 4];
	json_object *v = NULL;
	const char *s = NULL;
	int64_t n;
	long l = 0;

	if (!json_object_object_get_ex(o, "ns_id", &v) || !v)
		return 0;
	osb_join(path, prefix, "ns_id");
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n < 0 || n > VOL_NSID_MAX)
			return osb_bad(c, path, "%" PRId64 " is not a namespace ID (1..%u)", n,
				       VOL_NSID_MAX);
	} else if (json_object_is_type(v, json_type_string)) {
		if (string_of(c, v, path, &s) < 0)
			return -EINVAL;
		if (*s && (*s == '0' || vol_parse_int(s, 1, VOL_NSID_MAX, false, &l) < 0))
			return osb_bad(c, path, "'%s' is not a namespace ID (1..%u, in decimal)",
				       osb_printable(s, pr), VOL_NSID_MAX);
		n = l;
	} else
		return osb_bad(c, path, "must be an integer or a string, not %s", json_type_text(v));
	id->nsid = (uint32_t)n;
	return 0;
}

/*
 * Every identifier given is checked; the volume file gets the one os-brick
 * finds the namespace by, Portal.get_device(): uuid, else nguid, else nsid.
 * The others are not written (osbrick.h says why).  None at all: os-brick
 * would take whatever device appeared while it connected
 * (devices_on_start), which is no way to pick a RAID member.
 */
static int read_namespace(struct osb_ctx *c, json_object *o, struct osb_target *t, bool old)
{
	struct vol_ns_id all = {};
	const char *uuid_key = NULL;
	char others[160];
	int r = 0;

	if (!old && read_uuid(c, o, t->path, &all, &uuid_key) < 0)
		r = -EINVAL;
	if (read_nguid(c, o, t->path, &all) < 0)
		r = -EINVAL;
	if (read_nsid(c, o, t->path, &all) < 0)
		r = -EINVAL;
	if (r < 0)
		return r;
	t->all = all;
	t->ns = (struct vol_ns_id){};
	if (all.has_uuid) {
		t->ns.has_uuid = true;
		memcpy(t->ns.uuid, all.uuid, sizeof(all.uuid));
		t->ns_key = uuid_key;
		all.has_uuid = false;
	} else if (all.has_nguid) {
		t->ns.has_nguid = true;
		memcpy(t->ns.nguid, all.nguid, sizeof(all.nguid));
		t->ns_key = "volume_nguid";
		all.has_nguid = false;
	} else if (all.nsid) {
		t->ns.nsid = all.nsid;
		t->ns_key = "ns_id";
		all.nsid = 0;
	} else
		return osb_bad(c, t->path,
			       "no namespace identifier (%s): os-brick would then take whatever "
			       "device appears while it connects, and a RAID member is never guessed",
			       old ? "\"volume_nguid\" or \"ns_id\"; this old form's \"vol_uuid\" does "
				     "not count, os-brick drops it" :
				     "\"vol_uuid\", \"volume_nguid\" or \"ns_id\"");
	vol_ns_id_describe(&all, others, sizeof(others));
	if (*others)
		log_debug("%s: the namespace is found by \"%s\", as os-brick finds it; not checked: %s",
			  *t->path ? t->path : "connection_properties", t->ns_key, others);
	return 0;
}

/* ---- portals ------------------------------------------------------------ */

static int read_address(struct osb_ctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	char pr[OSB_PRINT_MAX + 4];
	const char *s = NULL, *why = NULL;

	if (!json_object_is_type(v, json_type_string))
		return osb_bad(c, path, "the address must be a string, not %s", json_type_text(v));
	if (string_of(c, v, path, &s) < 0)
		return -EINVAL;
	if (s[0] == '[')
		return osb_bad(c, path, "address '%s': in JSON an IPv6 address goes without brackets",
			       osb_printable(s, pr));
	p->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (vol_ip_parse(s, strlen(s), AF_UNSPEC, p, &why) < 0)
		return osb_bad(c, path, "address '%s' is not an IP address: %s%s", osb_printable(s, pr),
			       why, p->family == AF_INET6 ? "" : " (host names are not resolved)");
	return 0;
}

/* A number 1..65535 or its decimal string: os-brick passes str(port) on. */
static int read_port(struct osb_ctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	char pr[OSB_PRINT_MAX + 4];
	int64_t n = 0;

	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);

		/* No leading zero: the kernel reads trsvcid as octal then. */
		if (len == 0 || len > 5 || s[0] == '0' || strspn(s, "0123456789") != len)
			return osb_bad(c, path, "port '%s' is not a number 1..65535", osb_printable(s, pr));
		for (size_t i = 0; i < len; i++)
			n = n * 10 + (s[i] - '0');
	} else
		return osb_bad(c, path, "the port must be a number or a string, not %s", json_type_text(v));
	if (n < 1 || n > 65535)
		return osb_bad(c, path, "port %" PRId64 " is out of range (1..65535)", n);
	snprintf(p->trsvcid, sizeof(p->trsvcid), "%" PRId64, n);
	return 0;
}

/*
 * os-brick's Portal(): 'RoCEv2' and 'rdma' are rdma, anything else tcp.
 * Here any case of tcp, rdma, roce and rocev2 is taken as meant (os-brick
 * would try "RDMA" over tcp), a transport that can never be tcp is refused
 * rather than tried over tcp, and any other string is tcp, as in os-brick,
 * with a notice.
 */
static int read_transport(struct osb_ctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	static const char *const rdma[] = { "rdma", "roce", "rocev2" };
	static const char *const never_tcp[] = { "fc", "loop", "pcie" };
	char pr[OSB_PRINT_MAX + 4];
	const char *s = NULL;

	if (!json_object_is_type(v, json_type_string))
		return osb_bad(c, path, "the transport must be a string, not %s", json_type_text(v));
	if (string_of(c, v, path, &s) < 0)
		return -EINVAL;
	p->transport = VOL_TRANSPORT_TCP;
	for (size_t i = 0; i < ELEMENTSOF(rdma); i++)
		if (strcasecmp(s, rdma[i]) == 0)
			p->transport = VOL_TRANSPORT_RDMA;
	for (size_t i = 0; i < ELEMENTSOF(never_tcp); i++)
		if (strcasecmp(s, never_tcp[i]) == 0)
			return osb_bad(c, path,
				       "transport \"%s\" is not supported: it is not reached at an "
				       "IP address and port (os-brick would try tcp there)",
				       osb_printable(s, pr));
	if (p->transport == VOL_TRANSPORT_TCP && strcasecmp(s, "tcp") != 0)
		log_notice("%s: transport \"%s\" is taken as tcp, as os-brick does (it knows tcp, rdma "
			   "and RoCEv2).",
			   path, osb_printable(s, pr));
	return 0;
}

/* One portal: os-brick's [address, port, transport] list or the spec's
 * {"address", "port", "transport"} object. */
static int read_portal(struct osb_ctx *c, json_object *v, const char *path, struct vol_portal *p)
{
	static const char *const keys[] = { "address", "port", "transport" };
	json_object *f[3] = {};
	int r = 0;

	*p = (struct vol_portal){};
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		if (n != 3)
			return osb_bad(c, path, "must be [address, port, transport], not a list of %zu", n);
		for (size_t i = 0; i < 3; i++)
			f[i] = json_object_array_get_idx(v, i);
	} else if (json_object_is_type(v, json_type_object)) {
		for (size_t i = 0; i < 3; i++)
			if (!json_object_object_get_ex(v, keys[i], &f[i]) || !f[i])
				r = osb_bad(c, path, "no \"%s\"", keys[i]);
		if (r < 0)
			return r;
	} else
		return osb_bad(c, path, "must be a [address, port, transport] list or an object, not %s",
			       json_type_text(v));
	if (read_address(c, f[0], path, p) < 0)
		r = -EINVAL;
	if (read_port(c, f[1], path, p) < 0)
		r = -EINVAL;
	if (read_transport(c, f[2], path, p) < 0)
		r = -EINVAL;
	return r;
}

size_t osb_portals_text(const struct osb_target *t, char *buf, size_t size)
{
	size_t n = 0;

	assert(size >= OSB_PORTALS_TEXT_MAX);
	buf[0] = 0;
	for (unsigned j = 0; j < t->n_portals; j++) {
		char uri[OSB_URI_MAX];

		vol_portal_format(&t->portals[j], uri, sizeof(uri));
		n += (size_t)snprintf(buf + n, size - n, "%s%s", j ? ", " : "", uri);
	}
	return n;
}

/* The portals must fit on one line of the volume file. */
static int check_portals_line(struct osb_ctx *c, const char *path, const struct osb_target *t)
{
	char text[OSB_PORTALS_TEXT_MAX];
	size_t n = STRLEN("portals = ") + osb_portals_text(t, text, sizeof(text));

	if (n > VOL_LINE_MAX)
		return osb_bad(c, path,
			       "%u portals take %zu bytes in the volume file, whose lines hold at "
			       "most %d; give fewer",
			       t->n_portals, n, VOL_LINE_MAX);
	return 0;
}

/* 1 to VOL_PORTALS_MAX distinct portals.  One listed twice is connected
 * once, as os-brick does (Pure's driver lists a portal once for every
 * configured CIDR it falls in). */
static int read_portals(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	char path[OSB_JSON_PATH_MAX], item[OSB_JSON_PATH_MAX + 24];
	json_object *list = NULL;
	size_t n, first[VOL_PORTALS_MAX];
	int r;

	r = osb_get_typed(c, o, t->path, "portals", json_type_array, "a list", &list);
	if (r < 0)
		return r;
	osb_join(path, t->path, "portals");
	if (r == 0)
		return osb_bad(c, path, "missing: a replica needs 1 to %d portals%s", VOL_PORTALS_MAX,
			       osb_has(o, "target_portal") ?
				       " (\"target_portal\", \"target_port\" and \"transport_type\" go with the old "
				       "form's \"nqn\", not with \"target_nqn\")" :
				       "");
	n = json_object_array_length(list);
	if (n == 0)
		return osb_bad(c, path, "0 portals; a replica needs 1 to %d", VOL_PORTALS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct vol_portal p;
		unsigned j;

		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		if (read_portal(c, json_object_array_get_idx(list, i), item, &p) < 0) {
			r = -EINVAL;
			continue;
		}
		for (j = 0; j < t->n_portals && !vol_portal_eq(&t->portals[j], &p); j++)
			;
		if (j < t->n_portals) {
			log_notice("%s: the same portal as %s[%zu]; connected once.", item, path, first[j]);
			continue;
		}
		if (t->n_portals == VOL_PORTALS_MAX)
			return osb_bad(c, path,
				       "more than %d distinct portals (%s is the %dth); a replica "
				       "takes 1 to %d",
				       VOL_PORTALS_MAX, item, VOL_PORTALS_MAX + 1, VOL_PORTALS_MAX);
		first[t->n_portals] = i;
		t->portals[t->n_portals++] = p;
	}
	return r < 0 ? r : check_portals_line(c, path, t);
}

/* ---- the host ----------------------------------------------------------- */

/* Kept for the verb, which refuses a host NQN that is not this host's. */
static int read_host_nqn(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	char path[OSB_JSON_PATH_MAX];
	const char *s = NULL;

	if (osb_get_string(c, o, t->path, "host_nqn", &s) < 0)
		return -EINVAL;
	if (s && strlen(s) > VOL_NQN_MAX) {
		osb_join(path, t->path, "host_nqn");
		return osb_bad(c, path, "too long (%zu bytes, at most %d)", strlen(s), VOL_NQN_MAX);
	}
	if (s && !(t->host_nqn = strdup(s)))
		c->oom = true;
	return 0;
}

void osb_read_target(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	bool ok = true;

	assert(c && o && t);
	ok = read_target_nqn(c, o, t) == 0 && ok;
	ok = read_namespace(c, o, t, false) == 0 && ok;
	ok = read_portals(c, o, t) == 0 && ok;
	ok = read_host_nqn(c, o, t) == 0 && ok;
	t->ok = ok;
}

/* ---- os-brick's original form ------------------------------------------- */

#define OLD_FORM "the old form (neither \"target_nqn\" nor \"volume_replicas\")"

static int read_old_nqn(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	const char *s = NULL;
	int r;

	r = osb_get_string(c, o, "", "nqn", &s);
	if (r < 0)
		return r;
	if (r == 0)
		return osb_bad(c, "nqn", "missing: " OLD_FORM " names the subsystem by \"nqn\"");
	return check_nqn(c, "nqn", s, t);
}

/* Its one portal, from three keys; os-brick fails without any of them. */
static int read_old_portal(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	static const char *const keys[] = { "target_portal", "target_port", "transport_type" };
	json_object *f[3] = {};
	int r = 0;

	for (size_t i = 0; i < 3; i++)
		if (!json_object_object_get_ex(o, keys[i], &f[i]) || !f[i])
			r = osb_bad(c, keys[i],
				    "missing: " OLD_FORM " gives its portal as \"target_portal\", "
				    "\"target_port\" and \"transport_type\"");
	if (r < 0)
		return r;
	if (read_address(c, f[0], keys[0], &t->portals[0]) < 0)
		r = -EINVAL;
	if (read_port(c, f[1], keys[1], &t->portals[0]) < 0)
		r = -EINVAL;
	if (read_transport(c, f[2], keys[2], &t->portals[0]) < 0)
		r = -EINVAL;
	t->n_portals = r < 0 ? 0 : 1;
	return r;
}

void osb_read_old(struct osb_ctx *c, json_object *o, struct osb_target *t)
{
	bool ok = true;

	assert(c && o && t);
	/* Lightbits' driver answers driver_volume_type "lightos": a connector
	 * of its own, with its own discovery; os-brick's NVMe-oF one fails on
	 * these keys too. */
	if (osb_has(o, "lightos_nodes")) {
		osb_bad(c, NULL,
			"\"lightos_nodes\" and \"subsysnqn\" are for os-brick's LightOS "
			"connector (driver_volume_type \"lightos\"), not for NVMe-oF; not supported");
		return;
	}
	ok = read_old_nqn(c, o, t) == 0 && ok;
	ok = read_namespace(c, o, t, true) == 0 && ok;
	ok = read_old_portal(c, o, t) == 0 && ok;
	ok = read_host_nqn(c, o, t) == 0 && ok;
	t->ok = ok;
}
