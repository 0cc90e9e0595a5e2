/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The volume session (lib/session.h): open, lock and close; a missing
 * file; a bad file's problems kept for the caller and logged only when it
 * asks; the descriptor and the record; the exit statuses; the names of a
 * volume's files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../helpers/shared/descriptor.h"
#include "../../helpers/shared/descriptor-internal.h"
#include "../../helpers/shared/exit-status.h"
#include "../../helpers/basic/fileio.h"
#include "../../helpers/basic/log.h"
#include "../../helpers/shared/session.h"
#include "../../helpers/shared/state-record.h"
#include "tap.h"

static char top[] = "/tmp/nvmf-raid-test-session.XXXXXX";
static char etc[PATH_MAX], run[PATH_MAX], runtime[PATH_MAX], state[PATH_MAX];

static const char good[] = "[volume]\n"
			   "min-replicas = 1\n"
			   "[replica.a]\n"
			   "nqn = nqn.2014-08.org.example:sub-a\n"
			   "uuid = 11111111-2222-4333-8444-555555555555\n"
			   "portals = tcp://192.0.2.10:4420\n"
			   "[replica.b]\n"
			   "nqn = nqn.2014-08.org.example:sub-b\n"
			   "uuid = 11111111-2222-4333-8444-666666666666\n"
			   "portals = tcp://192.0.2.11:4420\n";

/* Two problems: a key no volume file has, a portal that is no portal. */
static const char bad[] = "[volume]\n"
			  "colour = blue\n"
			  "[replica.a]\n"
			  "nqn = nqn.2014-08.org.example:sub-a\n"
			  "uuid = 11111111-2222-4333-8444-555555555555\n"
			  "portals = smoke://192.0.2.10\n";

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void drop(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* In a child: 0 if it could take volume @name's lock without waiting, 1
 * if that would block, 2 otherwise. */
static int child_trylock(const char *name)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int dfd = open(runtime, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -EBADF, r;

		r = dfd < 0 ? -errno : lock_volume_at(dfd, name, false, &fd);
		_exit(r == 0 ? 0 : r == -EWOULDBLOCK ? 1 : 2);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_file_names(void)
{
	char buf[NAME_MAX + 1], longname[300];

	is_int(vs_file_name(VS_FILE_DESCRIPTOR, "db1", buf), 0, "descriptor name");
	is_str(buf, "db1.json", "  ... db1.json");
	vs_file_name(VS_FILE_LOCK, "db1", buf);
	is_str(buf, "db1.lock", "lock: db1.lock");
	vs_file_name(VS_FILE_ACCEPT_STALE, "db1", buf);
	is_str(buf, "db1.accept-stale", "override: db1.accept-stale");
	vs_file_name(VS_FILE_REBUILD_ENTRY, "db1", buf);
	is_str(buf, "db1", "rebuild queue entry: db1");
	vs_file_name(VS_FILE_RECORD, "db1", buf);
	is_str(buf, "db1.json", "record: db1.json");
	vs_file_name(VS_FILE_CONF, "db1", buf);
	is_str(buf, "db1.conf", "volume file: db1.conf");
	vs_file_name(VS_FILE_OSBRICK_LOCK, "db1", buf);
	is_str(buf, ".db1.lock", "os-brick's lock: .db1.lock, hidden");
	is_int(vs_file_name(VS_FILE_LOCK, "", buf), -EINVAL, "empty name refused");
	is_int(vs_file_name(VS_FILE_LOCK, "a/b", buf), -EINVAL, "name with / refused");
	is_int(vs_file_name(VS_FILE_REBUILD_ENTRY, "..", buf), -EINVAL, "\"..\" refused");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	is_int(vs_file_name(VS_FILE_DESCRIPTOR, longname, buf), -EINVAL, "too long refused");
	is_int(vs_file_name((enum vs_file)99, "db1", buf), -EINVAL, "unknown kind refused");
	/* The modules that keep the files take their names from here. */
	desc_file_name("db1", buf);
	is_str(buf, "db1.json", "desc_file_name() is the session's");
}

static void test_missing(void)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	struct capture c;
	char out[4096];
	int r;

	capture_begin(&c, STDERR_FILENO);
	r = vs_open("nothere", VS_FILE | VS_LOCK | VS_CREATE, &s);
	capture_end(&c, out, sizeof(out));
	is_int(r, -ENOENT, "missing volume file: -ENOENT");
	ok(s && s->failed == VS_STEP_FIND, "  ... at the find step");
	is_str(out, "", "  ... not logged: the caller words it");
	is_int(vs_exit_status(s, r), EXIT_USAGE, "  ... exit status 2");
	ok(s && s->lock_fd < 0 && !exists(runtime, "nothere.lock"), "  ... and no lock taken");
}

static void test_bad_file(void)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	struct capture c;
	char out[8192];
	int r;

	put(etc, "bad.conf", bad);
	capture_begin(&c, STDERR_FILENO);
	r = vs_open("bad", VS_FILE, &s);
	capture_end(&c, out, sizeof(out));
	is_int(r, -EINVAL, "invalid volume file: -EINVAL");
	ok(s && s->failed == VS_STEP_LOAD && !s->vol, "  ... at the load step, no volume");
	is_str(out, "", "  ... nothing logged behind the caller's back");
	is_int(s ? s->problems.n : 0, 2, "  ... both problems kept");
	ok(s && s->problems.n == 2 && strstr(s->problems.list[0].message, "bad.conf:2 [volume] colour") &&
		   strstr(s->problems.list[1].message, "bad.conf:6 [replica.a] portals"),
	   "  ... each naming the file, line, section and key, in file order");
	is_int(vs_exit_status(s, r), EXIT_USAGE, "  ... exit status 2");
	capture_begin(&c, STDERR_FILENO);
	if (s)
		vs_log_problems(s);
	capture_end(&c, out, sizeof(out));
	ok(strstr(out, "bad: ") && strstr(out, "colour") && strstr(out, "portals"),
	   "vs_log_problems() logs them as vol_load() would");

	/* A symlink is refused unread; that problem is kept too. */
	vs_close(TAKE_PTR(s));
	drop(etc, "bad.conf");
	snprintf(out, sizeof(out), "%s/link.conf", etc);
	if (symlink("/dev/null", out) < 0)
		abort();
	r = vs_open("link", VS_FILE, &s);
	is_int(r, -ELOOP, "symlinked volume file: -ELOOP");
	ok(s && s->problems.n == 1, "  ... its problem kept");
	is_int(vs_exit_status(s, r), EXIT_USAGE, "  ... exit status 2");
	drop(etc, "link.conf");
}

static void test_open_lock_close(void)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	struct state_record rec = { .volume = "db1", .md_uuid = "a:b:c:d", .events = 3 };
	int r;

	put(run, "db1.conf", good);
	/* Without the runtime directory, and not asked to create it. */
	r = vs_open("db1", VS_FILE | VS_LOCK, &s);
	ok(r == -ENOENT && s && s->failed == VS_STEP_LOCK && s->run_fd < 0,
	   "no runtime directory, no VS_CREATE: -ENOENT at the lock step");
	is_int(vs_exit_status(s, r), EXIT_FAILED, "  ... exit status 1");
	ok(s && vs_lock(s, true) == 0 && s->failed == VS_STEP_NONE && s->lock_fd >= 0,
	   "  ... a later step that succeeds clears the failed one");
	vs_close(TAKE_PTR(s));

	r = vs_open("db1", VS_FILE | VS_CROSS | VS_LOCK | VS_CREATE, &s);
	is_int(r, 0, "open, load and lock");
	ok(s && s->vol && s->vol->n_replicas == 2 && s->problems.n == 0,
	   "  ... the file loaded, no problems");
	ok(s && s->path && strstr(s->path, "/run/db1.conf"), "  ... the file's path kept");
	ok(exists(runtime, "db1.lock"), "  ... the lock file made");
	is_int(child_trylock("db1"), 1, "  ... held: another process would wait");
	is_int(child_trylock("db2"), 0, "  ... another volume's is free");
	if (!s)
		return;

	is_int(vs_read_desc(s), -ENOENT, "no descriptor: -ENOENT");
	is_int(s->failed, VS_STEP_DESC, "  ... at the descriptor step");
	is_int(vs_new_desc(s), 0, "descriptor from the file");
	ok(s->desc && s->desc->n_replicas == 2 && s->desc->replicas[0].state == STATE_ABSENT,
	   "  ... every replica absent");
	is_int(desc_write(s->desc), 0, "  ... written");
	ok(exists(runtime, "db1.json"), "  ... as db1.json in the runtime directory");
	is_int(vs_read_desc(s), 0, "read back");

	is_int(vs_read_record(s), -ENOENT, "no record: -ENOENT");
	ok(!s->have_record, "  ... none held");
	state_record_add(&rec, "a", "nqn.2014-08.org.example:sub-a", &s->vol->replicas[0].ns);
	is_int(state_record_write(&rec), 1, "record written");
	is_int(vs_read_record(s), 0, "record read");
	ok(s->have_record && s->record.n_in_sync == 1 && s->record.events == 3,
	   "  ... held in the session");
	ok(exists(state, "db1.json"), "  ... as db1.json in the state directory");

	vs_close(TAKE_PTR(s));
	is_int(child_trylock("db1"), 0, "closed: the lock is free");
	ok(exists(runtime, "db1.lock"), "  ... its file stays (vs_close())");

	r = vs_open("db1", VS_LOCK | VS_DESC, &s);
	ok(r == 0 && s && s->desc && !s->vol, "lock and descriptor only: no file read");
	ok(s && vs_load(s, false) == 0 && s->vol && s->failed == VS_STEP_NONE,
	   "the file loaded afterwards (status's order)");
	if (s)
		vs_unlock(s, true);
	ok(!exists(runtime, "db1.lock"), "vs_unlock(remove): the lock file goes");
	is_int(child_trylock("db1"), 0, "  ... and the lock is free");
	desc_remove("db1");
	state_record_remove("db1");
	drop(run, "db1.conf");
}

static void test_exit_status(void)
{
	struct vs_session s = { .failed = VS_STEP_NONE };

	is_int(vs_exit_status(NULL, 0), EXIT_OK, "0: exit 0");
	is_int(vs_exit_status(NULL, -EIO), EXIT_FAILED, "an error without a session: exit 1");
	is_int(vs_exit_status(NULL, -ENOPKG), EXIT_MISSING, "-ENOPKG (mdadm missing): exit 3");
	s.failed = VS_STEP_FIND;
	is_int(vs_exit_status(&s, -EACCES), EXIT_FAILED, "directory not searchable: exit 1");
	s.failed = VS_STEP_LOAD;
	is_int(vs_exit_status(&s, -EFBIG), EXIT_USAGE, "file too large: exit 2");
	is_int(vs_exit_status(&s, -EACCES), EXIT_FAILED, "file unreadable: exit 1");
	s.failed = VS_STEP_CROSS;
	is_int(vs_exit_status(&s, -EINVAL), EXIT_USAGE, "namespace shared with another file: exit 2");
	s.failed = VS_STEP_DESC;
	is_int(vs_exit_status(&s, -EINVAL), EXIT_FAILED, "bad descriptor: exit 1");
	is_int(vs_exit_status(&s, -ENOENT), EXIT_FAILED, "not attached: exit 1");
}

static void test_invalid_name(void)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	int r = vs_open("../etc", VS_FILE | VS_LOCK | VS_CREATE, &s);

	ok(r == -EINVAL && s && s->failed == VS_STEP_FIND, "invalid name: -EINVAL, nothing done");
	is_int(vs_exit_status(s, r), EXIT_USAGE, "  ... exit status 2");
}

int main(void)
{
	if (!mkdtemp(top))
		abort();
	snprintf(etc, sizeof(etc), "%s/etc", top);
	snprintf(run, sizeof(run), "%s/run", top);
	snprintf(runtime, sizeof(runtime), "%s/runtime", top);
	snprintf(state, sizeof(state), "%s/state", top);
	if (mkdir(etc, 0755) < 0 || mkdir(run, 0755) < 0)
		abort();
	setenv(VOL_ETC_DIR_ENV, etc, 1);
	setenv(VOL_RUN_DIR_ENV, run, 1);
	setenv(DESC_RUNTIME_DIR_ENV, runtime, 1);
	setenv("NVMF_RAID_STATE_DIR", state, 1);
	log_set_target(LOG_TARGET_CONSOLE);
	log_set_max_level(LOG_INFO);

	test_file_names();
	test_missing();
	test_bad_file();
	test_invalid_name();
	test_open_lock_close();
	test_exit_status();

	rmdir(runtime);
	rmdir(state);
	rmdir(etc);
	rmdir(run);
	rmdir(top);
	return tap_done();
}
