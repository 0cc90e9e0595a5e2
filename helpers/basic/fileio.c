/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"

/* How often lock_file_at() retakes a lock whose file was replaced under it
 * before giving up: each retry means another holder removed the file, which
 * happens once per detach, so this bound is only hit by a bug. */
#define LOCK_RETRIES_MAX 64
/* How many temporary names write_file_atomic_at() tries before giving up;
 * with 64 random bits a collision means someone is guessing. */
#define TMPFILE_TRIES_MAX 16

bool filename_is_valid(const char *name)
{
	if (!name || !*name)
		return false;
	if (streq(name, ".") || streq(name, ".."))
		return false;
	if (strchr(name, '/'))
		return false;
	return strlen(name) <= NAME_MAX;
}

int open_dir_nofollow(int dir_fd, const char *name, int *ret_fd)
{
	int fd;

	assert(ret_fd);
	if (!filename_is_valid(name))
		return -EINVAL;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

/* An existing directory below the trusted root must be ours or root's, and
 * writable only by its owner, or another user could swap its entries. */
static int dir_check_safe(int fd, bool created)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return -EPERM;
	if (!created && (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

/* Opens (creating if asked) one component below cur_fd; returns 1 if it was
 * created. */
static int walk_one(int cur_fd, const char *name, bool create, mode_t mode, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	bool created = false;
	int r;

	if (create) {
		if (mkdirat(cur_fd, name, mode) >= 0)
			created = true;
		else if (errno != EEXIST)
			return -errno;
	}
	r = open_dir_nofollow(cur_fd, name, &fd);
	if (r < 0)
		return r;
	/* mkdirat() honours the umask; the caller asked for an exact mode. */
	if (created && fchmod(fd, mode) < 0)
		return -errno;
	r = dir_check_safe(fd, created);
	if (r < 0)
		return r;
	/* Files below are fsynced and renamed for the next boot to find (the
	 * in-sync record); that needs the new directory's own entry on the
	 * disk too, or a power loss can take the directory with them. */
	if (created && fsync(cur_fd) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return created;
}

static int walk_dirs(int root_fd, const char *rel, bool create, mode_t mode, int *ret_fd)
{
	_cleanup_free_ char *copy = NULL;
	_cleanup_close_ int fd = -EBADF;
	char *save = NULL;
	bool created = false;

	if (!rel || !*rel || rel[0] == '/')
		return -EINVAL;
	copy = strdup(rel);
	if (!copy)
		return -ENOMEM;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = -EBADF, r;

		if (!filename_is_valid(c))
			return -EINVAL;
		r = walk_one(fd >= 0 ? fd : root_fd, c, create, mode, &next);
		if (r < 0)
			return log_debug_errno(r, "Failed to %s directory %s in %s: %m",
					       create ? "create" : "open", c, rel);
		created = created || r > 0;
		safe_close(fd);
		fd = next;
	}
	if (fd < 0) /* only slashes */
		return -EINVAL;
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return created;
}

static int open_root(const char *root, int *ret_fd)
{
	int fd;

	if (!root || root[0] != '/')
		return -EINVAL;
	/* The root is trusted as it is: following symlinks here keeps
	 * /var/run/... working. */
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_debug_errno(errno, "Failed to open %s: %m", root);
	*ret_fd = fd;
	return 0;
}

int mkdir_parents_secure_at(int root_fd, const char *rel, mode_t mode, int *ret_fd)
{
	return walk_dirs(root_fd, rel, true, mode, ret_fd);
}

int mkdir_parents_secure(const char *root, const char *rel, mode_t mode, int *ret_fd)
{
	_cleanup_close_ int root_fd = -EBADF;
	int r;

	r = open_root(root, &root_fd);
	if (r < 0)
		return r;
	return walk_dirs(root_fd, rel, true, mode, ret_fd);
}

int open_dir_secure(const char *root, const char *rel, int *ret_fd)
{
	_cleanup_close_ int root_fd = -EBADF;
	int r;

	assert(ret_fd);
	r = open_root(root, &root_fd);
	if (r < 0)
		return r;
	return walk_dirs(root_fd, rel, false, 0, ret_fd);
}

int open_dir_trusting(const char *dir, const char *trusted, bool create, int *ret_fd)
{
	_cleanup_free_ char *root = NULL;
	const char *base = strrchr(dir, '/'), *rel;
	size_t n = trusted ? strlen(trusted) : 0;

	if (dir[0] != '/' || !filename_is_valid(base + 1))
		return -EINVAL;
	if (trusted && strncmp(dir, trusted, n) == 0 && dir[n] == '/')
		rel = dir + n + 1;
	else {
		n = base == dir ? 1 : (size_t)(base - dir);
		rel = base + 1;
	}
	root = strndup(dir, n);
	if (!root)
		return -ENOMEM;
	return create ? mkdir_parents_secure(root, rel, 0755, ret_fd) : open_dir_secure(root, rel, ret_fd);
}

int open_dir_secure_at(int root_fd, const char *rel, int *ret_fd)
{
	assert(ret_fd);
	return walk_dirs(root_fd, rel, false, 0, ret_fd);
}

static int loop_write(int fd, const void *buf, size_t size)
{
	const uint8_t *p = buf;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

/* O_EXCL makes the name safe whatever its quality; the randomness only
 * avoids collisions, so fall back to the clock when the pool is not ready
 * (early boot, from udev). */
static uint64_t random_u64(void)
{
	static unsigned counter;
	struct timespec ts;
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16) ^ ++counter;
}

/* Creates ".#<name><16 hex digits>" next to name; tmp gets the name. */
static int tmpfile_open_at(int dir_fd, const char *name, char tmp[static NAME_MAX + 1], int *ret_fd)
{
	for (unsigned i = 0; i < TMPFILE_TRIES_MAX; i++) {
		int fd, n;

		n = snprintf(tmp, NAME_MAX + 1, ".#%s%016llx", name, (unsigned long long)random_u64());
		if (n < 0 || n > NAME_MAX)
			return -ENAMETOOLONG;
		/* 0600 until it is complete; the caller's mode comes later. */
		fd = openat(dir_fd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int write_and_sync(int fd, const void *buf, size_t size, mode_t mode)
{
	int r;

	r = loop_write(fd, buf, size);
	if (r < 0)
		return r;
	/* fchmod() before fsync() so the mode is as durable as the data. */
	if (fchmod(fd, mode) < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int write_file_atomic_at(int dir_fd, const char *name, const void *buf, size_t size, mode_t mode)
{
	_cleanup_close_ int fd = -EBADF;
	char tmp[NAME_MAX + 1];
	int r;

	assert(dir_fd >= 0); /* fsync() needs a real directory fd */
	assert(buf || size == 0);
	if (!filename_is_valid(name))
		return -EINVAL;
	r = tmpfile_open_at(dir_fd, name, tmp, &fd);
	if (r < 0)
		return log_debug_errno(r, "Failed to create a temporary file for %s: %m", name);
	r = write_and_sync(fd, buf, size, mode);
	/* renameat() replaces a symlink at name, it never writes through it. */
	if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dir_fd, tmp, 0);
		return log_debug_errno(r, "Failed to write %s: %m", name);
	}
	/* The rename is only durable once the directory is. */
	if (fsync(dir_fd) < 0)
		return log_debug_errno(errno, "Failed to sync the directory of %s: %m", name);
	return 0;
}

static int read_all(int fd, size_t hint, size_t max_size, char **ret_buf, size_t *ret_size)
{
	/* Room for the expected size, one byte to see EOF, and the NUL. */
	size_t cap = hint + 2 < 64 ? 64 : hint + 2, len = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) { /* it grew since fstat() */
			size_t ncap = cap > max_size / 2 ? max_size + 2 : cap * 2;
			char *nbuf = realloc(buf, ncap);

			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max_size)
			return -EFBIG;
	}
	buf[len] = 0;
	*ret_buf = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = len;
	return 0;
}

int read_file_fd(int fd, size_t max_size, char **ret_buf, size_t *ret_size)
{
	struct stat st;

	assert(fd >= 0);
	assert(ret_buf);
	assert(max_size < SIZE_MAX / 2);
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if ((uint64_t)st.st_size > max_size)
		return -EFBIG;
	return read_all(fd, (size_t)st.st_size, max_size, ret_buf, ret_size);
}

int read_file_at(int dir_fd, const char *name, size_t max_size, char **ret_buf, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;

	if (!filename_is_valid(name))
		return -EINVAL;
	/* O_NONBLOCK: a FIFO planted here must not hang us before fstat(). */
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	return read_file_fd(fd, max_size, ret_buf, ret_size);
}

int remove_file_at(int dir_fd, const char *name)
{
	if (!filename_is_valid(name))
		return -EINVAL;
	if (unlinkat(dir_fd, name, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

/* Whether the locked fd still is the file at name: a holder that removed it
 * (unlock_file_at(remove=true)) leaves us locking an orphan. */
static int lock_still_valid(int dir_fd, const char *name, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return -errno;
	if (a.st_nlink == 0)
		return 0;
	if (fstatat(dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int lock_once(int dir_fd, const char *name, bool wait, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
		if (errno != EINTR)
			return -errno;
	r = lock_still_valid(dir_fd, name, fd);
	if (r <= 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 1;
}

int lock_file_at(int dir_fd, const char *name, bool wait, int *ret_fd)
{
	assert(ret_fd);
	if (!filename_is_valid(name))
		return -EINVAL;
	for (unsigned i = 0; i < LOCK_RETRIES_MAX; i++) {
		int fd = -EBADF, r;

		r = lock_once(dir_fd, name, wait, &fd);
		if (r < 0)
			return log_debug_errno(r, "Failed to lock %s: %m", name);
		if (r > 0) {
			*ret_fd = fd;
			return 0;
		}
		log_debug("Lock file %s was replaced while we waited, retrying.", name);
	}
	return log_debug_errno(EBUSY, "Lock file %s keeps being replaced, giving up.", name);
}

int unlock_file_at(int dir_fd, const char *name, int fd, bool remove)
{
	/* Unlink while still holding the lock, so that a waiter finds
	 * st_nlink == 0 and retakes the lock on a fresh file. */
	if (remove && fd >= 0 && filename_is_valid(name))
		(void)unlinkat(dir_fd, name, 0);
	return safe_close(fd);
}
