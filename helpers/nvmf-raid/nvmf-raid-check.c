/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid check [FILE|VOLUME…]: validate volume files, alone and against
 * each other, the way attaching would.  Reads only: nothing is connected,
 * created or written, so it is safe on a live host and in a package's
 * post-install script.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "exit-status.h"
#include "fabsec.h"
#include "hostconf.h"
#include "log.h"
#include "macro.h"
#include "volume.h"
#include "verbs.h"

struct check {
	char **paths;
	struct stat *stats; /* of each path, st_ino 0 if it could not be seen */
	unsigned n_paths;
	bool invalid;	       /* an invalid file or argument: exit 2 */
	bool failed;	       /* a file that could not be read: exit 1 */
	const char *host_conf; /* host.conf to check, or NULL */
	bool host_named;       /* ... named by the user: it must exist */
};

static void check_done(struct check *c)
{
	for (unsigned i = 0; i < c->n_paths; i++)
		free(c->paths[i]);
	free(c->paths);
	free(c->stats);
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: nvmf-raid check [OPTIONS] [FILE|VOLUME...]\n"
		"\n"
		"Validate volume files and the host configuration.  An argument\n"
		"containing '/' or ending in .conf is a file (the host configuration\n"
		"%s if it is that file), anything else a volume name\n"
		"looked up in %s, then %s.  Without arguments, every\n"
		"volume file in both (a file in the first shadows one of the same name\n"
		"in the second) and the host configuration, if there is one.\n"
		"Volumes are also checked against each other and, when named, against\n"
		"every volume file, as attaching does: no namespace (by uuid, nguid, or\n"
		"subsystem and nsid) may belong to two of them.  Nothing is connected\n"
		"or written.\n"
		"\n"
		"Options:\n"
		"  -h --help        Show this help\n"
		"     --host-conf=FILE  Check FILE as the host configuration\n"
		"\n"
		"Exit status: 0 all valid, 1 a file could not be read, 2 an invalid\n"
		"file or usage error.\n",
		hostconf_path(), vol_etc_dir(), vol_run_dir());
}

/* Invalid input (a file or name that is bad or names nothing), as opposed
 * to a file we failed to read. */
static void note(struct check *c, int r)
{
	if (r == -EINVAL || r == -EFBIG || r == -ELOOP || r == -ENOENT)
		c->invalid = true;
	else if (r < 0)
		c->failed = true;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino != 0 && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Takes @path; a file named twice, by any spelling, is checked once (and
 * not found to clash with itself). */
static int add_path(struct check *c, char *path)
{
	struct stat st = {};
	struct stat *s;
	char **p;

	if (!path)
		return log_oom();
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		st.st_ino = 0; /* vol_load() will say why */
	for (unsigned i = 0; i < c->n_paths; i++)
		if (streq(c->paths[i], path) || same_file(&c->stats[i], &st)) {
			free(path);
			return 0;
		}
	p = reallocarray(c->paths, c->n_paths + 1, sizeof(*p));
	if (p)
		c->paths = p;
	s = p ? reallocarray(c->stats, c->n_paths + 1, sizeof(*s)) : NULL;
	if (!s) {
		free(path);
		return log_oom();
	}
	c->stats = s;
	c->stats[c->n_paths] = st;
	c->paths[c->n_paths++] = path;
	return 0;
}

static int add_dirs(struct check *c)
{
	char **paths = NULL;
	unsigned n = 0;
	int r;

	r = vol_list_files(&paths, &n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		if (r == 0)
			r = add_path(c, TAKE_PTR(paths[i]));
		free(paths[i]);
	}
	free(paths);
	if (r == 0 && c->n_paths == 0)
		log_info("No volume files in %s or %s", vol_etc_dir(), vol_run_dir());
	return r;
}

static bool is_host_conf(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat(hostconf_path(), &b) == 0 && same_file(&a, &b);
}

/* host.conf: optional, unless named. */
static void check_host_conf(struct check *c)
{
	struct hostconf h;
	int r;

	if (!c->host_conf)
		return;
	r = hostconf_load(c->host_conf, 0, &h);
	if (r == 0 && c->host_named)
		r = log_error_errno(ENOENT, "host.conf: %s: %m", c->host_conf);
	note(c, r);
	if (r <= 0)
		return;
	printf("host.conf: %s: ok (max-concurrent %u, rate ", c->host_conf, h.rebuild_max_concurrent);
	if (h.rebuild_rate)
		printf("%u KiB/s)\n", h.rebuild_rate);
	else
		printf("md's default)\n");
}

static int add_arg(struct check *c, const char *arg)
{
	char *path = NULL;
	int r;

	if ((strchr(arg, '/') || vol_is_conf_name(arg)) && is_host_conf(arg)) {
		c->host_conf = arg;
		c->host_named = true;
		return 0;
	}
	if (strchr(arg, '/') || vol_is_conf_name(arg))
		return add_path(c, strdup(arg));
	r = vol_find(arg, &path);
	if (r == -ENOENT)
		log_error("%s: no volume file %s/%s.conf or %s/%s.conf", arg, vol_etc_dir(), arg,
			  vol_run_dir(), arg);
	else if (r < 0 && r != -EINVAL)
		log_error_errno(r, "%s: cannot look for its volume file: %m", arg);
	if (r < 0) {
		note(c, r);
		return 0;
	}
	return add_path(c, path);
}

/* A valid file this kernel cannot serve: it starts nothing (fabsec.h),
 * which the admin had better learn here than at boot. */
static void warn_kernel(const struct vol_volume *v)
{
	unsigned need = 0, missing;
	struct utsname u;
	int have;

	for (unsigned i = 0; i < v->n_replicas; i++)
		need |= fabsec_replica_needs(&v->replicas[i]);
	if (!need)
		return;
	have = fabsec_kernel_features();
	if (have < 0) {
		log_warning_errno(have,
				  "%s: warning: asks for NVMe authentication or TLS, and whether "
				  "this kernel can do it cannot be told (%m; as root, with nvme-fabrics "
				  "loaded, it can).",
				  v->name);
		return;
	}
	missing = need & ~(unsigned)have;
	uname(&u);
	if (missing & FABSEC_AUTH)
		log_warning("%s: warning: a replica has a dhchap-key, but kernel %s has no NVMe in-band "
			    "authentication (CONFIG_NVME_HOST_AUTH): nvmf-raid@%s will not start.",
			    v->name, u.release, v->name);
	if (missing & FABSEC_TLS)
		log_warning("%s: warning: a replica has tls = yes, but kernel %s has no NVMe/TCP TLS "
			    "(CONFIG_NVME_TCP_TLS): nvmf-raid@%s will not start.",
			    v->name, u.release, v->name);
}

static int check_paths(struct check *c, bool named)
{
	_cleanup_free_ struct vol_volume **vols = calloc(c->n_paths ?: 1, sizeof(*vols));
	_cleanup_free_ bool *bad = calloc(c->n_paths ?: 1, sizeof(*bad));

	if (!vols || !bad)
		return log_oom();
	for (unsigned i = 0; i < c->n_paths; i++)
		note(c, vol_load(c->paths[i], &vols[i]));
	/* Pair by pair, to know which volumes to call bad. */
	for (unsigned b = 1; b < c->n_paths; b++)
		for (unsigned a = 0; vols[b] && a < b; a++) {
			struct vol_volume *pair[2] = { vols[a], vols[b] };

			if (vols[a] && vol_check_cross(pair, 2) < 0)
				c->invalid = bad[a] = bad[b] = true;
		}
	/* Named ones against every volume file too, as attaching checks them. */
	for (unsigned i = 0; named && i < c->n_paths; i++)
		if (vols[i] && !bad[i] && vol_check_against_others(vols[i]) < 0)
			c->invalid = bad[i] = true;
	for (unsigned i = 0; i < c->n_paths; i++) {
		if (vols[i] && !bad[i]) {
			printf("%s: %s: ok (%u replica%s)\n", vols[i]->name, c->paths[i],
			       vols[i]->n_replicas, vols[i]->n_replicas == 1 ? "" : "s");
			fflush(stdout); /* before the warning, on stderr */
			warn_kernel(vols[i]);
		}
		vol_free(vols[i]);
	}
	return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write: %m");
}

int verb_check(int argc, char *argv[])
{
	enum {
		ARG_HOST_CONF = 0x100
	};
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "host-conf", required_argument, NULL, ARG_HOST_CONF },
						 {} };
	_cleanup_(check_done) struct check c = {};
	int opt, r = 0;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (opt) {
		case 'h':
			help(stdout);
			return EXIT_OK;
		case ARG_HOST_CONF:
			c.host_conf = optarg;
			c.host_named = true;
			break;
		default:
			return EXIT_USAGE;
		}

	if (optind >= argc && !c.host_named) {
		c.host_conf = hostconf_path();
		r = add_dirs(&c);
	}
	for (int i = optind; i < argc && r == 0; i++)
		r = add_arg(&c, argv[i]);
	if (r == 0)
		r = check_paths(&c, optind < argc);
	if (r == 0)
		check_host_conf(&c);
	if (r < 0)
		return EXIT_FAILED;
	return c.invalid ? EXIT_USAGE : c.failed ? EXIT_FAILED : EXIT_OK;
}
