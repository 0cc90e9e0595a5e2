/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Files and directories below a trusted root, for helpers that run as root
 * from udev and systemd: everything works relative to a directory fd, never
 * follows a symlink below the root, and publishes files atomically
 * (contract.md "Runtime files": written atomically).  These functions log at
 * debug level only; callers decide what a failure means.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/**
 * filename_is_valid() - whether @name can be used as one path component
 * @name: the candidate
 *
 * Return: true if @name is non-empty, at most NAME_MAX bytes, contains no
 * '/' and is neither "." nor "..".
 */
bool filename_is_valid(const char *name);

/**
 * open_dir_nofollow() - open the directory @name below @dir_fd
 * @dir_fd: a directory fd, or AT_FDCWD
 * @name: one path component (see filename_is_valid())
 * @ret_fd: the O_DIRECTORY|O_CLOEXEC fd
 *
 * Return: 0; -EINVAL for an invalid @name; -ELOOP or -ENOTDIR if @name is a
 * symlink or not a directory; other negative errno from openat().
 */
int open_dir_nofollow(int dir_fd, const char *name, int *ret_fd);

/**
 * mkdir_parents_secure() - create (or open) @rel below the trusted @root
 * @root: an absolute path, trusted as it is (symlinks in it are followed,
 *	so /var/run works); normally /run or a test's mkdtemp() directory
 * @rel: a relative path, e.g. "nvmf-raid/by-uuid"; no "." or ".." components
 * @mode: the mode of directories we create (exact, the umask does not apply)
 * @ret_fd: if not NULL, an O_DIRECTORY fd of the last component
 *
 * Each component of @rel is created with mkdirat() if missing, then opened
 * with O_DIRECTORY|O_NOFOLLOW, so a symlink anywhere below @root is refused.
 * An existing component must be owned by root or by us and must not be
 * group- or world-writable: otherwise someone else could swap its entries.
 * The parent of each directory created is fsynced, so the new directory
 * survives a power loss as the files later written into it do.
 *
 * Return: 1 if a directory was created, 0 if all existed; -EINVAL for a bad
 * @root or @rel; -ELOOP/-ENOTDIR for a symlink or non-directory; -EPERM for
 * an existing component with unsafe ownership or mode; other negative errno.
 */
int mkdir_parents_secure(const char *root, const char *rel, mode_t mode, int *ret_fd);

/**
 * mkdir_parents_secure_at() - mkdir_parents_secure() below an open directory
 *
 * Return: as mkdir_parents_secure().
 */
int mkdir_parents_secure_at(int root_fd, const char *rel, mode_t mode, int *ret_fd);

/**
 * open_dir_secure() - open @rel below the trusted @root, creating nothing
 *
 * The same walk and checks as mkdir_parents_secure(), for readers that must
 * not create the runtime directory just by looking.
 *
 * Return: 0; -ENOENT if a component is missing; otherwise as
 * mkdir_parents_secure().
 */
int open_dir_secure(const char *root, const char *rel, int *ret_fd);

/**
 * open_dir_trusting() - mkdir_parents_secure() or open_dir_secure() of the
 * absolute path @dir, trusting @trusted (an ancestor of @dir) as it is and
 * securing every component below it; @trusted NULL trusts @dir's parent
 * (a directory named by the environment, e.g. in tests)
 * @create: create what is missing (0755), or -ENOENT
 *
 * Return: as mkdir_parents_secure() / open_dir_secure(); -EINVAL for a
 * relative @dir or one with an invalid last component.
 */
int open_dir_trusting(const char *dir, const char *trusted, bool create, int *ret_fd);

/**
 * open_dir_secure_at() - open_dir_secure() below an open directory
 *
 * Return: as open_dir_secure().
 */
int open_dir_secure_at(int root_fd, const char *rel, int *ret_fd);

/**
 * write_file_atomic_at() - replace @name in @dir_fd with @size bytes of @buf
 * @dir_fd: the directory
 * @name: one path component (see filename_is_valid())
 * @buf: the content
 * @size: its length
 * @mode: the file's mode (exact, the umask does not apply)
 *
 * Writes a temporary ".#<name><random>" opened O_CREAT|O_EXCL|O_NOFOLLOW in
 * the same directory, fchmod()s and fsync()s it, renames it over @name and
 * fsync()s the directory.  A symlink at @name is replaced, never written
 * through.  The temporary file is removed on any error.
 *
 * Return: 0; -EINVAL for an invalid @name; -ENAMETOOLONG if no temporary
 * name fits; other negative errno.
 */
int write_file_atomic_at(int dir_fd, const char *name, const void *buf, size_t size, mode_t mode);

/**
 * read_file_at() - read the regular file @name in @dir_fd
 * @dir_fd: the directory
 * @name: one path component (see filename_is_valid())
 * @max_size: the largest size accepted
 * @ret_buf: the content, NUL-terminated (one byte more than @ret_size), to free()
 * @ret_size: if not NULL, the number of bytes read
 *
 * Return: 0; -EINVAL for an invalid @name; -ELOOP for a symlink; -EBADFD if
 * @name is not a regular file; -EFBIG if it is larger than @max_size; other
 * negative errno (-ENOENT, ...).
 */
int read_file_at(int dir_fd, const char *name, size_t max_size, char **ret_buf, size_t *ret_size);

/**
 * read_file_fd() - read_file_at() of a file its caller opened
 * @fd: the open file, read from its current offset; opened O_NONBLOCK by
 *	callers that may meet a FIFO
 * @max_size: the largest size accepted
 * @ret_buf: the content, NUL-terminated, to free()
 * @ret_size: if not NULL, the number of bytes read
 *
 * For files opened another way than read_file_at() does, e.g. following a
 * symlink, or by an absolute path in /sys.
 *
 * Return: as read_file_at(), less the errors of opening.
 */
int read_file_fd(int fd, size_t max_size, char **ret_buf, size_t *ret_size);

/**
 * remove_file_at() - unlink @name in @dir_fd if it exists
 *
 * Return: 1 if removed, 0 if it did not exist, -EINVAL for an invalid
 * @name, other negative errno.
 */
int remove_file_at(int dir_fd, const char *name);

/**
 * lock_file_at() - take an exclusive flock() on @name in @dir_fd
 * @dir_fd: the directory
 * @name: the lock file, created 0600 if missing, opened O_NOFOLLOW
 * @wait: block until the lock is free; if false, fail with -EWOULDBLOCK
 * @ret_fd: the fd that holds the lock; closing it releases the lock
 *
 * After flock() succeeds, the lock file is checked to still be linked and to
 * still be the file at @name (same st_dev/st_ino as a fresh fstatat()); if a
 * previous holder removed or replaced it meanwhile, the lock is retaken on
 * the new file (mdadm map_lock()).  So unlock_file_at() may remove the file.
 *
 * Return: 0; -EWOULDBLOCK if !@wait and the lock is held; -EINVAL for an
 * invalid @name; -EBADFD if @name is not a regular file; -EBUSY if the file
 * kept being replaced; other negative errno.
 */
int lock_file_at(int dir_fd, const char *name, bool wait, int *ret_fd);

/**
 * unlock_file_at() - release a lock from lock_file_at()
 * @dir_fd: the directory the lock was taken in
 * @name: the lock file
 * @fd: the lock fd; closed
 * @remove: also unlink the file, while still holding the lock
 *
 * Return: -EBADF, for "fd = unlock_file_at(...)".
 */
int unlock_file_at(int dir_fd, const char *name, int fd, bool remove);
