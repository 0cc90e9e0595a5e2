/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * host.conf ([rebuild] max-concurrent, rate) and the host-wide rebuild
 * queue: slots taken and given back, FIFO order, places as status shows
 * them, inotify wake-ups, and what a dead process leaves behind (nothing
 * that counts).  Several places in one process act as several monitors:
 * flock() locks belong to open files, not to processes.  Children that
 * die holding a slot or a queue entry are real processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "descriptor.h"
#include "exit-status.h"
#include "hostconf.h"
#include "log.h"
#include "rebuild.h"
#include "volume.h"
#include "verbs.h"
#include "tap.h"
#include "check-tap.h"

static char dir[] = "/tmp/nvmf-raid-test-rebuild.XXXXXX";
static char run_dir[200], etc_dir[200], conf[256];

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* hostconf_load() of @text as host.conf; messages into errs. */
static int load(const char *text, struct hostconf *c)
{
	struct capture e;
	int r;

	if (text)
		write_file(conf, text);
	else
		unlink(conf);
	capture_begin(&e, STDERR_FILENO);
	r = hostconf_load(NULL, 0, c);
	capture_end(&e, errs, sizeof(errs));
	return r;
}

static void refused(const char *text, const char *needle, const char *name)
{
	struct hostconf c;
	int r = load(text, &c);

	if (!ok(r == -EINVAL && strstr(errs, needle), "%s", name))
		printf("#   r=%d, errors:\n%s#   want: %s\n", r, errs, needle);
	ok(c.rebuild_max_concurrent == HOSTCONF_MAX_CONCURRENT_DEFAULT && c.rebuild_rate == 0,
	   "  ... and the defaults stand");
}

static void test_hostconf(void)
{
	struct hostconf c;
	char *want;

	is_int(load(NULL, &c), 0, "no host.conf: 0");
	ok(c.rebuild_max_concurrent == 2 && c.rebuild_rate == 0,
	   "  ... defaults: max-concurrent 2, md's rate");
	is_int(load("", &c), 1, "empty host.conf: read");
	is_int(c.rebuild_max_concurrent, 2, "  ... defaults");
	is_int(load("[rebuild]\nmax-concurrent = 3\nrate = 5000\n", &c), 1, "both keys");
	ok(c.rebuild_max_concurrent == 3 && c.rebuild_rate == 5000, "  ... read");
	is_int(load("# comment\n[Rebuild]\nRate =   ; md's own\nMAX-CONCURRENT=0\n", &c), 1,
	       "names in any case, empty rate, max-concurrent 0");
	ok(c.rebuild_max_concurrent == 0 && c.rebuild_rate == 0, "  ... 0 is no limit, empty rate 0");
	is_int(load("[rebuild]\nmax-concurrent = 256\nrate = 100000000\n", &c), 1, "the maxima");

	want = xasprintf("host.conf: %s:2 [rebuild] speed: unknown key (expected max-concurrent, rate)",
			 conf);
	refused("[rebuild]\nspeed = 1\n", want, "unknown key: file, line, section, key");
	free(want);
	want = xasprintf("%s:3 [limits]: unknown section (expected [rebuild], [metrics])", conf);
	refused("\n\n[limits]\nx = 1\n", want, "unknown section");
	free(want);
	refused("[rebuild]\nmax-concurrent = 257\n",
		"[rebuild] max-concurrent: 257 is out of range (0..256)", "max-concurrent too high");
	{
		struct capture e;
		int r;

		write_file(conf, "[rebuild]\nmax-concurrent = 257\nspeed = 1\n");
		capture_begin(&e, STDERR_FILENO);
		r = hostconf_load(NULL, VOL_LOAD_QUIET, &c);
		capture_end(&e, errs, sizeof(errs));
		ok(r == -EINVAL && errs[0] == 0, "VOL_LOAD_QUIET: refused, nothing logged");
		if (errs[0])
			printf("#   logged: %s\n", errs);
	}
	refused("[rebuild]\nmax-concurrent = -1\n", "[rebuild] max-concurrent: -1 is out of range",
		"max-concurrent negative");
	refused("[rebuild]\nmax-concurrent =\n", "[rebuild] max-concurrent: empty value",
		"max-concurrent empty");
	refused("[rebuild]\nrate = 10M\n",
		"[rebuild] rate: '10M' is not a decimal number (0..100000000)", "rate with a unit");
	refused("[rebuild]\nrate = 100000001\n", "[rebuild] rate: 100000001 is out of range",
		"rate too high");
	refused("[rebuild]\nrate = 1\nrate = 2\n", ":3 [rebuild] rate: duplicate key (first at line 2)",
		"duplicate key");
	refused("rate = 1\n", ":1: key outside any section", "key outside a section");
	refused("[rebuild]\nrate = 1;2\n", "[rebuild] rate: ';' inside the value", "';' in a value");

	/* [metrics] */
	is_int(load(NULL, &c), 0, "no host.conf");
	ok(streq(c.metrics_path, "/var/lib/prometheus/node-exporter/nvmf-raid.prom") &&
		   c.metrics_interval == 15,
	   "  ... metrics: node_exporter's textfile directory, every 15 s");
	is_int(load("[metrics]\npath = /srv/prom/nvmf.prom\ninterval = 60\n", &c), 1,
	       "[metrics] path, interval");
	ok(streq(c.metrics_path, "/srv/prom/nvmf.prom") && c.metrics_interval == 60, "  ... read");
	is_int(load("[metrics]\npath =\n", &c), 1, "empty path");
	ok(c.metrics_path[0] == 0, "  ... no metrics file");
	refused("[metrics]\npath = nvmf.prom\n", "[metrics] path: 'nvmf.prom' is not an absolute path",
		"relative metrics path");
	refused("[metrics]\npath = /srv/prom/nvmf.txt\n",
		"is not an absolute path of a file ending in .prom",
		"not .prom: node_exporter would not read it");
	refused("[metrics]\npath = /srv/../etc/x.prom\n", "is not an absolute path", "'..' in the path");
	refused("[metrics]\npath = /srv/prom/\n", "is not an absolute path", "a directory");
	refused("[metrics]\ninterval = 0\n", "[metrics] interval: 0 is out of range (1..3600)",
		"interval 0");
	refused("[metrics]\nport = 9100\n", "[metrics] port: unknown key (expected path, interval)",
		"unknown metrics key");

	{
		char *path = xasprintf("%s/conf/host.conf", getenv("NVMF_RAID_SRCDIR") ?: "../..");
		struct capture e;
		int r;

		capture_begin(&e, STDERR_FILENO);
		r = hostconf_load(path, 0, &c);
		capture_end(&e, errs, sizeof(errs));
		is_int(r, 1, "conf/host.conf loads");
		ok(c.rebuild_max_concurrent == HOSTCONF_MAX_CONCURRENT_DEFAULT && c.rebuild_rate == 0,
		   "  ... and shows the defaults");
		free(path);
	}
	unlink(conf);
	if (symlink("/dev/null", conf) < 0)
		abort();
	{
		struct capture e;
		int r;

		capture_begin(&e, STDERR_FILENO);
		r = hostconf_load(NULL, 0, &c);
		capture_end(&e, errs, sizeof(errs));
		is_int(r, -ELOOP, "host.conf a symlink: refused");
		ok(strstr(errs, "is a symbolic link"), "  ... saying so");
	}
	unlink(conf);
}

static void test_check(void)
{
	char *want, *other = xasprintf("%s/other.conf", dir), *arg;

	unlink(conf);
	is_int(run_check(NULL), EXIT_OK, "check without host.conf: 0");
	is_str(out, "", "  ... nothing to say about it");
	write_file(conf, "[rebuild]\nmax-concurrent = 4\nrate = 20000\n");
	is_int(run_check(NULL), EXIT_OK, "check: host.conf valid");
	want = xasprintf("host.conf: %s: ok (max-concurrent 4, rate 20000 KiB/s)\n", conf);
	is_str(out, want, "  ... reported with its settings");
	free(want);
	is_int(run_check(conf, NULL), EXIT_OK, "check of host.conf by its path");
	ok(strstr(out, "host.conf: ") && !strstr(errs, "VOLUME.conf"), "  ... read as host.conf");
	arg = xasprintf("%s/../host.conf", etc_dir);
	is_int(run_check(arg, NULL), EXIT_OK, "  ... also by another spelling of it");
	free(arg);
	write_file(conf, "[rebuild]\nmax-concurrent = many\n");
	is_int(run_check(NULL), EXIT_USAGE, "check: host.conf invalid: 2");
	ok(strstr(errs, "[rebuild] max-concurrent: 'many' is not a decimal number"),
	   "  ... naming the key");
	write_file(other, "[rebuild]\nrate = 0\n");
	is_int(run_check("--host-conf", other, NULL), EXIT_OK, "check --host-conf FILE");
	want = xasprintf("host.conf: %s: ok (max-concurrent 2, rate md's default)\n", other);
	is_str(out, want, "  ... that file, not the installed one");
	free(want);
	unlink(other);
	is_int(run_check("--host-conf", other, NULL), EXIT_USAGE, "check --host-conf of no file: 2");
	unlink(conf);
	free(other);
}

static void test_volume_rate(void)
{
	struct vol_volume *v = NULL;
	char *path = xasprintf("%s/r.conf", etc_dir);
	struct capture e;

	write_file(path, "[volume]\nrebuild-rate = 7000\n[replica.a]\nnqn = nqn.2014-08.org.example:a\n"
			 "uuid = 96e25fb4-9f91-4c88-ab59-275fd354777e\nportals = tcp://127.0.0.1:4420\n");
	capture_begin(&e, STDERR_FILENO);
	is_int(vol_load(path, &v), 0, "volume file with rebuild-rate");
	capture_end(&e, errs, sizeof(errs));
	is_int(v ? v->rebuild_rate : -2, 7000, "  ... read");
	vol_free(v);
	v = NULL;
	write_file(path, "[volume]\n[replica.a]\nnqn = nqn.2014-08.org.example:a\n"
			 "uuid = 96e25fb4-9f91-4c88-ab59-275fd354777e\nportals = tcp://127.0.0.1:4420\n");
	is_int(vol_load(path, &v), 0, "volume file without rebuild-rate");
	is_int(v ? v->rebuild_rate : -2, -1, "  ... -1: host.conf's rate");
	vol_free(v);
	v = NULL;
	write_file(path, "[volume]\nrebuild-rate = x\n[replica.a]\nnqn = nqn.2014-08.org.example:a\n");
	capture_begin(&e, STDERR_FILENO);
	is_int(vol_load_flags(path, VOL_LOAD_QUIET, &v), -EINVAL,
	       "VOL_LOAD_QUIET: a bad volume file refused");
	capture_end(&e, errs, sizeof(errs));
	ok(errs[0] == 0, "  ... and nothing logged");
	capture_begin(&e, STDERR_FILENO);
	is_int(vol_load(path, &v), -EINVAL, "vol_load(): the same file refused");
	capture_end(&e, errs, sizeof(errs));
	ok(strstr(errs, "rebuild-rate") != NULL, "  ... with its problems logged");
	unlink(path);
	free(path);
}

/* ---- the queue ---------------------------------------------------------- */

static struct rebuild *place(const char *volume)
{
	struct rebuild *rb = NULL;

	if (rebuild_new(volume, &rb) < 0)
		abort();
	return rb;
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void is_position(const char *volume, unsigned want_pos, unsigned want_len, const char *name)
{
	unsigned pos = 0, len = 0;
	int r = rebuild_queue_position(volume, &pos, &len);

	if (!ok(r == 1 && pos == want_pos && len == want_len, "%s", name))
		printf("#   r=%d, position %u of %u, want %u of %u\n", r, pos, len, want_pos, want_len);
}

static char *slot_text(unsigned k)
{
	char *path = xasprintf("%s/rebuild/slots/%u", run_dir, k), buf[128] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	free(path);
	buf[n > 0 ? n : 0] = 0;
	return xasprintf("%s", buf);
}

static void test_fifo(void)
{
	struct rebuild *a = place("a"), *b = place("b"), *c = place("c"), *d = place("d");
	unsigned pos, len, slot = 99;
	char *s;

	ok(rebuild_new("../x", &(struct rebuild *){ NULL }) == -EINVAL, "an invalid volume name refused");
	is_int(rebuild_queue_position("a", &pos, &len), 0, "no queue yet: nobody waits");
	is_int(rebuild_request(a, 2), 1, "a: first slot of 2");
	ok(rebuild_holds_slot(a, &slot) && slot == 0, "  ... slot 0");
	s = slot_text(0);
	is_str(s, "a\n", "  ... the slot file names a");
	free(s);
	is_int(rebuild_fd(a), -EBADF, "  ... and a does not wait");
	is_int(rebuild_request(a, 2), 1, "a asks again: still its slot");
	is_int(rebuild_request(b, 2), 1, "b: second slot");
	is_int(rebuild_request(c, 2), 0, "c: both taken, queued");
	is_position("c", 1, 1, "  ... position 1 of 1");
	ok(!rebuild_holds_slot(c, NULL), "  ... holds no slot");
	is_int(rebuild_request(d, 2), 0, "d: queued");
	is_position("d", 2, 2, "  ... position 2 of 2");
	is_position("c", 1, 2, "c still first");
	is_int(rebuild_queue_position("a", &pos, &len), 0, "a does not wait");
	is_int(rebuild_request(c, 2), 0, "c asks again: still queued");
	is_position("c", 1, 2, "  ... its place kept");
	ok(rebuild_fd(c) >= 0 && !readable(rebuild_fd(c), 0), "c waits on an fd, nothing to read yet");
	rebuild_drain(c);
	rebuild_drain(d);

	rebuild_release(a);
	ok(readable(rebuild_fd(c), 2000), "a gives its slot back: c wakes (inotify)");
	ok(readable(rebuild_fd(d), 2000), "  ... so does d");
	rebuild_drain(c);
	rebuild_drain(d);
	is_int(rebuild_request(d, 2), 0, "d asks first: one slot free, c is before it: d waits");
	is_int(rebuild_request(c, 2), 1, "c takes the free slot");
	ok(rebuild_holds_slot(c, &slot) && slot == 0, "  ... slot 0 again");
	is_int(rebuild_fd(c), -EBADF, "  ... and no longer waits");
	ok(readable(rebuild_fd(d), 2000), "c left the queue: d wakes");
	rebuild_drain(d);
	is_position("d", 1, 1, "d moves up: position 1 of 1");
	is_int(rebuild_request(d, 2), 0, "  ... no slot free yet");
	ok(!readable(rebuild_fd(d), 0), "looking at the queue and slots woke nobody");
	is_int(rebuild_request(d, 3), 1, "max-concurrent raised to 3: d starts");
	is_int(rebuild_claim(a, 3), 0, "a claims a slot for a running rebuild: none free");
	rebuild_release(b);
	is_int(rebuild_claim(a, 3), 1, "  ... one freed: a claims it");
	is_int(rebuild_request(b, 0), 1, "max-concurrent 0: no limit");
	ok(!rebuild_holds_slot(b, NULL), "  ... no slot taken");
	rebuild_free(a);
	rebuild_free(b);
	rebuild_free(c);
	rebuild_free(d);
}

/* A child that takes volume @name's place (a slot, or a queue entry with
 * max-concurrent @max), says so on a pipe, then waits to be killed. */
static pid_t child(const char *name, unsigned max, int *ret_r)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		struct rebuild *rb = place(name);
		char r = (char)rebuild_request(rb, max);

		if (write(p[1], &r, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		abort();
	close(p[0]);
	*ret_r = c;
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_dead(void)
{
	struct rebuild *e = place("e"), *f = place("f");
	unsigned pos, len;
	pid_t holder, waiter;
	int r;

	holder = child("dead-holder", 1, &r);
	is_int(r, 1, "a child process takes the only slot");
	is_int(rebuild_request(e, 1), 0, "e waits for it");
	rebuild_drain(e);
	kill_child(holder);
	ok(readable(rebuild_fd(e), 2000), "the holder dies: e wakes");
	is_int(rebuild_request(e, 1), 1, "  ... and takes the slot it left");

	waiter = child("dead-waiter", 1, &r);
	is_int(r, 0, "a child process queues behind e");
	is_position("dead-waiter", 1, 1, "  ... position 1 of 1");
	is_int(rebuild_request(f, 1), 0, "f queues behind it");
	is_position("f", 2, 2, "  ... position 2 of 2");
	rebuild_drain(f);
	kill_child(waiter);
	ok(readable(rebuild_fd(f), 2000), "the waiter dies: f wakes");
	is_int(rebuild_queue_position("dead-waiter", &pos, &len), 0,
	       "  ... its entry, left behind, counts for nothing");
	is_position("f", 1, 1, "  ... f is first now");
	rebuild_release(e);
	is_int(rebuild_request(f, 1), 1, "e done: f starts");
	rebuild_free(e);
	rebuild_free(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	log_setup("test-rebuild");
	log_set_target(LOG_TARGET_CONSOLE);
	log_set_max_level(LOG_INFO);
	if (!mkdtemp(dir))
		abort();
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	snprintf(etc_dir, sizeof(etc_dir), "%s/etc", dir);
	snprintf(conf, sizeof(conf), "%s/host.conf", dir);
	if (mkdir(etc_dir, 0755) < 0)
		abort();
	setenv(DESC_RUNTIME_DIR_ENV, run_dir, 1);
	setenv(HOSTCONF_PATH_ENV, conf, 1);
	setenv(VOL_ETC_DIR_ENV, etc_dir, 1);
	setenv(VOL_RUN_DIR_ENV, run_dir, 1);

	test_hostconf();
	test_check();
	test_volume_rate();
	test_fifo();
	test_dead();

	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
