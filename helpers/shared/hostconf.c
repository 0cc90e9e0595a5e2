/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hostconf_: host.conf, read by the volume files' scanner (volume-scan.c)
 * and iniparser, checked against the table below.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fileio.h"
#include "hostconf.h"
#include "macro.h"
#include "volume-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(dictionary *, iniparser_freedict);

struct hostconf_key {
	const char *name;
	unsigned *(*field)(struct hostconf *c);
	long min, max;
	bool empty_ok; /* "key =" means 0 */
};

static unsigned *max_concurrent(struct hostconf *c)
{
	return &c->rebuild_max_concurrent;
}

static unsigned *rate(struct hostconf *c)
{
	return &c->rebuild_rate;
}

static unsigned *interval(struct hostconf *c)
{
	return &c->metrics_interval;
}

static const struct hostconf_key rebuild_keys[] = {
	{ .name = "max-concurrent", .field = max_concurrent, .min = 0, .max = HOSTCONF_MAX_CONCURRENT_MAX },
	{ .name = "rate", .field = rate, .min = 0, .max = HOSTCONF_RATE_MAX, .empty_ok = true },
};

static const struct hostconf_key metrics_keys[] = {
	{ .name = "interval", .field = interval, .min = 1, .max = HOSTCONF_METRICS_INTERVAL_MAX },
};

const char *hostconf_path(void)
{
	const char *e = secure_getenv(HOSTCONF_PATH_ENV);

	return e && *e ? e : HOSTCONF_PATH;
}

void hostconf_defaults(struct hostconf *ret)
{
	assert(ret);
	*ret = (struct hostconf){ .rebuild_max_concurrent = HOSTCONF_MAX_CONCURRENT_DEFAULT,
				  .metrics_path = HOSTCONF_METRICS_PATH_DEFAULT,
				  .metrics_interval = HOSTCONF_METRICS_INTERVAL_DEFAULT };
}

static void load_value(struct vol_ctx *ctx, const struct hostconf_key *k, const char *value,
		       struct hostconf *c)
{
	long v;
	int r;

	if (!value) {
		vol_key_err(ctx, "lost by iniparser");
		return;
	}
	if (!*value) {
		if (k->empty_ok)
			*k->field(c) = 0;
		else
			vol_key_err(ctx, "empty value");
		return;
	}
	r = vol_parse_int(value, k->min, k->max, false, &v);
	if (r == -ERANGE)
		vol_key_err(ctx, "%s is out of range (%ld..%ld)", value, k->min, k->max);
	else if (r < 0)
		vol_key_err(ctx, "'%s' is not a decimal number (%ld..%ld)", value, k->min, k->max);
	else
		*k->field(c) = (unsigned)v;
}

/* The textfile collector reads *.prom files only, and the file is
 * replaced atomically in its directory: an absolute, plain path. */
static void load_metrics_path(struct vol_ctx *ctx, const char *value, struct hostconf *c)
{
	const char *base;
	size_t n;

	if (!value) {
		vol_key_err(ctx, "lost by iniparser");
		return;
	}
	n = strlen(value);
	base = strrchr(value, '/');
	if (n == 0) {
		c->metrics_path[0] = 0;
		return;
	}
	if (value[0] != '/' || n >= sizeof(c->metrics_path) || strstr(value, "/../") ||
	    strstr(value, "/./") || strstr(value, "//") || !base || !filename_is_valid(base + 1) ||
	    n < STRLEN("/x.prom") || strcmp(value + n - STRLEN(".prom"), ".prom") != 0) {
		vol_key_err(ctx, "'%s' is not an absolute path of a file ending in .prom", value);
		return;
	}
	for (const char *p = value; *p; p++)
		if (*p < 0x21 || *p > 0x7e) {
			vol_key_err(ctx, "the path has a space or a control character");
			return;
		}
	memcpy(c->metrics_path, value, n + 1);
}

static void load_keys(struct vol_ctx *ctx, dictionary *d, const struct vol_scan_section *sec,
		      const struct hostconf_key *keys, size_t n, const char *expected, struct hostconf *c)
{
	for (unsigned i = 0; i < sec->n_keys; i++) {
		const struct hostconf_key *k = NULL;

		ctx->line = sec->keys[i].line;
		ctx->key = sec->keys[i].name;
		for (size_t j = 0; j < n; j++)
			if (strcasecmp(keys[j].name, sec->keys[i].name) == 0)
				k = &keys[j];
		if (k) {
			if (!sec->keys[i].bad)
				load_value(ctx, k, vol_ini_get(d, sec->name, k->name), c);
		} else if (keys == metrics_keys && strcasecmp(sec->keys[i].name, "path") == 0) {
			/* the one key that is no number */
			if (!sec->keys[i].bad)
				load_metrics_path(ctx, vol_ini_get(d, sec->name, "path"), c);
		} else {
			vol_key_err(ctx, "unknown key (expected %s)", expected);
		}
	}
	ctx->key = NULL;
}

static void ctx_done(struct vol_ctx *ctx)
{
	free(ctx->volume);
	free(ctx->path);
}

/* Messages read "host.conf: PATH:LINE [SECTION] KEY: ...", as a volume
 * file's read "VOLUME: PATH:LINE ...". */
static int ctx_init(struct vol_ctx *ctx, const char *path, bool quiet)
{
	*ctx = (struct vol_ctx){ .volume = strdup("host.conf"), .path = vol_printable(path), .quiet = quiet };
	return ctx->volume && ctx->path ? 0 : -ENOMEM;
}

static int parse(const char *path, const char *buf, size_t size, bool quiet, struct hostconf *ret)
{
	_cleanup_(ctx_done) struct vol_ctx ctx = {};
	_cleanup_(vol_scan_done) struct vol_scan scan = {};
	_cleanup_(iniparser_freedictp) dictionary *d = NULL;
	_cleanup_free_ char *copy = NULL;
	struct hostconf c;
	int r;

	assert(path);
	assert(ret);
	hostconf_defaults(&c);
	hostconf_defaults(ret);
	if (ctx_init(&ctx, path, quiet) < 0)
		return log_oom();
	r = vol_scan_text(&ctx, buf, size, &copy, &scan, &d);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < scan.n_sections; i++) {
		const struct vol_scan_section *sec = &scan.sections[i];

		ctx.section = sec->name;
		if (strcasecmp(sec->name, "rebuild") == 0)
			load_keys(&ctx, d, sec, rebuild_keys, ELEMENTSOF(rebuild_keys),
				  "max-concurrent, rate", &c);
		else if (strcasecmp(sec->name, "metrics") == 0)
			load_keys(&ctx, d, sec, metrics_keys, ELEMENTSOF(metrics_keys),
				  "path, interval", &c);
		else
			vol_err(&ctx, 0, sec->line, sec->name, NULL,
				"unknown section (expected [rebuild], [metrics])");
	}
	if (ctx.n_errors > 0)
		return -EINVAL;
	*ret = c;
	return 0;
}

int hostconf_load(const char *path, unsigned flags, struct hostconf *ret)
{
	_cleanup_(ctx_done) struct vol_ctx ctx = {};
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t size;
	int r;

	assert(ret);
	hostconf_defaults(ret);
	path = path ?: hostconf_path();
	/* Optional: no file is the defaults, not an error. */
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (ctx_init(&ctx, path, flags & VOL_LOAD_QUIET) < 0)
		return log_oom();
	r = vol_read_file(&ctx, path, &buf, &size);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = parse(path, buf, size, flags & VOL_LOAD_QUIET, ret);
	return r < 0 ? r : 1;
}
