/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "session.h"
#include "log.h"
#include "macro.h"
#include "tap.h"

/* Best effort: keep going past anything that cannot be removed. */
static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static char tmp[] = "/tmp/nvmf-raid-test-fileio.XXXXXX";
static int tmp_fd = -EBADF;

/* Entries of dir_fd whose name starts with ".#": our temporary files. */
static int count_temporaries(int dir_fd)
{
	int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3), n = 0;
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d)
		return -1;
	rewinddir(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".#", 2) == 0)
			n++;
	closedir(d);
	return n;
}

static mode_t mode_of(int dir_fd, const char *name)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

static void test_filename(void)
{
	char longname[NAME_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ok(filename_is_valid("db1.json"), "plain name is valid");
	ok(!filename_is_valid(""), "empty name refused");
	ok(!filename_is_valid("."), "\".\" refused");
	ok(!filename_is_valid(".."), "\"..\" refused");
	ok(!filename_is_valid("a/b"), "name with '/' refused");
	ok(!filename_is_valid(longname), "name over NAME_MAX refused");
	ok(!filename_is_valid(NULL), "NULL refused");
}

static void test_atomic_write(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = write_file_atomic_at(tmp_fd, "f", "hello\n", 6, 0640);
	is_int(r, 0, "atomic write succeeds");
	r = read_file_at(tmp_fd, "f", 1024, &buf, &len);
	ok(r == 0 && len == 6 && streq(buf, "hello\n"), "round trip: content read back");
	is_int(mode_of(tmp_fd, "f") & 07777, 0640, "mode is the requested one despite umask 077");
	ok(S_ISREG(mode_of(tmp_fd, "f")), "result is a regular file");
	free(TAKE_PTR(buf));

	r = write_file_atomic_at(tmp_fd, "f", "second", 6, 0644);
	r = r < 0 ? r : read_file_at(tmp_fd, "f", 1024, &buf, &len);
	ok(r == 0 && streq(buf, "second"), "rewrite replaces the content");
	is_int(mode_of(tmp_fd, "f") & 07777, 0644, "rewrite applies the new mode");
	free(TAKE_PTR(buf));

	r = write_file_atomic_at(tmp_fd, "empty", "", 0, 0600);
	r = r < 0 ? r : read_file_at(tmp_fd, "empty", 1024, &buf, &len);
	ok(r == 0 && len == 0 && buf && buf[0] == 0, "empty file round trip");
	is_int(count_temporaries(tmp_fd), 0, "no temporary file left after success");
}

static void test_atomic_write_errors(void)
{
	int r;

	is_int(write_file_atomic_at(tmp_fd, "a/b", "x", 1, 0644), -EINVAL, "name with / refused");
	is_int(write_file_atomic_at(tmp_fd, ".", "x", 1, 0644), -EINVAL, "\".\" refused");
	is_int(write_file_atomic_at(tmp_fd, "..", "x", 1, 0644), -EINVAL, "\"..\" refused");

	/* renameat() of a file over a directory fails after the temporary
	 * file was written: it must be cleaned up. */
	mkdirat(tmp_fd, "isdir", 0755);
	r = write_file_atomic_at(tmp_fd, "isdir", "x", 1, 0644);
	ok(r == -EISDIR, "writing over a directory fails (r=%d)", r);
	ok(S_ISDIR(mode_of(tmp_fd, "isdir")), "the directory is untouched");
	is_int(count_temporaries(tmp_fd), 0, "no temporary file left after failure");
}

static void test_atomic_write_symlink(void)
{
	_cleanup_free_ char *buf = NULL;
	int r;

	write_file_atomic_at(tmp_fd, "victim", "original\n", 9, 0644);
	fixture(symlinkat("victim", tmp_fd, "link"));
	r = write_file_atomic_at(tmp_fd, "link", "planted\n", 8, 0644);
	is_int(r, 0, "write over a symlink succeeds");
	ok(read_file_at(tmp_fd, "victim", 1024, &buf, NULL) == 0 && streq(buf, "original\n"),
	   "symlink target unchanged: not written through");
	ok(S_ISREG(mode_of(tmp_fd, "link")), "the symlink was replaced by a regular file");
}

static void test_read(void)
{
	_cleanup_free_ char *buf = NULL;
	char big[100];
	size_t len;

	memset(big, 'x', sizeof(big));
	write_file_atomic_at(tmp_fd, "big", big, sizeof(big), 0644);
	is_int(read_file_at(tmp_fd, "big", 99, &buf, &len), -EFBIG, "over the bound: -EFBIG");
	ok(!buf, "no result on failure");
	ok(read_file_at(tmp_fd, "big", 100, &buf, &len) == 0 && len == 100, "exactly at the bound: read");
	free(TAKE_PTR(buf));
	fixture(symlinkat("big", tmp_fd, "biglink"));
	is_int(read_file_at(tmp_fd, "biglink", 1024, &buf, NULL), -ELOOP, "symlink not followed");
	mkfifoat(tmp_fd, "fifo", 0600);
	is_int(read_file_at(tmp_fd, "fifo", 1024, &buf, NULL), -EBADFD, "FIFO refused without blocking");
	is_int(read_file_at(tmp_fd, "isdir", 1024, &buf, NULL), -EBADFD, "directory refused");
	is_int(read_file_at(tmp_fd, "missing", 1024, &buf, NULL), -ENOENT, "missing: -ENOENT");
	is_int(read_file_at(tmp_fd, "../x", 1024, &buf, NULL), -EINVAL, "path refused");
}

static void test_read_fd(void)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF, fifo = -EBADF;
	size_t len = 0;

	/* "biglink" and "fifo" are test_read()'s. */
	fd = openat(tmp_fd, "biglink", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read_file_fd(fd, 100, &buf, &len) == 0 && len == 100,
	   "read_file_fd: reads a file opened through a symlink");
	fifo = openat(tmp_fd, "fifo", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	is_int(fifo >= 0 ? read_file_fd(fifo, 100, &buf, NULL) : -errno, -EBADFD,
	       "read_file_fd: FIFO refused");
}

static void test_remove(void)
{
	write_file_atomic_at(tmp_fd, "gone", "x", 1, 0644);
	is_int(remove_file_at(tmp_fd, "gone"), 1, "remove existing: 1");
	is_int(remove_file_at(tmp_fd, "gone"), 0, "remove missing: 0");
	is_int(remove_file_at(tmp_fd, ".."), -EINVAL, "remove \"..\" refused");
}

static void test_mkdir(void)
{
	_cleanup_close_ int fd = -EBADF, fd2 = -EBADF;
	int r;

	r = mkdir_parents_secure(tmp, "run/nvmf-raid/by-uuid", 0755, &fd);
	is_int(r, 1, "creating run/nvmf-raid/by-uuid returns 1");
	ok(fd >= 0 && S_ISDIR(mode_of(tmp_fd, "run/nvmf-raid/by-uuid")), "fd of the last one");
	is_int(mode_of(tmp_fd, "run/nvmf-raid") & 07777, 0755, "created 0755 despite umask 077");
	is_int(mkdir_parents_secure(tmp, "run/nvmf-raid/by-uuid", 0755, NULL), 0, "all existing: 0");
	r = open_dir_secure(tmp, "run/nvmf-raid", &fd2);
	ok(r == 0 && fd2 >= 0, "open_dir_secure opens an existing tree");
	is_int(open_dir_secure(tmp, "run/nope", &fd2), -ENOENT, "open_dir_secure creates nothing");
	ok(mode_of(tmp_fd, "run/nope") == (mode_t)-1, "really nothing");

	mkdirat(tmp_fd, "elsewhere", 0755);
	fixture(symlinkat("elsewhere", tmp_fd, "sym"));
	r = mkdir_parents_secure(tmp, "sym/x", 0755, NULL);
	ok(r == -ELOOP || r == -ENOTDIR, "symlink in the path refused (r=%d)", r);
	ok(mode_of(tmp_fd, "elsewhere/x") == (mode_t)-1, "nothing created through the symlink");
	fixture(symlinkat("../elsewhere", tmp_fd, "run/nvmf-raid/planted"));
	r = mkdir_parents_secure(tmp, "run/nvmf-raid/planted", 0755, NULL);
	ok(r == -ELOOP || r == -ENOTDIR, "symlink as last component refused (r=%d)", r);
	r = open_dir_secure(tmp, "run/nvmf-raid/planted", &fd2);
	ok(r == -ELOOP || r == -ENOTDIR, "open_dir_secure refuses it too (r=%d)", r);

	is_int(mkdir_parents_secure(tmp, "run/../x", 0755, NULL), -EINVAL, ".. refused");
	is_int(mkdir_parents_secure(tmp, "/abs", 0755, NULL), -EINVAL, "absolute rel refused");
	is_int(mkdir_parents_secure("relative", "x", 0755, NULL), -EINVAL, "relative root refused");
	is_int(mkdir_parents_secure(tmp, "", 0755, NULL), -EINVAL, "empty rel refused");
	mkdirat(tmp_fd, "open", 0755);
	fixture(fchmodat(tmp_fd, "open", 0777, 0));
	is_int(mkdir_parents_secure(tmp, "open/x", 0755, NULL), -EPERM,
	       "world-writable existing directory refused");
}

/* In a child: tries the lock on volume without waiting; exit status 0 if
 * it got it, 1 if it would block, 2 otherwise. */
static int child_trylock(const char *volume)
{
	pid_t pid = fork();
	int status, fd = -EBADF, r;

	if (pid == 0) {
		/* Any inherited lock fd would share the parent's lock; trying
		 * without waiting is not affected by that. */
		r = lock_volume_at(tmp_fd, volume, false, &fd);
		_exit(r == 0 ? 0 : r == -EWOULDBLOCK ? 1 : 2);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_lock(void)
{
	int fd = -EBADF, status, r;
	struct timespec ts = { .tv_nsec = 200 * 1000 * 1000 };
	pid_t pid;

	is_int(lock_volume_at(tmp_fd, "db1", true, &fd), 0, "lock taken");
	ok(S_ISREG(mode_of(tmp_fd, "db1.lock")), "db1.lock exists");
	is_int(child_trylock("db1"), 1, "second lock on the same volume would block");
	is_int(child_trylock("db2"), 0, "another volume is independent");

	/* A waiter blocked on the lock while the holder removes the file must
	 * retake it on the new file, not keep an orphan. */
	pid = fork();
	if (pid == 0) {
		struct stat a, b;
		int cfd = -EBADF;

		/* The inherited fd shares the parent's lock: drop it. */
		close(fd);
		r = lock_volume_at(tmp_fd, "db1", true, &cfd);
		if (r < 0 || fstat(cfd, &a) < 0 || fstatat(tmp_fd, "db1.lock", &b, AT_SYMLINK_NOFOLLOW) < 0)
			_exit(2);
		_exit(a.st_ino == b.st_ino && a.st_nlink > 0 ? 0 : 3);
	}
	/* Give the child time to block in flock(); if it has not yet, it takes
	 * the fresh file directly, which the test accepts as well. */
	nanosleep(&ts, NULL);
	fd = unlock_volume_at(tmp_fd, "db1", fd, true);
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "blocked waiter gets the lock on the fresh file");
	is_int(fd, -EBADF, "unlock returns -EBADF");
	is_int(child_trylock("db1"), 0, "lock free again after the waiter exited");

	is_int(lock_volume_at(tmp_fd, "a/b", true, &fd), -EINVAL, "volume with / refused");
	fixture(symlinkat("victim", tmp_fd, "sym.lock"));
	is_int(lock_volume_at(tmp_fd, "sym", true, &fd), -ELOOP, "symlinked lock file refused");
}

int main(void)
{
	log_setup("test-fileio");
	log_set_target(LOG_TARGET_CONSOLE);
	umask(077);
	if (!mkdtemp(tmp) || (tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		printf("Bail out! mkdtemp: %m\n");
		return 1;
	}
	test_filename();
	test_atomic_write();
	test_atomic_write_errors();
	test_atomic_write_symlink();
	test_read();
	test_read_fd();
	test_remove();
	test_mkdir();
	test_lock();

	close(tmp_fd);
	if (!getenv("NVMF_RAID_TEST_KEEP"))
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
