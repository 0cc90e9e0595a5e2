/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vol_: loading and validating volume files (contract.md "Volume files").
 * volume-scan.c reads and pre-scans the file, iniparser splits the keys
 * from the values, and the tables below say what each key takes.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "macro.h"
#include "volume-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(dictionary *, iniparser_freedict);

struct vol_key {
	const char *name;
	/* Logs with vol_key_err() and returns -EINVAL on a bad value. */
	int (*parse)(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base);
	size_t offset;	/* of the field in the struct its section fills */
	long min, max;	/* numbers */
	bool minus_one; /* numbers: "-1" (off, never) is allowed */
	bool required;
	bool empty_ok; /* "key =" leaves it unset */
};

#define FIELD(base, k, type) ((type *)((char *)(base) + (k)->offset))

static int parse_bool(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	int b = vol_parse_bool(value);

	if (b < 0)
		return vol_key_err(ctx, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", value);
	*FIELD(base, k, bool) = b;
	return 0;
}

static int parse_number(struct vol_ctx *ctx, const struct vol_key *k, const char *value, long *ret)
{
	char range[64];
	int r;

	snprintf(range, sizeof(range), "%s%ld..%ld", k->minus_one ? "-1 or " : "", k->min, k->max);
	r = vol_parse_int(value, k->min, k->max, k->minus_one, ret);
	if (r == -ERANGE)
		return vol_key_err(ctx, "%s is out of range (%s)", value, range);
	if (r < 0)
		return vol_key_err(ctx, "'%s' is not a decimal number (%s)", value, range);
	return 0;
}

static int parse_unsigned(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	long v;
	int r = parse_number(ctx, k, value, &v);

	if (r == 0)
		*FIELD(base, k, unsigned) = (unsigned)v;
	return r;
}

static int parse_int(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	long v;
	int r = parse_number(ctx, k, value, &v);

	if (r == 0)
		*FIELD(base, k, int) = (int)v;
	return r;
}

/* The notify program runs as root: someone who may rewrite it owns the host. */
static int parse_notify(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct stat st;

	if (value[0] != '/')
		return vol_key_err(ctx, "'%s' is not an absolute path", value);
	if (stat(value, &st) < 0)
		return vol_err(ctx, errno, ctx->line, ctx->section, ctx->key, "'%s': %m", value);
	if (!S_ISREG(st.st_mode))
		return vol_key_err(ctx, "'%s' is not a regular file", value);
	if (!(st.st_mode & 0111))
		return vol_key_err(ctx, "'%s' is not executable", value);
	if (st.st_mode & 0022)
		return vol_key_err(ctx,
				   "'%s' is writable by group or others; refused, it would run as root",
				   value);
	*FIELD(base, k, char *) = strdup(value);
	return *FIELD(base, k, char *) ? 0 : vol_key_err(ctx, "out of memory");
}

/* A key file others can read, or a symlink others can redirect, leaks or
 * swaps the host's secret. */
static int parse_key_file(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct stat st;

	if (value[0] != '/')
		return vol_key_err(ctx, "'%s' is not an absolute path", value);
	if (lstat(value, &st) < 0)
		return vol_err(ctx, errno, ctx->line, ctx->section, ctx->key, "'%s': %m", value);
	if (S_ISLNK(st.st_mode))
		return vol_key_err(ctx, "'%s' is a symbolic link; refused", value);
	if (!S_ISREG(st.st_mode))
		return vol_key_err(ctx, "'%s' is not a regular file", value);
	if (st.st_uid != 0)
		return vol_key_err(ctx, "'%s' is owned by uid %u; refused, it must be owned by root",
				   value, (unsigned)st.st_uid);
	if (st.st_mode & 0077)
		return vol_key_err(ctx,
				   "'%s' has mode %04o; refused, group and others must have no access (chmod 0600)",
				   value, (unsigned)(st.st_mode & 07777));
	*FIELD(base, k, char *) = strdup(value);
	return *FIELD(base, k, char *) ? 0 : vol_key_err(ctx, "out of memory");
}

/* A replica's tls overrides [volume] tls; load_replica() applies the
 * volume's where the replica has none. */
static int parse_replica_tls(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct vol_replica *rep = base;
	int r = parse_bool(ctx, k, value, base);

	if (r >= 0)
		rep->tls_line = ctx->line ? ctx->line : 1;
	return r;
}

static int parse_nqn(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct vol_replica *rep = base;
	size_t n = strlen(value);
	const char *why;

	if (n > VOL_NQN_MAX)
		return vol_key_err(ctx, "too long (%zu bytes, at most %d)", n, VOL_NQN_MAX);
	if (vol_nqn_check(value, &why) < 0)
		return vol_key_err(ctx, "'%s' cannot be a subsystem NQN: %s", value, why);
	/* The kernel and os-brick take it; so do we (Cinder's nvmet target
	 * uses "nqn.nvme-subsystem-1-<volume id>"). */
	if (!vol_nqn_is_standard(value))
		log_debug("%s: %s:%u [%s] nqn: '%s' is not in the NVMe base specification's form; used as it is.",
			  ctx->volume, ctx->path, ctx->line, ctx->section, value);
	memcpy(rep->nqn, value, n + 1);
	return 0;
}

/* The line of @key ("uuid", "nguid", "nsid") of @rep, for messages. */
static unsigned ns_key_line(const struct vol_replica *rep, const char *key)
{
	return streq(key, "uuid")  ? rep->uuid_line :
	       streq(key, "nguid") ? rep->nguid_line :
				     rep->nsid_line;
}

/* The line of the first of them: where the namespace is named. */
static unsigned ns_line(const struct vol_replica *rep)
{
	const unsigned lines[] = { rep->uuid_line, rep->nguid_line, rep->nsid_line };
	unsigned l = 0;

	for (size_t i = 0; i < ELEMENTSOF(lines); i++)
		if (lines[i] && (!l || lines[i] < l))
			l = lines[i];
	return l;
}

/* A 16-byte namespace identifier of the replica: parsed with @parse,
 * all zeroes refused (NVMe's "none"), stored in @dst. */
static int parse_id16(struct vol_ctx *ctx, struct vol_replica *rep, const char *value,
		      int (*parse)(const char *, uint8_t[16]), const char *form, uint8_t dst[16],
		      bool *has, unsigned *line)
{
	static const uint8_t nil[16];
	uint8_t id[16];

	if (parse(value, id) < 0)
		return vol_key_err(ctx, "'%s' is not %s", value, form);
	if (memcmp(id, nil, sizeof(id)) == 0)
		return vol_key_err(ctx, "all zeroes names no namespace");
	memcpy(dst, id, sizeof(id));
	*has = true;
	*line = ctx->line;
	return 0;
}

static int parse_uuid(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct vol_replica *rep = base;

	return parse_id16(ctx, rep, value, vol_uuid_parse, "a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			  rep->ns.uuid, &rep->ns.has_uuid, &rep->uuid_line);
}

static int parse_nguid(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct vol_replica *rep = base;

	return parse_id16(ctx, rep, value, vol_nguid_parse, "an NGUID (32 hex digits, dashes allowed)",
			  rep->ns.nguid, &rep->ns.has_nguid, &rep->nguid_line);
}

static int parse_nsid(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct vol_replica *rep = base;
	long v;

	if (vol_parse_int(value, 1, VOL_NSID_MAX, false, &v) < 0)
		return vol_key_err(ctx, "'%s' is not a namespace id (1..%u)", value, VOL_NSID_MAX);
	rep->ns.nsid = (uint32_t)v;
	rep->nsid_line = ctx->line;
	return 0;
}

/* One entry of the list; counts it in *n even beyond VOL_PORTALS_MAX. */
static int add_portal(struct vol_ctx *ctx, struct vol_replica *rep, const char *s, size_t len, unsigned *n)
{
	char tok[192];
	struct vol_portal p;
	const char *why;

	if (len >= sizeof(tok))
		return vol_key_err(ctx, "a portal of %zu bytes; no portal is that long", len);
	memcpy(tok, s, len);
	tok[len] = 0;
	if (vol_portal_parse(tok, &p, &why) < 0)
		return vol_key_err(ctx, "'%s': %s", tok, why);
	for (unsigned i = 0; i < *n && i < VOL_PORTALS_MAX; i++)
		if (vol_portal_eq(&rep->portals[i], &p))
			return vol_key_err(ctx, "'%s' is listed twice", tok);
	if (*n < VOL_PORTALS_MAX)
		rep->portals[*n] = p;
	(*n)++;
	return 0;
}

/* "P1, P2 P3": separated by a comma, blanks, or both. */
static int parse_portals(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	struct vol_replica *rep = base;
	const char *p = value;
	unsigned n = 0;
	int r = 0;

	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t,");
		if (len == 0) {
			r = vol_key_err(ctx, "an empty entry in the list");
			break;
		}
		if (add_portal(ctx, rep, p, len, &n) < 0)
			r = -EINVAL;
		p += len;
		p += strspn(p, " \t");
		if (*p == ',')
			p++;
		else if (!*p)
			break;
	}
	if (n > VOL_PORTALS_MAX)
		r = vol_key_err(ctx, "too many portals (%u, at most %d)", n, VOL_PORTALS_MAX);
	rep->n_portals = n > VOL_PORTALS_MAX ? VOL_PORTALS_MAX : n;
	return r;
}

static const struct vol_key volume_keys[] = {
	{ .name = "auto", .parse = parse_bool, .offset = offsetof(struct vol_volume, auto_start) },
	{ .name = "min-replicas",
	  .parse = parse_unsigned,
	  .offset = offsetof(struct vol_volume, min_replicas),
	  .min = 1,
	  .max = VOL_REPLICAS_MAX },
	{ .name = "degraded-timeout",
	  .parse = parse_unsigned,
	  .offset = offsetof(struct vol_volume, degraded_timeout),
	  .min = 0,
	  .max = 86400 },
	{ .name = "fast-io-fail-tmo",
	  .parse = parse_int,
	  .offset = offsetof(struct vol_volume, fast_io_fail_tmo),
	  .min = 0,
	  .max = 3600,
	  .minus_one = true },
	{ .name = "ctrl-loss-tmo",
	  .parse = parse_int,
	  .offset = offsetof(struct vol_volume, ctrl_loss_tmo),
	  .min = 0,
	  .max = 86400,
	  .minus_one = true },
	{ .name = "reconnect-delay",
	  .parse = parse_unsigned,
	  .offset = offsetof(struct vol_volume, reconnect_delay),
	  .min = 1,
	  .max = 3600 },
	{ .name = "keep-alive-tmo",
	  .parse = parse_unsigned,
	  .offset = offsetof(struct vol_volume, keep_alive_tmo),
	  .min = 1,
	  .max = 3600 },
	{ .name = "notify",
	  .parse = parse_notify,
	  .offset = offsetof(struct vol_volume, notify),
	  .empty_ok = true },
	{ .name = "rebuild-rate",
	  .parse = parse_int,
	  .offset = offsetof(struct vol_volume, rebuild_rate),
	  .min = 0,
	  .max = VOL_REBUILD_RATE_MAX,
	  .empty_ok = true },
	{ .name = "tls", .parse = parse_bool, .offset = offsetof(struct vol_volume, tls) },
};

static const struct vol_key replica_keys[] = {
	{ .name = "nqn", .parse = parse_nqn, .required = true },
	{ .name = "uuid", .parse = parse_uuid },
	{ .name = "nguid", .parse = parse_nguid },
	{ .name = "nsid", .parse = parse_nsid },
	{ .name = "portals", .parse = parse_portals, .required = true },
	{ .name = "outdated", .parse = parse_bool, .offset = offsetof(struct vol_replica, outdated) },
	{ .name = "write-mostly", .parse = parse_bool, .offset = offsetof(struct vol_replica, write_mostly) },
	{ .name = "dhchap-key",
	  .parse = parse_key_file,
	  .offset = offsetof(struct vol_replica, dhchap_key),
	  .empty_ok = true },
	{ .name = "dhchap-ctrl-key",
	  .parse = parse_key_file,
	  .offset = offsetof(struct vol_replica, dhchap_ctrl_key),
	  .empty_ok = true },
	{ .name = "tls", .parse = parse_replica_tls, .offset = offsetof(struct vol_replica, tls) },
};

const char *vol_ini_get(dictionary *d, const char *section, const char *key)
{
	char k[2 * VOL_LINE_MAX + 2];

	/* iniparser keeps "section:key", lower-cased. */
	snprintf(k, sizeof(k), "%s:%s", section, key);
	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return iniparser_getstring(d, k, NULL);
}

/* Tabs may separate portals; nothing else outside ' '..'~' has a use. */
static bool value_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((*s < ' ' && *s != '\t') || *s > '~')
			return false;
	return true;
}

static const struct vol_key *key_find(const struct vol_key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void load_value(struct vol_ctx *ctx, const struct vol_key *k, const char *value, void *base)
{
	if (!value)
		vol_key_err(ctx, "lost by iniparser");
	else if (!value_is_ascii(value))
		vol_key_err(ctx, "control or non-ASCII character in the value");
	else if (!*value && !k->empty_ok)
		vol_key_err(ctx, "empty value");
	else if (*value)
		k->parse(ctx, k, value, base);
}

static void load_keys(struct vol_ctx *ctx, dictionary *d, const struct vol_scan_section *sec,
		      const struct vol_key *keys, size_t n_keys, void *base)
{
	unsigned seen = 0;

	for (unsigned i = 0; i < sec->n_keys; i++) {
		const struct vol_key *k = key_find(keys, n_keys, sec->keys[i].name);

		ctx->line = sec->keys[i].line;
		ctx->key = sec->keys[i].name;
		if (!k) {
			char list[256] = "";

			for (size_t j = 0; j < n_keys; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 j ? ", " : "", keys[j].name);
			vol_key_err(ctx, "unknown key (expected %s)", list);
			continue;
		}
		seen |= 1u << (k - keys);
		if (sec->keys[i].bad)
			continue;
		load_value(ctx, k, vol_ini_get(d, sec->name, k->name), base);
	}
	for (size_t j = 0; j < n_keys; j++)
		if (keys[j].required && !(seen & 1u << j))
			vol_err(ctx, 0, sec->line, sec->name, keys[j].name, "missing (required)");
	ctx->key = NULL;
}

/* Whether the section names its namespace, valid or not (a bad value was
 * reported already). */
static bool section_has_ns_key(const struct vol_scan_section *sec)
{
	for (unsigned i = 0; i < sec->n_keys; i++)
		if (strcasecmp(sec->keys[i].name, "uuid") == 0 ||
		    strcasecmp(sec->keys[i].name, "nguid") == 0 ||
		    strcasecmp(sec->keys[i].name, "nsid") == 0)
			return true;
	return false;
}

static void load_replica(struct vol_ctx *ctx, dictionary *d, const struct vol_scan_section *sec,
			 struct vol_volume *v, unsigned *n_total)
{
	struct vol_replica rep = { .line = sec->line };
	const char *name = sec->name + STRLEN("replica.");

	if (vol_replica_name_is_valid(name))
		memcpy(rep.name, name, strlen(name) + 1);
	else
		vol_err(ctx, 0, sec->line, sec->name, NULL,
			"invalid replica name '%s' (1-%d of A-Z a-z 0-9 _ -)", name, VOL_REPLICA_NAME_MAX);
	load_keys(ctx, d, sec, replica_keys, ELEMENTSOF(replica_keys), &rep);
	if (!section_has_ns_key(sec))
		vol_err(ctx, 0, sec->line, sec->name, NULL,
			"no namespace: give uuid, nguid or nsid (the namespace within the subsystem)");
	if (!rep.tls_line)
		rep.tls = v->tls;
	if (rep.dhchap_ctrl_key && !rep.dhchap_key)
		vol_err(ctx, 0, sec->line, sec->name, "dhchap-ctrl-key",
			"a controller key needs a host key: bidirectional authentication is "
			"the host's key and the controller's (set dhchap-key too)");
	if (++*n_total > VOL_REPLICAS_MAX) {
		free(rep.dhchap_key);
		free(rep.dhchap_ctrl_key);
		return;
	}
	v->replicas[v->n_replicas++] = rep;
}

static void load_sections(struct vol_ctx *ctx, dictionary *d, const struct vol_scan *scan,
			  struct vol_volume *v, unsigned *n_total)
{
	for (unsigned i = 0; i < scan->n_sections; i++) {
		const struct vol_scan_section *sec = &scan->sections[i];

		ctx->section = sec->name;
		if (strcasecmp(sec->name, "volume") == 0)
			load_keys(ctx, d, sec, volume_keys, ELEMENTSOF(volume_keys), v);
		else if (strncasecmp(sec->name, "replica.", STRLEN("replica.")) == 0)
			load_replica(ctx, d, sec, v, n_total);
		else
			vol_err(ctx, 0, sec->line, sec->name, NULL,
				"unknown section (expected [volume] or [replica.NAME])");
	}
	ctx->section = NULL;
}

static unsigned volume_key_line(const struct vol_scan *scan, const char *key)
{
	for (unsigned i = 0; i < scan->n_sections; i++)
		if (strcasecmp(scan->sections[i].name, "volume") == 0)
			return vol_scan_key_line(scan, scan->sections[i].line, key);
	return 0;
}

/* The rules that span the sections of one file. */
static void check_volume(struct vol_ctx *ctx, const struct vol_scan *scan, struct vol_volume *v,
			 unsigned n_total)
{

	if (n_total == 0)
		vol_err(ctx, 0, 0, NULL, NULL, "no [replica.*] section; a volume needs a replica");
	if (n_total > VOL_REPLICAS_MAX)
		vol_err(ctx, 0, 0, NULL, NULL, "too many replicas (%u, at most %d)", n_total,
			VOL_REPLICAS_MAX);
	if (n_total > 0 && v->min_replicas > n_total)
		vol_err(ctx, 0, volume_key_line(scan, "min-replicas"), "volume", "min-replicas",
			"%u, but the volume has only %u replica%s", v->min_replicas, n_total,
			n_total == 1 ? "" : "s");
	for (unsigned j = 1; j < v->n_replicas; j++) {
		const struct vol_replica *b = &v->replicas[j];

		for (unsigned i = 0; i < j; i++) {
			const char *key =
				vol_ns_id_shared(v->replicas[i].nqn, &v->replicas[i].ns, b->nqn, &b->ns);
			char sec[STRLEN("replica.") + VOL_REPLICA_NAME_MAX + 1], id[160];

			if (!key)
				continue;
			snprintf(sec, sizeof(sec), "replica.%s", b->name);
			vol_ns_id_describe(&b->ns, id, sizeof(id));
			vol_err(ctx, 0, ns_key_line(b, key), sec, key,
				"the namespace (%s) is also the one of [replica.%s] (line %u)", id,
				v->replicas[i].name, ns_line(&v->replicas[i]));
			break;
		}
	}
}

static void ctx_done(struct vol_ctx *ctx)
{
	free(ctx->volume);
	free(ctx->path);
}

/* The context for messages about @path, named after the file; sets
 * @ret_name to the volume name it would have when @ret_name is not NULL. */
static int ctx_open(struct vol_ctx *ctx, const char *path, bool quiet, bool *ret_conf, char **ret_name)
{
	const char *base = strrchr(path, '/');
	_cleanup_free_ char *name = NULL;
	bool conf;
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	conf = n > STRLEN(".conf") && streq(base + n - STRLEN(".conf"), ".conf");
	name = strndup(base, conf ? n - STRLEN(".conf") : n);
	if (!name)
		return -ENOMEM;
	*ctx = (struct vol_ctx){ .volume = vol_printable(name), .path = vol_printable(path), .quiet = quiet };
	if (!ctx->volume || !ctx->path)
		return -ENOMEM;
	*ret_conf = conf;
	*ret_name = TAKE_PTR(name);
	return 0;
}

/* The volume is named after its file; refuse what is not VOLUME.conf. */
static int ctx_init(struct vol_ctx *ctx, const char *path, bool quiet, struct vol_problems *collect,
		    char ret_name[VOL_NAME_MAX + 1])
{
	_cleanup_free_ char *name = NULL;
	bool conf;
	int r;

	r = ctx_open(ctx, path, quiet, &conf, &name);
	if (r < 0)
		return r;
	ctx->collect = collect;
	if (!conf)
		return vol_err(ctx, 0, 0, NULL, NULL, "the file name must be VOLUME.conf");
	if (!vol_name_is_valid(name))
		return vol_err(ctx, 0, 0, NULL, NULL,
			       "invalid volume name (1-%d of A-Z a-z 0-9 _ . -, starting with a letter or digit)",
			       VOL_NAME_MAX);
	memcpy(ret_name, name, strlen(name) + 1);
	return 0;
}

/* Whether the file's directory is @dir, compared as inodes. */
static bool in_dir(const char *path, const char *dir)
{
	_cleanup_free_ char *parent = strdup(path);
	struct stat a, b;
	char *slash;

	if (!parent)
		return false;
	slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else
		slash[slash == parent] = 0; /* "/x.conf" lives in "/" */
	return stat(parent, &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static struct vol_volume *volume_new(const char *path)
{
	struct vol_volume *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	/* The defaults of contract.md "Volume files". */
	v->auto_start = true;
	v->min_replicas = 1;
	v->degraded_timeout = 30;
	v->fast_io_fail_tmo = 2;
	v->ctrl_loss_tmo = -1;
	v->reconnect_delay = 2;
	v->keep_alive_tmo = 5;
	v->rebuild_rate = -1; /* host.conf's rate */
	v->path = strdup(path);
	if (!v->path) {
		free(v);
		return NULL;
	}
	return v;
}

static int parse(const char *path, const char *buf, size_t size, bool quiet,
		 struct vol_problems *collect, struct vol_volume **ret)
{
	_cleanup_(ctx_done) struct vol_ctx ctx = {};
	_cleanup_(vol_scan_done) struct vol_scan scan = {};
	_cleanup_(iniparser_freedictp) dictionary *d = NULL;
	_cleanup_vol_ struct vol_volume *v = NULL;
	_cleanup_free_ char *copy = NULL;
	unsigned n_total = 0;
	int r;

	assert(path);
	assert(ret);

	v = volume_new(path);
	if (!v || ctx_init(&ctx, path, quiet, collect, v->name) == -ENOMEM)
		return log_oom();
	r = vol_scan_text(&ctx, buf, size, &copy, &scan, &d);
	if (r < 0)
		return r;
	load_sections(&ctx, d, &scan, v, &n_total);
	check_volume(&ctx, &scan, v, n_total);
	if (ctx.n_errors > 0)
		return -EINVAL;
	v->persistent = in_dir(path, vol_etc_dir());
	*ret = TAKE_PTR(v);
	return 0;
}

int vol_parse(const char *path, const char *buf, size_t size, struct vol_volume **ret)
{
	return parse(path, buf, size, false, NULL, ret);
}

static int load(const char *path, unsigned flags, struct vol_problems *collect, struct vol_volume **ret)
{
	_cleanup_(ctx_done) struct vol_ctx ctx = {};
	_cleanup_free_ char *buf = NULL, *name = NULL;
	size_t size;
	bool conf;
	int r;

	assert(path);
	assert(ret);

	/* Only for read errors: vol_parse() reports a bad file name. */
	r = ctx_open(&ctx, path, flags & VOL_LOAD_QUIET, &conf, &name);
	if (r < 0)
		return log_oom();
	ctx.collect = collect;
	r = vol_read_file(&ctx, path, &buf, &size);
	if (r < 0)
		return r;
	return parse(path, buf, size, flags & VOL_LOAD_QUIET, collect, ret);
}

int vol_load_flags(const char *path, unsigned flags, struct vol_volume **ret)
{
	return load(path, flags, NULL, ret);
}

int vol_load_collect(const char *path, struct vol_problems *problems, struct vol_volume **ret)
{
	assert(problems);
	vol_problems_clear(problems);
	return load(path, 0, problems, ret);
}

int vol_load(const char *path, struct vol_volume **ret)
{
	return vol_load_flags(path, 0, ret);
}

void vol_free(struct vol_volume *v)
{
	if (!v)
		return;
	for (unsigned i = 0; i < v->n_replicas; i++) {
		free(v->replicas[i].dhchap_key);
		free(v->replicas[i].dhchap_ctrl_key);
	}
	free(v->notify);
	free(v->path);
	free(v);
}

const char *vol_etc_dir(void)
{
	const char *e = secure_getenv(VOL_ETC_DIR_ENV);

	return e && *e ? e : VOL_ETC_DIR;
}

const char *vol_run_dir(void)
{
	const char *e = secure_getenv(VOL_RUN_DIR_ENV);

	return e && *e ? e : VOL_RUN_DIR;
}

int vol_find(const char *name, char **ret_path)
{
	const char *dirs[] = { vol_etc_dir(), vol_run_dir() };

	assert(ret_path);

	if (!vol_name_is_valid(name)) {
		_cleanup_free_ char *p = vol_printable(name ?: "");

		return log_error_errno(EINVAL,
				       "Invalid volume name '%s': 1-%d of A-Z a-z 0-9 _ . -, starting with a letter or digit",
				       strna(p), VOL_NAME_MAX);
	}
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *path = NULL;
		struct stat st;

		/* The name is checked: no '/', no "..", safe to splice in. */
		if (asprintf(&path, "%s/%s.conf", dirs[i], name) < 0)
			return log_oom();
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			*ret_path = TAKE_PTR(path);
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return log_debug_errno(errno, "Cannot look for %s: %m", path);
	}
	return -ENOENT;
}

static int cross_pair(const struct vol_volume *a, const struct vol_volume *b)
{
	int r = 0;

	for (unsigned j = 0; j < b->n_replicas; j++)
		for (unsigned i = 0; i < a->n_replicas; i++) {
			const struct vol_replica *ra = &a->replicas[i], *rb = &b->replicas[j];
			_cleanup_free_ char *pa = NULL, *pb = NULL;
			const char *key = vol_ns_id_shared(ra->nqn, &ra->ns, rb->nqn, &rb->ns);
			char id[160];

			if (!key)
				continue;
			pa = vol_printable(a->path);
			pb = vol_printable(b->path);
			vol_ns_id_describe(&rb->ns, id, sizeof(id));
			r = log_error_errno(EINVAL,
					    "%s: %s:%u [replica.%s] %s: the namespace (%s) is also used by volume %s (%s:%u [replica.%s])",
					    b->name, strna(pb), ns_key_line(rb, key), rb->name, key, id,
					    a->name, strna(pa), ns_line(ra), ra->name);
		}
	return r;
}

int vol_check_cross(struct vol_volume *const *vols, unsigned n)
{
	int r = 0;

	for (unsigned b = 1; b < n; b++)
		for (unsigned a = 0; a < b; a++)
			if (!streq(vols[a]->path, vols[b]->path) && cross_pair(vols[a], vols[b]) < 0)
				r = -EINVAL;
	return r;
}
