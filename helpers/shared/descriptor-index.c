/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The namespace index: who owns a namespace, so that a udev event finds
 * its volume without reading every descriptor.  One entry per replica, in
 * the directory of the first identifier its volume file gives:
 *
 *   $RUNTIME/by-uuid/<namespace UUID>		uuid = …
 *   $RUNTIME/by-nguid/<32 hex digits>		nguid = … (no uuid)
 *   $RUNTIME/by-nsid/<NSID>@<subsystem NQN>	nsid = … only; '/' and '%'
 *						of the NQN as %2F and %25
 *
 * The entry is KEY=VALUE lines; nvmf-raid-probe, run by the udev rule for
 * every NVMe namespace, checks the subsystem and every identifier against
 * what sysfs shows before it hands udev the first three:
 *
 *   NVMF_RAID_VOLUME=<volume>
 *   NVMF_RAID_REPLICA=<replica name>
 *   NVMF_RAID_SINGLE=<1 for a one-replica volume, else 0>
 *   NVMF_RAID_NQN=<subsystem NQN>
 *   NVMF_RAID_NS_UUID=<uuid>, NVMF_RAID_NS_NGUID=<32 hex>, NVMF_RAID_NSID=<n>
 *						(those given)
 *
 * And the array index, every udev index file in this one module: the rule
 * names /dev/nvmf-raid/VOLUME from
 *
 *   $RUNTIME/by-md-uuid/<array UUID>		NVMF_RAID_VOLUME=<volume>
 *   $RUNTIME/by-md-dev/<mdN>			the same, and NVMF_RAID_MD_UUID
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
#include "volume.h"

/* The array entries the udev rule reads to name /dev/nvmf-raid/VOLUME. */
#define MD_INDEX_DIR "by-md-uuid"
#define MD_DEV_INDEX_DIR "by-md-dev"
#define MD_DEV_INDEX_MAX 256

#define INDEX_KEY_VOLUME "NVMF_RAID_VOLUME="
/* Seven short lines: anything longer is not ours. */
#define INDEX_SIZE_MAX 1024

static const char *const index_dirs[] = {
	DESC_INDEX_DIR,
	DESC_INDEX_NGUID_DIR,
	DESC_INDEX_NSID_DIR,
};

/* "<nsid>@<nqn>", '/' and '%' escaped: a file name for any valid NQN of
 * up to 223 bytes with a few of them.  -ENAMETOOLONG past NAME_MAX. */
static int nsid_entry_name(uint32_t nsid, const char *nqn, char ret[static NAME_MAX + 1])
{
	size_t n = (size_t)snprintf(ret, NAME_MAX + 1, "%u@", nsid);

	for (const char *p = nqn; *p; p++) {
		const char *esc = *p == '/' ? "%2F" : *p == '%' ? "%25" : NULL;
		size_t add = esc ? 3 : 1;

		if (n + add > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(ret + n, esc ? esc : p, add);
		n += add;
	}
	ret[n] = 0;
	return 0;
}

int desc_index_entry_name(const char *nqn, const struct vol_ns_id *id, const char **ret_dir,
			  char ret_name[static NAME_MAX + 1])
{
	assert(nqn && id && ret_dir);
	if (id->has_uuid) {
		*ret_dir = DESC_INDEX_DIR;
		vol_uuid_format(id->uuid, ret_name);
		return 0;
	}
	if (id->has_nguid) {
		*ret_dir = DESC_INDEX_NGUID_DIR;
		vol_nguid_format(id->nguid, ret_name);
		return 0;
	}
	if (!id->nsid || !vol_nqn_is_valid(nqn))
		return -EINVAL;
	*ret_dir = DESC_INDEX_NSID_DIR;
	return nsid_entry_name(id->nsid, nqn, ret_name);
}

/* One "KEY=VALUE" line of an entry into @e; unknown keys are an error. */
static int index_line(char *line, struct desc_index_entry *e)
{
	char *v = strchr(line, '=');

	if (!v)
		return -EBADMSG;
	*v++ = 0;
	if (streq(line, "NVMF_RAID_VOLUME") && vol_name_is_valid(v))
		memcpy(e->volume, v, strlen(v) + 1);
	else if (streq(line, "NVMF_RAID_REPLICA") && vol_replica_name_is_valid(v))
		memcpy(e->replica, v, strlen(v) + 1);
	else if (streq(line, "NVMF_RAID_SINGLE") && (streq(v, "0") || streq(v, "1")))
		e->single = v[0] == '1';
	else if (streq(line, "NVMF_RAID_NQN") && vol_nqn_is_valid(v))
		memcpy(e->nqn, v, strlen(v) + 1);
	else if (streq(line, "NVMF_RAID_NS_UUID") && vol_uuid_parse(v, e->ns.uuid) == 0)
		e->ns.has_uuid = true;
	else if (streq(line, "NVMF_RAID_NS_NGUID") && vol_nguid_parse(v, e->ns.nguid) == 0)
		e->ns.has_nguid = true;
	else if (streq(line, "NVMF_RAID_NSID")) {
		long n;

		if (vol_parse_int(v, 1, VOL_NSID_MAX, false, &n) < 0)
			return -EBADMSG;
		e->ns.nsid = (uint32_t)n;
	} else
		return -EBADMSG;
	return 0;
}

int desc_index_parse(char *buf, size_t len, struct desc_index_entry *ret)
{
	struct desc_index_entry e = {};
	char *line = buf, *nl;

	if (len < 2 || buf[len - 1] != '\n' || memchr(buf, 0, len) ||
	    strncmp(buf, INDEX_KEY_VOLUME, STRLEN(INDEX_KEY_VOLUME)) != 0)
		return -EBADMSG;
	buf[len - 1] = 0;
	for (; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		if (index_line(line, &e) < 0)
			return -EBADMSG;
	}
	/* Entries of version 1 carry the volume, replica and single only. */
	if (!*e.volume || !*e.replica)
		return -EBADMSG;
	*ret = e;
	return 0;
}

/* The entry @name of directory @dir_fd; -ENOENT if there is none, -EBADMSG
 * if it is not a valid entry (a symlink, a directory, junk). */
static int index_read(int dir_fd, const char *name, struct desc_index_entry *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_at(dir_fd, name, INDEX_SIZE_MAX, &buf, &len);
	if (r == -ELOOP || r == -EBADFD || r == -EFBIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	return desc_index_parse(buf, len, ret);
}

/* 1 if the entry already says this; 0 if it may be (over)written;
 * -EEXIST if another attached volume owns the namespace. */
static int index_check(int run_fd, int dir_fd, const char *name, const char *volume, const char *content)
{
	_cleanup_free_ char *buf = NULL;
	struct desc_index_entry other;
	char file[NAME_MAX + 1];
	size_t len;
	int r;

	r = read_file_at(dir_fd, name, INDEX_SIZE_MAX, &buf, &len);
	if (r == -ENOENT || r == -ELOOP || r == -EBADFD || r == -EFBIG)
		return 0;
	if (r < 0)
		return r;
	if (len == strlen(content) && memcmp(buf, content, len) == 0)
		return 1;
	if (desc_index_parse(buf, len, &other) < 0 || streq(other.volume, volume))
		return 0;
	/* Without a descriptor the other volume is gone (a helper died
	 * before cleaning up): its entry is stale. */
	if (desc_file_name(other.volume, file) < 0)
		return 0;
	if (faccessat(run_fd, file, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return log_error_errno(EEXIST, "%s: namespace %s is already used by volume %s.", volume, name,
			       other.volume);
}

static void index_content(const struct desc *d, const struct desc_replica *r, char *buf, size_t size)
{
	char u[37], g[33];
	int n;

	n = snprintf(buf, size,
		     INDEX_KEY_VOLUME "%s\nNVMF_RAID_REPLICA=%s\nNVMF_RAID_SINGLE=%d\n"
				      "NVMF_RAID_NQN=%s\n",
		     d->volume, r->name, d->n_replicas == 1, r->nqn);
	if (r->ns.has_uuid) {
		vol_uuid_format(r->ns.uuid, u);
		n += snprintf(buf + n, size - (size_t)n, "NVMF_RAID_NS_UUID=%s\n", u);
	}
	if (r->ns.has_nguid) {
		vol_nguid_format(r->ns.nguid, g);
		n += snprintf(buf + n, size - (size_t)n, "NVMF_RAID_NS_NGUID=%s\n", g);
	}
	if (r->ns.nsid)
		snprintf(buf + n, size - (size_t)n, "NVMF_RAID_NSID=%u\n", r->ns.nsid);
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

static int index_write_one(int run_fd, const struct desc *d, const struct desc_replica *rep)
{
	_cleanup_close_ int dir_fd = -EBADF;
	char content[INDEX_SIZE_MAX], name[NAME_MAX + 1];
	const char *dir;
	int r;

	/* The entry's name is a path component: built from parsed values only. */
	r = desc_index_entry_name(rep->nqn, &rep->ns, &dir, name);
	if (r < 0)
		return log_error_errno(r, "%s: replica %s: no index entry name for its namespace: %m",
				       d->volume, rep->name);
	r = mkdir_parents_secure_at(run_fd, dir, 0755, &dir_fd);
	if (r < 0)
		return log_debug_errno(r, "Failed to open the %s directory: %m", dir);
	index_content(d, rep, content, sizeof(content));
	r = index_check(run_fd, dir_fd, name, d->volume, content);
	if (r != 0)
		return r < 0 ? r : 0;
	r = write_file_atomic_at(dir_fd, name, content, strlen(content), 0644);
	if (r < 0)
		return log_debug_errno(r, "Failed to write index entry %s/%s: %m", dir, name);
	return 1;
}

int desc_write_index(const struct desc *d)
{
	_cleanup_close_ int run_fd = -EBADF;
	bool changed = false;
	int r;

	assert(d);
	if (!vol_name_is_valid(d->volume) || d->n_replicas > VOL_REPLICAS_MAX)
		return -EINVAL;
	r = desc_open_runtime_dir(true, &run_fd);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->n_replicas; i++) {
		r = index_write_one(run_fd, d, &d->replicas[i]);
		if (r < 0)
			return r;
		changed = changed || r > 0;
	}
	return changed;
}

/* Removes the entry @name if it names @volume: 1 if removed. */
static int index_remove_entry(int dir_fd, const char *name, const char *volume)
{
	struct desc_index_entry e;
	int r;

	r = index_read(dir_fd, name, &e);
	if (r == -ENOENT || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
	if (!streq(e.volume, volume))
		return 0;
	return remove_file_at(dir_fd, name);
}

int desc_remove_index(const struct desc *d)
{
	bool removed = false;
	int r;

	assert(d);
	for (unsigned i = 0; i < d->n_replicas && i < VOL_REPLICAS_MAX; i++) {
		_cleanup_close_ int dir_fd = -EBADF;
		char name[NAME_MAX + 1];
		const char *dir;

		if (desc_index_entry_name(d->replicas[i].nqn, &d->replicas[i].ns, &dir, name) < 0)
			continue; /* no such entry can exist */
		r = desc_open_subdir(dir, false, NULL, &dir_fd);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = index_remove_entry(dir_fd, name, d->volume);
		if (r < 0)
			return r;
		removed = removed || r > 0;
	}
	return removed;
}

/* Scans a whole index directory: catches entries of replicas no longer in
 * the descriptor, and works when the descriptor is unreadable. */
static int index_remove_volume(int dir_fd, const char *volume)
{
	_cleanup_closedir_ DIR *dir = NULL;
	bool removed = false;
	struct dirent *de;
	int fd, r;

	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
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
		r = index_remove_entry(dir_fd, de->d_name, volume);
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
	_cleanup_close_ int run_fd = -EBADF;
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
	for (size_t i = 0; i < ELEMENTSOF(index_dirs); i++) {
		_cleanup_close_ int dir_fd = -EBADF;

		r = open_dir_secure_at(run_fd, index_dirs[i], &dir_fd);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return log_debug_errno(r, "Failed to open the %s directory: %m", index_dirs[i]);
		r = index_remove_volume(dir_fd, volume);
		if (r < 0)
			return log_debug_errno(r, "Failed to clean the %s directory: %m", index_dirs[i]);
		removed = removed || r > 0;
	}
	return removed;
}

/* The entry @name of index directory @dir, if it is valid and its
 * subsystem and every identifier match what the namespace shows. */
static int index_try(const char *dir, const char *name, const char *nqn, const struct vol_ns_id *seen,
		     struct desc_index_entry *ret)
{
	_cleanup_close_ int dir_fd = -EBADF;
	struct desc_index_entry e;
	int r;

	r = desc_open_subdir(dir, false, NULL, &dir_fd);
	if (r < 0)
		return r;
	r = index_read(dir_fd, name, &e);
	if (r < 0)
		return r;
	/* An entry without NVMF_RAID_NQN predates NGUID and NSID support: its
	 * by-uuid name was the whole identity. */
	if ((*e.nqn && !streq(e.nqn, nqn)) || (*e.nqn && !vol_ns_id_matches(&e.ns, seen)))
		return -ENOENT;
	*ret = e;
	return 0;
}

int desc_index_find(const char *nqn, const struct vol_ns_id *seen, struct desc_index_entry *ret)
{
	char name[NAME_MAX + 1];
	int r = -ENOENT;

	assert(nqn && seen && ret);
	/* A namespace without a UUID shows its NGUID as "uuid" too (the
	 * kernel's uuid_show()): by-uuid is tried anyway, the match decides. */
	if (seen->has_uuid) {
		vol_uuid_format(seen->uuid, name);
		r = index_try(DESC_INDEX_DIR, name, nqn, seen, ret);
	}
	if (r == -ENOENT && seen->has_nguid) {
		vol_nguid_format(seen->nguid, name);
		r = index_try(DESC_INDEX_NGUID_DIR, name, nqn, seen, ret);
	}
	if (r == -ENOENT && seen->nsid && nsid_entry_name(seen->nsid, nqn, name) == 0)
		r = index_try(DESC_INDEX_NSID_DIR, name, nqn, seen, ret);
	return r;
}

int desc_md_index_write(const char *md_uuid, const char *volume)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *text = NULL;
	int r;

	if (!filename_is_valid(md_uuid) || !vol_name_is_valid(volume))
		return -EINVAL;
	r = desc_open_subdir(MD_INDEX_DIR, true, NULL, &fd);
	if (r < 0)
		return r;
	if (asprintf(&text, "NVMF_RAID_VOLUME=%s\n", volume) < 0)
		return -ENOMEM;
	return write_file_atomic_at(fd, md_uuid, text, strlen(text), 0644);
}

int desc_md_index_remove(const char *md_uuid)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!filename_is_valid(md_uuid))
		return -EINVAL;
	r = desc_open_subdir(MD_INDEX_DIR, false, NULL, &fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = remove_file_at(fd, md_uuid);
	return r == -ENOENT ? 0 : r;
}

/* "md127" of "/dev/md127": the kernel name udev's $kernel gives, and the
 * entry's file name, so digits only after "md". */
static const char *md_kernel_name(const char *mddev)
{
	const char *k;

	if (!mddev || strncmp(mddev, "/dev/md", STRLEN("/dev/md")) != 0)
		return NULL;
	k = mddev + STRLEN("/dev/");
	if (!k[2] || strspn(k + 2, "0123456789") != strlen(k + 2) || strlen(k) > 16)
		return NULL;
	return k;
}

int desc_md_dev_index_write(const char *mddev, const char *volume, const char *md_uuid)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *text = NULL;
	const char *k = md_kernel_name(mddev);
	int r;

	if (!k || !vol_name_is_valid(volume) || !md_uuid || !filename_is_valid(md_uuid))
		return -EINVAL;
	r = desc_open_subdir(MD_DEV_INDEX_DIR, true, NULL, &fd);
	if (r < 0)
		return r;
	if (asprintf(&text, "NVMF_RAID_VOLUME=%s\nNVMF_RAID_MD_UUID=%s\n", volume, md_uuid) < 0)
		return -ENOMEM;
	return write_file_atomic_at(fd, k, text, strlen(text), 0644);
}

int desc_md_dev_index_remove(const char *mddev, const char *volume)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL, *want = NULL;
	const char *k = md_kernel_name(mddev);
	size_t len;
	int r;

	if (!k)
		return 0; /* no such entry can exist */
	r = desc_open_subdir(MD_DEV_INDEX_DIR, false, NULL, &fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = read_file_at(fd, k, MD_DEV_INDEX_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (asprintf(&want, "NVMF_RAID_VOLUME=%s\n", volume) < 0)
		return -ENOMEM;
	/* Junk (r < 0 other than ENOENT) is nobody's: removed too. */
	if (r >= 0 && (len < strlen(want) || memcmp(buf, want, strlen(want)) != 0))
		return 0;
	return remove_file_at(fd, k);
}
