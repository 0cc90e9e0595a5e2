/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-generator: a systemd generator (systemd.generator(7)).  Every
 * volume file in /etc/nvmf-raid/volumes/ becomes
 *
 *   NORMAL_DIR/nvmf-raid.target.wants/nvmf-raid@VOLUME.service
 *
 * unless it says "auto = no".  A file that does not parse is pulled in
 * all the same: its unit then fails at boot with the full error, where
 * `systemctl --failed` shows it, instead of the volume silently missing.
 * Transient volumes (/run) are never started at boot: they are gone.
 *
 * Generators run before anything is mounted beyond the root and must be
 * quick and never block: this reads files and writes symlinks, nothing
 * else.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exit-status.h"
#include "log.h"
#include "macro.h"
#include "volume.h"

#define TARGET_WANTS "nvmf-raid.target.wants"

static int want(int wants_fd, const char *name)
{
	char unit[NAME_MAX + 32];

	snprintf(unit, sizeof(unit), "nvmf-raid@%s.service", name);
	if (symlinkat(SYSTEMDUNITDIR "/nvmf-raid@.service", wants_fd, unit) < 0 && errno != EEXIST)
		return log_error_errno(errno, "Cannot create %s/%s: %m", TARGET_WANTS, unit);
	return 0;
}

/* NORMAL_DIR/nvmf-raid.target.wants, created on first use: a host
 * without volumes gets nothing. */
static int open_wants(const char *normal_dir, int *wants_fd)
{
	_cleanup_close_ int dir_fd = -EBADF;

	if (*wants_fd >= 0)
		return 0;
	dir_fd = open(normal_dir, O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return log_error_errno(errno, "Cannot open %s: %m", normal_dir);
	if (mkdirat(dir_fd, TARGET_WANTS, 0755) < 0 && errno != EEXIST)
		return log_error_errno(errno, "Cannot create %s/%s: %m", normal_dir, TARGET_WANTS);
	*wants_fd = openat(dir_fd, TARGET_WANTS, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*wants_fd < 0)
		return log_error_errno(errno, "Cannot open %s/%s: %m", normal_dir, TARGET_WANTS);
	return 0;
}

static int generate(const char *normal_dir)
{
	_cleanup_close_ int wants_fd = -EBADF;
	const char *etc = vol_etc_dir();
	char **paths = NULL;
	unsigned n = 0;
	int r, ret = 0;

	r = vol_list_files(&paths, &n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		_cleanup_vol_ struct vol_volume *v = NULL;
		_cleanup_free_ char *path = paths[i];
		const char *file = strrchr(path, '/') + 1;
		char name[NAME_MAX + 1];

		/* Only /etc: vol_list_files() also returns /run. */
		if (strncmp(path, etc, strlen(etc)) != 0 || path[strlen(etc)] != '/')
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - STRLEN(".conf")), file);
		if (!vol_name_is_valid(name)) {
			log_warning("%s: not a valid volume name; ignored.", path);
			continue;
		}
		r = vol_load(path, &v);
		if (r < 0)
			log_warning("%s: invalid; nvmf-raid@%s.service will fail and say why.", path, name);
		else if (!v->auto_start)
			continue;
		r = open_wants(normal_dir, &wants_fd);
		if (r >= 0)
			r = want(wants_fd, name);
		if (r < 0 && ret == 0)
			ret = r;
	}
	free(paths);
	return ret;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
	int c;

	log_setup("nvmf-raid-generator");
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			printf("Usage: nvmf-raid-generator NORMAL_DIR [EARLY_DIR LATE_DIR]\n\n"
			       "systemd generator: pulls nvmf-raid@VOLUME.service into nvmf-raid.target\n"
			       "for every volume file in %s without \"auto = no\".\n"
			       "  -h --help      Show this help\n",
			       vol_etc_dir());
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	/* systemd passes three directories; one is enough to test it. */
	if (argc - optind != 1 && argc - optind != 3) {
		log_error("Expected the generator directories; see --help.");
		return EXIT_USAGE;
	}
	return generate(argv[optind]) < 0 ? EXIT_FAILED : EXIT_OK;
}
