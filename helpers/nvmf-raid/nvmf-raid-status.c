/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid status [VOLUME…] [--json]: volumes, replicas and their live
 * states, md sync progress.  Reads only and takes no lock, so it never
 * waits behind an attach and is safe to run in a loop (watch, monitoring).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "descriptor.h"
#include "device.h"
#include "exit-status.h"
#include "log.h"
#include "macro.h"
#include "status.h"
#include "volume.h"
#include "verbs.h"

struct run {
	char **names;
	unsigned n_names;
	struct status_volume **vols;
	unsigned n_vols;
	bool failed;	 /* a volume unknown or unreadable: exit 1 */
	bool unwritable; /* an attached volume that cannot take writes: exit 1 */
};

static void run_done(struct run *r)
{
	for (unsigned i = 0; i < r->n_names; i++)
		free(r->names[i]);
	free(r->names);
	for (unsigned i = 0; i < r->n_vols; i++)
		status_volume_free(r->vols[i]);
	free(r->vols);
}

static void help(FILE *f)
{
	const char *run = DESC_RUNTIME_DIR;

	(void)desc_runtime_dir(&run);
	fprintf(f,
		"Usage: nvmf-raid status [OPTIONS] [VOLUME...]\n"
		"\n"
		"Show volumes, their replicas and the states they are in now, as md and\n"
		"udev report them, with md's sync progress.  Without arguments, every\n"
		"attached volume (a descriptor in %s) and every volume file\n"
		"in %s and %s, sorted by name.\n"
		"\n"
		"Volume states: inactive, optimal, rebuilding, degraded, suspended (no\n"
		"in-sync replica reachable: I/O waits), failed (cannot take writes: array\n"
		"stopped, broken or read-only, or the device link missing or wrong).\n"
		"Replica states: absent, present, in-sync, rebuilding, faulty, outdated.\n"
		"\n"
		"Options:\n"
		"  -h --help        Show this help\n"
		"     --json        Print JSON (format \"%s\", version %d)\n"
		"\n"
		"Exit status: 0 success, 1 a volume unknown or not readable, or an attached\n"
		"volume that cannot take writes now (failed or suspended), 2 usage error.\n"
		"See nvmf-raid(8).\n",
		run, vol_etc_dir(), vol_run_dir(), STATUS_FORMAT, STATUS_VERSION);
}

/* A copy of @s fit for a message: it may hold escapes. */
static char *printable(const char *s)
{
	char *p = strdup(s);

	for (char *c = p; c && *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	return p;
}

/* Adds the first @len bytes of @name, once.  Listed entries whose name is
 * no volume name are skipped: they cannot be attached anyway. */
/* @where: the file the name is of, said when it is no volume name; the
 * arguments are checked before (take_names()). */
static int add_name(struct run *r, const char *name, size_t len, const char *where)
{
	int k = vol_names_add(&r->names, &r->n_names, name, len);

	if (k == -ENOMEM)
		return log_oom();
	if (k == -EINVAL && where)
		log_warning("Skipping %s: not a valid volume name.", where);
	return 0;
}

static int take_names(struct run *r, char **argv, unsigned n)
{
	bool invalid = false;
	int k = 0;

	for (unsigned i = 0; i < n; i++)
		if (!vol_name_is_valid(argv[i])) {
			_cleanup_free_ char *p = printable(argv[i]);

			log_error("Invalid volume name '%s': 1-%d of A-Z a-z 0-9 _ . -, starting "
				  "with a letter or digit",
				  strna(p), VOL_NAME_MAX);
			invalid = true;
		}
	if (invalid)
		return -EINVAL;
	for (unsigned i = 0; i < n && k >= 0; i++)
		k = add_name(r, argv[i], strlen(argv[i]), NULL);
	return k;
}

/* <volume>.json in the runtime directory: the attached volumes. */
static int list_attached(struct run *r)
{
	_cleanup_close_ int fd = -EBADF;
	const char *where = DESC_RUNTIME_DIR;
	unsigned invalid = 0;
	int k;

	(void)desc_runtime_dir(&where);
	k = desc_open_runtime_dir(false, &fd);
	if (k == -ENOENT)
		return 0;
	if (k < 0)
		return log_error_errno(k, "Failed to open %s: %m", where);
	k = vol_names_in_dir(fd, ".json", &r->names, &r->n_names, &invalid);
	if (k == -ENOMEM)
		return log_oom();
	if (k < 0)
		return log_error_errno(k, "Failed to read %s: %m", where);
	if (invalid > 0)
		log_warning("Skipping %u entr%s of %s: not a valid volume name.", invalid,
			    invalid == 1 ? "y" : "ies", where);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every attached volume, and every volume file (vol_list_files() lists
 * *.conf only), sorted by name. */
static int list_all(struct run *r)
{
	char **paths = NULL;
	unsigned n = 0;
	int k;

	k = list_attached(r);
	if (k >= 0)
		k = vol_list_files(&paths, &n);
	for (unsigned i = 0; i < n; i++) {
		const char *base = strrchr(paths[i], '/');

		base = base ? base + 1 : paths[i];
		if (k >= 0)
			k = add_name(r, base, strlen(base) - STRLEN(".conf"), paths[i]);
		free(paths[i]);
	}
	free(paths);
	if (k < 0)
		return k;
	if (r->n_names > 0) /* qsort(NULL, 0, …) is undefined */
		qsort(r->names, r->n_names, sizeof(*r->names), cmp_names);
	return 0;
}

static int gather(struct run *r)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	const char *run = DESC_RUNTIME_DIR;

	if (!udev)
		return log_error_errno(errno ?: ENOMEM, "Failed to create a udev context: %m");
	r->vols = calloc(r->n_names ?: 1, sizeof(*r->vols));
	if (!r->vols)
		return log_oom();
	(void)desc_runtime_dir(&run);
	for (unsigned i = 0; i < r->n_names; i++) {
		struct status_volume *v = NULL;
		int k = status_gather(udev, r->names[i], &v);

		if (k == -ENOENT)
			log_error("%s: no such volume: no %s/%s.json, no %s/%s.conf, no %s/%s.conf",
				  r->names[i], run, r->names[i], vol_etc_dir(), r->names[i],
				  vol_run_dir(), r->names[i]);
		else if (k == -ENOMEM)
			return log_oom();
		else if (k < 0)
			log_error_errno(k, "%s: cannot read its status: %m", r->names[i]);
		if (k < 0) {
			r->failed = true;
			continue;
		}
		/* Said in the output too; an error is a failed read. */
		if (v->error) {
			log_error("%s: %s", v->name, v->error);
			r->failed = true;
		} else if (v->attached && !status_volume_writable(v)) {
			log_error("%s: %s, cannot take writes now.", v->name,
				  strna(status_state_to_string(v->state)));
			r->unwritable = true;
		}
		r->vols[r->n_vols++] = v;
	}
	return 0;
}

static int show(const struct run *r, bool json)
{
	_cleanup_free_ char *text = NULL;
	int k;

	if (json)
		k = status_to_json((const struct status_volume *const *)r->vols, r->n_vols, &text);
	else
		k = status_to_text((const struct status_volume *const *)r->vols, r->n_vols, &text);
	if (k < 0)
		return log_error_errno(k, "Failed to format the status: %m");
	if (!json && r->n_vols == 0 && r->n_names == 0)
		log_info("No volumes: no descriptors, no volume files.");
	if (fputs(text, stdout) < 0 || fflush(stdout) != 0)
		return log_error_errno(errno, "Failed to write: %m");
	return 0;
}

int verb_status(int argc, char *argv[])
{
	enum {
		ARG_JSON = 0x100
	};
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "json", no_argument, NULL, ARG_JSON },
						 {} };
	_cleanup_(run_done) struct run r = {};
	bool json = false;
	int opt, k;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (opt) {
		case 'h':
			help(stdout);
			return EXIT_OK;
		case ARG_JSON:
			json = true;
			break;
		default:
			return EXIT_USAGE;
		}

	if (optind < argc) {
		k = take_names(&r, argv + optind, (unsigned)(argc - optind));
		if (k == -EINVAL)
			return EXIT_USAGE;
	} else
		k = list_all(&r);
	if (k >= 0)
		k = gather(&r);
	if (k >= 0)
		k = show(&r, json);
	if (k < 0)
		return EXIT_FAILED;
	return r.failed || r.unwritable ? EXIT_FAILED : EXIT_OK;
}
