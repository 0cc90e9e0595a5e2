/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The by-uuid index: $RUNTIME/by-uuid/<namespace-uuid> names the volume
 * that owns a namespace, so a udev event finds it without reading every
 * descriptor.  The entry is KEY=VALUE lines, which the udev rule imports
 * as they are (IMPORT{file}):
 *
 *   NVMF_RAID_VOLUME=<volume>
 *   NVMF_RAID_REPLICA=<replica name>
 *   NVMF_RAID_SINGLE=<1 for a one-replica volume, else 0>
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "descriptor-internal.h"
#include "descriptor.h"
#include "fileio.h"
#include "log.h"

#define INDEX_KEY_VOLUME "NVMF_RAID_VOLUME="
/* Three short lines: anything longer is not ours. */
#define INDEX_SIZE_MAX 256

static int uuid_canonical(const char *uuid, char ret[static 37])
{
	uint8_t bytes[16];

	if (vol_uuid_parse(uuid, bytes) < 0)
		return -EINVAL;
	vol_uuid_format(bytes, ret);
	return 0;
}

/* Leaves the volume name, the value of the first line, at the start of
 * @buf; the other lines are for udev only. */
static int index_parse(char *buf, size_t len)
{
	char *nl;

	if (len < 2 || buf[len - 1] != '\n' || memchr(buf, 0, len) ||
	    strncmp(buf, INDEX_KEY_VOLUME, STRLEN(INDEX_KEY_VOLUME)) != 0)
		return -EBADMSG;
	nl = strchr(buf, '\n');
	*nl = 0;
	memmove(buf, buf + STRLEN(INDEX_KEY_VOLUME), strlen(buf + STRLEN(INDEX_KEY_VOLUME)) + 1);
	return vol_name_is_valid(buf) ? 0 : -EBADMSG;
}

/* The volume an index entry names; -ENOENT if there is none, -EBADMSG if
 * it is not a valid entry (a symlink, a directory, junk). */
static int index_read(int idx_fd, const char *uuid, char **ret_volume)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_at(idx_fd, uuid, INDEX_SIZE_MAX, &buf, &len);
	if (r == -ELOOP || r == -EBADFD || r == -EFBIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	r = index_parse(buf, len);
	if (r < 0)
		return r;
	*ret_volume = TAKE_PTR(buf);
	return 0;
}

/* 1 if the entry already names volume; 0 if it may be (over)written;
 * -EEXIST if another attached volume owns the namespace. */
static int index_check(int run_fd, int idx_fd, const char *uuid, const char *volume)
{
	_cleanup_free_ char *other = NULL;
	char name[NAME_MAX + 1];
	int r;

	r = index_read(idx_fd, uuid, &other);
	if (r == -ENOENT || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
	if (streq(other, volume))
		return 1;
	/* Without a descriptor the other volume is gone (a helper died
	 * before cleaning up): its entry is stale. */
	if (desc_file_name(other, name) < 0)
		return 0;
	if (faccessat(run_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return log_error_errno(EEXIST, "%s: namespace %s is already used by volume %s.",
			       volume, uuid, other);
}

int desc_open_subdir(const char *sub, bool create, int *ret_run_fd, int *ret_sub_fd)
{
	_cleanup_close_ int run_fd = -EBADF;
	int r;

	r = desc_open_runtime_dir(create, &run_fd);
	if (r < 0)
		return r;
	if (create)
		r = mkdir_parents_secure_at(run_fd, sub, 0755, ret_sub_fd);
	else
		r = open_dir_secure_at(run_fd, sub, ret_sub_fd);
	if (r < 0)
		return log_debug_errno(r, "Failed to open the %s directory: %m", sub);
	if (ret_run_fd)
		*ret_run_fd = TAKE_FD(run_fd);
	return 0;
}

int desc_write_index(const struct desc *d)
{
	_cleanup_close_ int run_fd = -EBADF, idx_fd = -EBADF;
	char content[INDEX_SIZE_MAX];
	bool changed = false;
	int r;

	assert(d);
	if (!vol_name_is_valid(d->volume) || d->n_replicas > VOL_REPLICAS_MAX)
		return -EINVAL;
	r = desc_open_subdir(DESC_INDEX_DIR, true, &run_fd, &idx_fd);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->n_replicas; i++) {
		char uuid[37];

		snprintf(content, sizeof(content), INDEX_KEY_VOLUME "%s\nNVMF_RAID_REPLICA=%s\nNVMF_RAID_SINGLE=%d\n",
			 d->volume, d->replicas[i].name, d->n_replicas == 1);

		/* The entry's name is a path component: canonical UUIDs only. */
		r = uuid_canonical(d->replicas[i].uuid, uuid);
		if (r < 0)
			return r;
		r = index_check(run_fd, idx_fd, uuid, d->volume);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		r = write_file_atomic_at(idx_fd, uuid, content, strlen(content), 0644);
		if (r < 0)
			return log_debug_errno(r, "Failed to write index entry %s: %m", uuid);
		changed = true;
	}
	return changed;
}

/* Removes the entry uuid if it names volume: 1 if removed. */
static int index_remove_entry(int idx_fd, const char *uuid, const char *volume)
{
	_cleanup_free_ char *owner = NULL;
	int r;

	r = index_read(idx_fd, uuid, &owner);
	if (r == -ENOENT || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
	if (!streq(owner, volume))
		return 0;
	return remove_file_at(idx_fd, uuid);
}

int desc_remove_index(const struct desc *d)
{
	_cleanup_close_ int idx_fd = -EBADF;
	bool removed = false;
	int r;

	assert(d);
	r = desc_open_subdir(DESC_INDEX_DIR, false, NULL, &idx_fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->n_replicas && i < VOL_REPLICAS_MAX; i++) {
		char uuid[37];

		if (uuid_canonical(d->replicas[i].uuid, uuid) < 0)
			continue;	/* no such entry can exist */
		r = index_remove_entry(idx_fd, uuid, d->volume);
		if (r < 0)
			return r;
		removed = removed || r > 0;
	}
	return removed;
}

/* Scans the whole index: catches entries of replicas no longer in the
 * descriptor, and works when the descriptor is unreadable. */
static int index_remove_volume(int idx_fd, const char *volume)
{
	_cleanup_closedir_ DIR *dir = NULL;
	bool removed = false;
	struct dirent *de;
	int fd, r;

	fd = fcntl(idx_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		safe_close(fd);
		return r;
	}
	for (errno = 0; (de = readdir(dir)); errno = 0) {
		/* Dot files are not entries (".", "..", our temporaries). */
		if (de->d_name[0] == '.')
			continue;
		r = index_remove_entry(idx_fd, de->d_name, volume);
		if (r < 0)
			return r;
		removed = removed || r > 0;
	}
	if (errno > 0)
		return -errno;
	return removed;
}

int desc_remove(const char *volume)
{
	_cleanup_close_ int run_fd = -EBADF, idx_fd = -EBADF;
	char name[NAME_MAX + 1];
	int r, removed;

	if (!vol_name_is_valid(volume) || desc_file_name(volume, name) < 0)
		return log_error_errno(EINVAL, DESC_INVALID_NAME_MSG);
	r = desc_open_runtime_dir(false, &run_fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	removed = remove_file_at(run_fd, name);
	if (removed < 0)
		return log_debug_errno(removed, "Failed to remove %s: %m", name);
	r = open_dir_secure_at(run_fd, DESC_INDEX_DIR, &idx_fd);
	if (r == -ENOENT)
		return removed;
	if (r < 0)
		return log_debug_errno(r, "Failed to open the %s directory: %m", DESC_INDEX_DIR);
	r = index_remove_volume(idx_fd, volume);
	if (r < 0)
		return log_debug_errno(r, "Failed to clean the %s directory: %m", DESC_INDEX_DIR);
	return removed || r > 0;
}

int desc_lookup_uuid(const char *uuid, char **ret_volume)
{
	_cleanup_close_ int idx_fd = -EBADF;
	char canonical[37];
	int r;

	assert(ret_volume);
	if (uuid_canonical(uuid, canonical) < 0)
		return -EINVAL;
	r = desc_open_subdir(DESC_INDEX_DIR, false, NULL, &idx_fd);
	if (r < 0)
		return r;
	r = index_read(idx_fd, canonical, ret_volume);
	if (r == -EBADMSG) {
		const char *dir = DESC_RUNTIME_DIR;

		(void)desc_runtime_dir(&dir);
		return log_error_errno(r, "%s/%s/%s: not a valid index entry.", dir,
				       DESC_INDEX_DIR, canonical);
	}
	return r;
}
