/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which volume files exist: *.conf in the persistent and the transient
 * directory, a file in /etc shadowing the one of the same name in /run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "volume.h"

bool vol_is_conf_name(const char *name)
{
	size_t n = strlen(name);

	return n > STRLEN(".conf") && streq(name + n - STRLEN(".conf"), ".conf");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf names in @dir, sorted; hidden files are skipped as a shell
 * glob would.  A missing directory has none. */
static int list_dir(const char *dir, char ***ret, unsigned *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	unsigned n = 0;

	if (!d && errno == ENOENT)
		return log_debug("%s does not exist", dir);
	if (!d)
		return log_error_errno(errno, "Failed to open %s: %m", dir);
	while ((errno = 0, de = readdir(d))) {
		char **p;

		if (de->d_name[0] == '.' || !vol_is_conf_name(de->d_name))
			continue;
		p = reallocarray(names, n + 1, sizeof(*p));
		if (p)
			names = p;
		if (!p || !(names[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	if (errno != 0) {
		int r = log_error_errno(errno, "Failed to read %s: %m", dir);

		while (n > 0)
			free(names[--n]);
		free(names);
		return r;
	}
	if (n > 0) /* qsort(NULL, 0, …) is undefined */
		qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*ret_n = n;
	return 0;
oom:
	while (n > 0)
		free(names[--n]);
	free(names);
	return log_oom();
}

int vol_names_add(char ***names, unsigned *n, const char *name, size_t len)
{
	_cleanup_free_ char *s = strndup(name, len);
	char **p;

	if (!s)
		return -ENOMEM;
	if (!vol_name_is_valid(s))
		return -EINVAL;
	for (unsigned i = 0; i < *n; i++)
		if (streq((*names)[i], s))
			return 0;
	p = reallocarray(*names, *n + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*names = p;
	p[(*n)++] = TAKE_PTR(s);
	return 1;
}

int vol_names_in_dir(int dir_fd, const char *suffix, char ***names, unsigned *n, unsigned *ret_invalid)
{
	_cleanup_closedir_ DIR *d = NULL;
	size_t sl = strlen(suffix);
	unsigned invalid = 0;
	struct dirent *de;
	int fd, r;

	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || l <= sl || !streq(de->d_name + l - sl, suffix))
			continue;
		r = vol_names_add(names, n, de->d_name, l - sl);
		if (r == -EINVAL)
			invalid++;
		else if (r < 0)
			return r;
	}
	if (errno != 0)
		return -errno;
	if (ret_invalid)
		*ret_invalid = invalid;
	return 0;
}

static bool name_listed(char **names, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (streq(names[i], name))
			return true;
	return false;
}

static void free_names(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int vol_list_files(char ***ret_paths, unsigned *ret_n)
{
	const char *dirs[] = { vol_etc_dir(), vol_run_dir() };
	char **names[2] = {}, **paths = NULL;
	unsigned n[2] = {}, k = 0;
	int r = 0;

	for (unsigned i = 0; i < 2 && r == 0; i++)
		r = list_dir(dirs[i], &names[i], &n[i]);
	if (r == 0 && !(paths = calloc(n[0] + n[1] + 1, sizeof(*paths))))
		r = log_oom();
	for (unsigned i = 0; i < 2 && r == 0; i++)
		for (unsigned j = 0; j < n[i] && r == 0; j++) {
			if (i == 1 && name_listed(names[0], n[0], names[i][j])) {
				log_debug("%s/%s is shadowed by %s/%s", dirs[1], names[i][j], dirs[0],
					  names[i][j]);
				continue;
			}
			if (asprintf(&paths[k], "%s/%s", dirs[i], names[i][j]) < 0) {
				paths[k] = NULL;
				r = log_oom();
			} else
				k++;
		}
	for (unsigned i = 0; i < 2; i++)
		free_names(names[i], n[i]);
	if (r < 0) {
		free_names(paths, k);
		return r;
	}
	*ret_paths = paths;
	*ret_n = k;
	return 0;
}

/* Other volume files may be broken; that is their unit's business.  Only a
 * namespace UUID shared with one of them concerns @v. */
int vol_check_against_others(const struct vol_volume *v)
{
	char **paths = NULL;
	unsigned n = 0;
	int r, ret = 0;

	r = vol_list_files(&paths, &n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		_cleanup_vol_ struct vol_volume *o = NULL;

		if (ret == 0 && !streq(paths[i], v->path)) {
			r = vol_load_flags(paths[i], VOL_LOAD_QUIET, &o);
			if (r >= 0 &&
			    vol_check_cross((struct vol_volume *const[]){ (struct vol_volume *)v, o }, 2) < 0)
				ret = -EINVAL;
		}
		free(paths[i]);
	}
	free(paths);
	return ret;
}
