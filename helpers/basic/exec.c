/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"
#include "macro.h"

#define EXEC_OUTPUT_MAX (1024 * 1024)

extern char **environ;

static struct {
	void (*fn)(void *userdata);
	void *userdata;
	int interval_ms;
	bool running; /* fn is running: an exec_run() of its own does not call it again */
} hook;

void exec_set_wait_hook(void (*fn)(void *userdata), void *userdata, unsigned interval_ms)
{
	hook.fn = fn;
	hook.userdata = userdata;
	hook.interval_ms = fn ? (int)interval_ms : -1;
}

/* poll() for an exec_run() wait: with a hook, at most its interval at a
 * time, and the hook called whenever that passes without an event. */
static int wait_poll(struct pollfd *p, nfds_t n)
{
	bool call = hook.fn && !hook.running;
	int k = poll(p, n, call ? hook.interval_ms : -1);

	if (k == 0 && call) {
		hook.running = true;
		hook.fn(hook.userdata);
		hook.running = false;
	}
	return k;
}

int exec_find(const char *name, char **ret_path)
{
	const char *list = getenv("NVMF_RAID_TOOL_PATH");
	_cleanup_free_ char *dirs = NULL;
	char *save = NULL;

	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	dirs = strdup(list && *list ? list : "/usr/sbin:/usr/bin:/sbin:/bin");
	if (!dirs)
		return -ENOMEM;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (asprintf(&p, "%s/%s", d, name) < 0)
			return -ENOMEM;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
			*ret_path = TAKE_PTR(p);
			return 0;
		}
	}
	return -ENOENT;
}

struct sink {
	int fd;
	char *buf;
	size_t len;
};

/* Reads what is available; returns 0 at EOF, 1 if more may come. */
static int sink_read(struct sink *s)
{
	char tmp[4096];
	ssize_t n = read(s->fd, tmp, sizeof(tmp));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (s->len < EXEC_OUTPUT_MAX) {
		size_t keep = (size_t)n;
		char *b;

		if (keep > EXEC_OUTPUT_MAX - s->len)
			keep = EXEC_OUTPUT_MAX - s->len;
		b = realloc(s->buf, s->len + keep + 1);
		if (!b)
			return -ENOMEM;
		memcpy(b + s->len, tmp, keep);
		s->len += keep;
		b[s->len] = 0;
		s->buf = b;
	}
	return 1;
}

/* Reads the pipes until both are at end of file.  Only a pipe that poll()
 * says is ready: a read on the other would block until the program writes
 * to it or ends, and the wait hook with it. */
static int drain(struct sink *sinks, size_t n)
{
	for (;;) {
		struct pollfd p[2];
		size_t of[2], k = 0;
		int ready;

		for (size_t i = 0; i < n; i++)
			if (sinks[i].fd >= 0) {
				of[k] = i;
				p[k++] = (struct pollfd){ .fd = sinks[i].fd, .events = POLLIN };
			}
		if (k == 0)
			return 0;
		ready = wait_poll(p, k);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (size_t j = 0; ready > 0 && j < k; j++) {
			struct sink *s = &sinks[of[j]];
			int r;

			if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = sink_read(s);
			if (r < 0)
				return r;
			if (r == 0)
				s->fd = safe_close(s->fd);
		}
	}
}

/* Closes every descriptor that holds a flock(): the kernel lists a file's
 * locks in each of its descriptors' /proc/self/fdinfo (show_fd_locks()),
 * "lock:\t1: FLOCK ...". */
static void close_flocks(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[64], buf[4096];
		int fd = atoi(de->d_name), info;
		ssize_t n;

		if (fd <= STDERR_FILENO || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		info = open(path, O_RDONLY | O_CLOEXEC);
		if (info < 0)
			continue;
		n = read(info, buf, sizeof(buf) - 1);
		close(info);
		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, " FLOCK "))
				close(fd);
		}
	}
}

pid_t exec_fork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		close_flocks();
	return pid;
}

int exec_run(char *const argv[], char **ret_out, char **ret_err)
{
	int pout[2] = { -EBADF, -EBADF }, perr[2] = { -EBADF, -EBADF };
	struct sink sinks[2] = { { .fd = -EBADF }, { .fd = -EBADF } };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, status;

	if (!argv || !argv[0] || argv[0][0] != '/')
		return -EINVAL;
	if ((ret_out && pipe2(pout, O_CLOEXEC) < 0) || (ret_err && pipe2(perr, O_CLOEXEC) < 0)) {
		r = -errno;
		goto out_close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (ret_out)
		posix_spawn_file_actions_adddup2(&fa, pout[1], STDOUT_FILENO);
	if (ret_err)
		posix_spawn_file_actions_adddup2(&fa, perr[1], STDERR_FILENO);
	r = -posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r < 0)
		goto out_close;

	pout[1] = safe_close(pout[1]);
	perr[1] = safe_close(perr[1]);
	sinks[0].fd = TAKE_FD(pout[0]);
	sinks[1].fd = TAKE_FD(perr[0]);
	r = drain(sinks, 2);

	/* A program may close its output long before it ends (or have none
	 * to close): with a hook, wait on a pidfd so the hook keeps running. */
	if (hook.fn && !hook.running) {
		_cleanup_close_ int pfd = pidfd_open(pid, 0);

		for (int k = 0; pfd >= 0 && k <= 0;) {
			k = wait_poll(&(struct pollfd){ .fd = pfd, .events = POLLIN }, 1);
			if (k < 0 && errno != EINTR)
				break; /* waitpid() below waits all the same */
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = -errno;
			goto out_close;
		}
	if (r < 0)
		goto out_close;
	r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	for (size_t i = 0; i < 2; i++)
		if (!sinks[i].buf && !(sinks[i].buf = strdup(""))) {
			r = -ENOMEM;
			goto out_close;
		}
	if (ret_out)
		*ret_out = TAKE_PTR(sinks[0].buf);
	if (ret_err)
		*ret_err = TAKE_PTR(sinks[1].buf);
	log_debug("%s exited with status %d", argv[0], r);
out_close:
	for (size_t i = 0; i < 2; i++) {
		safe_close(sinks[i].fd);
		free(sinks[i].buf);
	}
	safe_close(pout[0]);
	safe_close(pout[1]);
	safe_close(perr[0]);
	safe_close(perr[1]);
	return r;
}
