/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "macro.h"
#include "tap.h"

static char *sh_path;
static unsigned calls, depth, max_depth;

/* Counts its calls, and runs a program itself: that run must not call it
 * again. */
static void hook(void *userdata)
{
	calls++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	(void)exec_run((char *[]){ sh_path, (char *)"-c", (char *)"sleep 0.3", NULL }, NULL, NULL);
	depth--;
	*(int *)userdata = 1;
}

int main(void)
{
	_cleanup_free_ char *sh = NULL, *out = NULL, *err = NULL, *missing = NULL;
	int r;

	is_int(exec_find("sh", &sh), 0, "finds sh in the system directories");
	ok(sh && sh[0] == '/', "absolute path: %s", sh ? sh : "");
	is_int(exec_find("no-such-tool-nvmf-raid", &missing), -ENOENT, "missing tool: -ENOENT");
	is_int(exec_find("../sh", &missing), -EINVAL, "a path is not a tool name");

	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"echo out; echo err >&2; exit 3", NULL },
		     &out, &err);
	is_int(r, 3, "exit status returned");
	is_str(out, "out\n", "stdout captured");
	is_str(err, "err\n", "stderr captured");

	free(out);
	out = NULL;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"yes | head -c 3000000", NULL }, &out, NULL);
	is_int(r, 0, "large output drained");
	is_int(strlen(out), 1024 * 1024, "kept output bounded to 1 MiB");

	free(out);
	out = NULL;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"kill -9 $$", NULL }, &out, NULL);
	is_int(r, 128 + 9, "killed by a signal: 128+N");

	is_int(exec_run((char *[]){ (char *)"sh", NULL }, NULL, NULL), -EINVAL, "relative argv[0] refused");

	/* The wait hook: called while a program runs, with and without
	 * output pipes to drain, and never while one of its own runs. */
	int seen = 0;

	sh_path = sh;
	exec_set_wait_hook(hook, &seen, 50);
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"sleep 0.5", NULL }, NULL, NULL);
	is_int(r, 0, "hooked run, no pipes: exit status");
	ok(calls >= 1 && seen, "hook called while waiting without pipes (%u calls)", calls);
	is_int(max_depth, 1, "a run inside the hook does not call it again");
	calls = 0;
	free(out);
	free(err);
	out = err = NULL;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"sleep 0.5; echo done", NULL }, &out, &err);
	is_int(r, 0, "hooked run with pipes: exit status");
	is_str(out, "done\n", "hooked run with pipes: output kept");
	ok(calls >= 1, "hook called while draining (%u calls)", calls);
	/* Output on stdout only, for a while: the hook must go on being
	 * called, not wait in a read of the silent stderr. */
	calls = 0;
	free(out);
	free(err);
	out = err = NULL;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"echo early; sleep 0.6", NULL }, &out, &err);
	is_int(r, 0, "one pipe written, the other silent: exit status");
	is_str(out, "early\n", "one pipe written: output kept");
	ok(calls >= 1, "hook called after output on one pipe (%u calls)", calls);
	exec_set_wait_hook(NULL, NULL, 0);
	calls = 0;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"sleep 0.2", NULL }, NULL, NULL);
	is_int(calls, 0, "no hook: not called");

	/* exec_fork(): a flock() the parent lets go of is free at once,
	 * while the child still runs; the child keeps its other
	 * descriptors (the pipe it tells the parent through). */
	{
		char lock[] = "/tmp/test-exec-lock.XXXXXX", c = 0;
		int fd = mkstemp(lock), again = -1, status = -1, pipefd[2] = { -1, -1 };
		pid_t pid;

		ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "parent holds a lock");
		ok(pipe2(pipefd, O_CLOEXEC) == 0, "a pipe");
		pid = exec_fork();
		if (pid == 0) {
			bool lock_closed = fcntl(fd, F_GETFD) < 0 && errno == EBADF;
			bool pipe_kept = write(pipefd[1], "x", 1) == 1;

			usleep(300 * 1000); /* alive while the parent looks */
			_exit(lock_closed && pipe_kept ? 0 : 1);
		}
		ok(pid > 0, "exec_fork() forked");
		close(pipefd[1]);
		ok(read(pipefd[0], &c, 1) == 1 && c == 'x',
		   "the child kept a descriptor that holds no lock");
		close(fd);
		again = open(lock, O_RDONLY | O_CLOEXEC);
		ok(again >= 0 && flock(again, LOCK_EX | LOCK_NB) == 0,
		   "the lock is free once the parent closes it, the child alive");
		ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "the child had closed its descriptor of the lock");
		close(pipefd[0]);
		if (again >= 0)
			close(again);
		unlink(lock);
	}

	setenv("NVMF_RAID_TOOL_PATH", "/nonexistent", 1);
	is_int(exec_find("sh", &missing), -ENOENT, "NVMF_RAID_TOOL_PATH overrides the search list");
	return tap_done();
}
