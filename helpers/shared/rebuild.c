/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebuild_: the host-wide rebuild slots and their FIFO queue (the layout
 * and the rules are in rebuild.h).  rebuild-monitor.c holds the monitor's
 * hooks and the rate.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "descriptor.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "rebuild-internal.h"
#include "session.h"
#include "volume.h"

#define ENTRY_MAX 64 /* "<ns>\n" */

int rebuild_new(const char *volume, struct rebuild **ret)
{
	struct rebuild *rb;

	assert(ret);
	if (!vol_name_is_valid(volume))
		return -EINVAL;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	snprintf(rb->volume, sizeof(rb->volume), "%s", volume);
	assert_se(vs_file_name(VS_FILE_REBUILD_ENTRY, volume, rb->entry) == 0);
	rb->dir_fd = rb->slots_fd = rb->queue_fd = -EBADF;
	rb->slot_fd = rb->entry_fd = rb->inotify_fd = -EBADF;
	*ret = rb;
	return 0;
}

void rebuild_free(struct rebuild *rb)
{
	if (!rb)
		return;
	rebuild_release(rb);
	safe_close(rb->dir_fd);
	safe_close(rb->slots_fd);
	safe_close(rb->queue_fd);
	free(rb);
}

/* $RUNTIME/rebuild/{slots,queue}, created on first use. */
static int open_dirs(struct rebuild *rb)
{
	_cleanup_close_ int run_fd = -EBADF, dir = -EBADF, slots = -EBADF, queue = -EBADF;
	int r;

	if (rb->dir_fd >= 0)
		return 0;
	r = desc_open_runtime_dir(true, &run_fd);
	if (r >= 0)
		r = mkdir_parents_secure_at(run_fd, "rebuild/slots", 0755, &slots);
	if (r >= 0)
		r = mkdir_parents_secure_at(run_fd, "rebuild/queue", 0755, &queue);
	if (r >= 0)
		r = open_dir_secure_at(run_fd, "rebuild", &dir);
	if (r < 0)
		return r;
	rb->dir_fd = TAKE_FD(dir);
	rb->slots_fd = TAKE_FD(slots);
	rb->queue_fd = TAKE_FD(queue);
	return 0;
}

/* Watch before looking: a slot freed after the look still wakes us. */
static int watch(struct rebuild *rb)
{
	_cleanup_close_ int fd = -EBADF;
	char path[STRLEN("/proc/self/fd/") + 12];

	if (rb->inotify_fd >= 0)
		return 0;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Through the fds: the path of what we opened, not a name again. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rb->slots_fd);
	if (inotify_add_watch(fd, path, IN_CLOSE_WRITE) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rb->queue_fd);
	if (inotify_add_watch(fd, path, IN_CLOSE_WRITE | IN_DELETE) < 0)
		return -errno;
	rb->inotify_fd = TAKE_FD(fd);
	return 0;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	assert_se(clock_gettime(CLOCK_BOOTTIME, &ts) == 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A new entry appears already locked: written under a temporary name,
 * flock()ed, then renamed into place. */
static int enqueue(struct rebuild *rb)
{
	char tmp[VOL_NAME_MAX + 32], text[ENTRY_MAX];
	_cleanup_close_ int fd = -EBADF;
	uint64_t now = boottime_ns();
	int n;

	snprintf(tmp, sizeof(tmp), ".#%s.%d", rb->volume, (int)getpid());
	(void)unlinkat(rb->queue_fd, tmp, 0); /* a dead process's, same pid */
	fd = openat(rb->queue_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", now);
	errno = 0; /* a short write sets none */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || write(fd, text, (size_t)n) != n ||
	    renameat(rb->queue_fd, tmp, rb->queue_fd, rb->entry) < 0) {
		int r = errno ? -errno : -EIO;

		(void)unlinkat(rb->queue_fd, tmp, 0);
		return r;
	}
	rb->entry_fd = TAKE_FD(fd);
	rb->asked = now;
	return 0;
}

static void leave_queue(struct rebuild *rb)
{
	struct stat a, b;

	if (rb->entry_fd < 0)
		return;
	/* Only our own entry: one monitor per volume writes this name. */
	if (fstat(rb->entry_fd, &a) == 0 && fstatat(rb->queue_fd, rb->entry, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		(void)unlinkat(rb->queue_fd, rb->entry, 0);
	rb->entry_fd = safe_close(rb->entry_fd);
	rb->inotify_fd = safe_close(rb->inotify_fd);
}

/* Whether slot @k is free: nobody holds its lock.  Read-only, so its
 * close wakes no waiter. */
static int slot_is_free(int slots_fd, unsigned k)
{
	_cleanup_close_ int fd = -EBADF;
	char name[16];

	snprintf(name, sizeof(name), "%u", k);
	fd = openat(slots_fd, name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : -errno;
	(void)flock(fd, LOCK_UN);
	return 1;
}

/* Takes free slot @k for good: opened for writing, so that its close,
 * also by the kernel when we die, wakes the waiters. */
static int take_slot(struct rebuild *rb, unsigned k)
{
	_cleanup_close_ int fd = -EBADF;
	char name[16], text[VOL_NAME_MAX + 2];
	int n;

	snprintf(name, sizeof(name), "%u", k);
	fd = openat(rb->slots_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%s\n", rb->volume);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n)
		log_debug_errno(errno, "%s: cannot name ourselves in rebuild slot %u: %m", rb->volume, k);
	rb->slot_fd = TAKE_FD(fd);
	rb->slot = k;
	return 0;
}

/* The first free slot of @max, and how many are free. */
static int free_slots(int slots_fd, unsigned max, unsigned *ret_first, unsigned *ret_n)
{
	unsigned n = 0, first = 0;

	for (unsigned k = 0; k < max; k++) {
		int r = slot_is_free(slots_fd, k);

		if (r < 0)
			return r;
		if (r > 0 && n++ == 0)
			first = k;
	}
	*ret_first = first;
	*ret_n = n;
	return 0;
}

/* The queue's directories open (watched too when @wait: a waiter is woken
 * when a slot frees) and its lock held in *@ret_lock_fd. */
static int lock_queue(struct rebuild *rb, bool wait, int *ret_lock_fd)
{
	int r = open_dirs(rb);

	if (r >= 0 && wait)
		r = watch(rb);
	if (r >= 0)
		r = lock_file_at(rb->dir_fd, "lock", true, ret_lock_fd);
	return r;
}

/* Slot @first is free (under the lock): the place in the queue is given up. */
static int take_and_leave(struct rebuild *rb, unsigned first)
{
	int r = take_slot(rb, first);

	if (r < 0)
		return r;
	leave_queue(rb);
	return 1;
}

int rebuild_request(struct rebuild *rb, unsigned max_concurrent)
{
	_cleanup_close_ int lock_fd = -EBADF;
	unsigned pos, len, first, n_free;
	int r;

	assert(rb);
	if (rb->slot_fd >= 0 || max_concurrent == 0)
		return 1;
	r = lock_queue(rb, true, &lock_fd);
	if (r >= 0 && rb->entry_fd < 0)
		r = enqueue(rb);
	if (r >= 0)
		r = rebuild_queue_rank(rb->queue_fd, rb->volume, &pos, &len);
	if (r >= 0)
		r = free_slots(rb->slots_fd, max_concurrent, &first, &n_free);
	if (r < 0)
		return r;
	if (pos > n_free)
		return 0;
	return take_and_leave(rb, first);
}

int rebuild_claim(struct rebuild *rb, unsigned max_concurrent)
{
	_cleanup_close_ int lock_fd = -EBADF;
	unsigned first = 0, n_free = 0;
	int r;

	assert(rb);
	if (rb->slot_fd >= 0 || max_concurrent == 0)
		return 1;
	r = lock_queue(rb, false, &lock_fd);
	if (r >= 0)
		r = free_slots(rb->slots_fd, max_concurrent, &first, &n_free);
	if (r < 0 || n_free == 0)
		return r;
	return take_and_leave(rb, first);
}

void rebuild_release(struct rebuild *rb)
{
	assert(rb);
	leave_queue(rb);
	rb->slot_fd = safe_close(rb->slot_fd);
}

bool rebuild_holds_slot(const struct rebuild *rb, unsigned *ret_slot)
{
	assert(rb);
	if (rb->slot_fd >= 0 && ret_slot)
		*ret_slot = rb->slot;
	return rb->slot_fd >= 0;
}

int rebuild_fd(const struct rebuild *rb)
{
	assert(rb);
	return rb->entry_fd >= 0 ? rb->inotify_fd : -EBADF;
}

void rebuild_drain(struct rebuild *rb)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	assert(rb);
	while (rb->inotify_fd >= 0 && read(rb->inotify_fd, buf, sizeof(buf)) > 0)
		;
}

/* When the waiter of entry @name asked, if one waits: a live entry is
 * locked by its waiter; one we can lock belongs to a dead process. */
static int entry_read(int queue_fd, const char *name, uint64_t *ret_asked)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	char *end;
	int r;

	fd = openat(queue_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	r = read_file_fd(fd, ENTRY_MAX, &buf, NULL);
	if (r < 0)
		return r;
	errno = 0;
	*ret_asked = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EBADMSG;
	return 1;
}

int rebuild_queue_rank(int queue_fd, const char *volume, unsigned *ret_pos, unsigned *ret_len)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	uint64_t mine = 0, asked = 0;
	unsigned before = 0, len = 0;
	char name[NAME_MAX + 1];
	bool found = false;
	int fd, r;

	/* Ours first: the others are ranked against it.  An entry's name is
	 * its volume's (VS_FILE_REBUILD_ENTRY). */
	if (vs_file_name(VS_FILE_REBUILD_ENTRY, volume, name) < 0)
		return -EINVAL;
	r = entry_read(queue_fd, name, &mine);
	if (r <= 0)
		return r;
	fd = openat(queue_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		bool self = streq(de->d_name, name);

		/* Hidden: an entry being written; invalid: not ours to read. */
		if (!vol_name_is_valid(de->d_name))
			continue;
		if (!self && entry_read(queue_fd, de->d_name, &asked) <= 0)
			continue;
		found = found || self;
		len++;
		if (!self && (asked < mine || (asked == mine && strcmp(de->d_name, name) < 0)))
			before++;
	}
	if (errno)
		return -errno;
	/* Gone between the two looks: no longer waiting. */
	if (!found)
		return 0;
	*ret_pos = before + 1;
	*ret_len = len;
	return 1;
}

int rebuild_queue_position(const char *volume, unsigned *ret_pos, unsigned *ret_len)
{
	_cleanup_close_ int run_fd = -EBADF, queue_fd = -EBADF;
	int r;

	assert(ret_pos);
	assert(ret_len);
	if (!vol_name_is_valid(volume))
		return -EINVAL;
	r = desc_open_runtime_dir(false, &run_fd);
	if (r >= 0)
		r = open_dir_secure_at(run_fd, "rebuild/queue", &queue_fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return rebuild_queue_rank(queue_fd, volume, ret_pos, ret_len);
}
