/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fabrics.h"
#include "failover.h"
#include "macro.h"
#include "tap.h"

#define SEC 1000000ULL
#define TMO (2 * SEC)

static const struct fo_sample live_idle = { .paths = 1, .live = 1 };
static const struct fo_sample gone = { .paths = 0 };

static struct fo_sample busy(uint64_t completed)
{
	return (struct fo_sample){ .paths = 1, .live = 1, .inflight = 4, .completed = completed };
}

/* A controller that is not live counts from the first sample that shows
 * it, and is lost once it stayed so for the timeout: not before. */
static void test_unreachable(void)
{
	struct fo_track t = {};
	struct fo_sample down = { .paths = 1, .live = 0 };

	ok(!fo_update(&t, &live_idle, 10 * SEC, TMO), "live and idle: not lost");
	ok(!fo_update(&t, &down, 11 * SEC, TMO), "down at 11 s: not lost yet");
	ok(t.bad_since == 11 * SEC, "bad since the first sample that showed it");
	ok(!fo_update(&t, &down, 12 * SEC, TMO), "down 1 s: not lost");
	ok(fo_update(&t, &down, 13 * SEC, TMO), "down 2 s: lost");
	ok(!fo_update(&t, &live_idle, 14 * SEC, TMO), "live again: not lost");
	ok(t.bad_since == 0 && !t.lost, "and healthy");
	ok(!fo_update(&t, &gone, 15 * SEC, TMO) && fo_update(&t, &gone, 17 * SEC, TMO),
	   "no path at all: lost after the timeout");
}

/* Live but silent (a partition the keep-alive has not seen yet): I/O in
 * flight and no completion between samples. */
static void test_stuck(void)
{
	struct fo_track t = {};
	struct fo_sample s;

	s = busy(100);
	ok(!fo_update(&t, &s, 10 * SEC, TMO), "first sample with I/O in flight: the count is new");
	s = busy(150);
	ok(!fo_update(&t, &s, 10 * SEC + SEC / 4, TMO), "completing: healthy");
	ok(t.bad_since == 0, "healthy while completions advance");
	ok(!fo_update(&t, &s, 11 * SEC, TMO), "no completion since: stuck, not lost yet");
	ok(t.bad_since == 11 * SEC, "stuck since 11 s");
	ok(fo_update(&t, &s, 13 * SEC, TMO), "stuck 2 s: lost");
	s.inflight = 0;
	ok(!fo_update(&t, &s, 13 * SEC + 1, TMO),
	   "nothing in flight: healthy (an idle volume is not stuck)");
}

static void set(struct fo_volume *v, unsigned i, bool in_sync, uint64_t bad_since, bool lost)
{
	snprintf(v->r[i].name, sizeof(v->r[i].name), "r%u", i + 1);
	v->r[i].in_sync = in_sync;
	v->r[i].member = in_sync;
	v->r[i].bad_since = bad_since;
	v->r[i].lost = lost;
	if (v->n <= i)
		v->n = i + 1;
}

/* Quiet: every member's paths live, nothing in flight and nothing
 * completed since the sample before; the monitor then samples seldom. */
static void test_quiet(void)
{
	struct fo_volume v = {};
	struct fo_sample s = live_idle, down = { .paths = 1, .live = 0 };

	set(&v, 0, true, 0, false);
	set(&v, 1, true, 0, false);
	for (unsigned i = 0; i < 2; i++)
		fo_update(&v.r[i], &s, 1 * SEC, TMO);
	ok(fo_quiet(&v), "both members live, idle: quiet");

	s = busy(0);
	fo_update(&v.r[1], &s, 2 * SEC, TMO);
	ok(!fo_quiet(&v), "I/O in flight on r2: not quiet");
	s = (struct fo_sample){ .paths = 1, .live = 1, .completed = 10 };
	fo_update(&v.r[1], &s, 3 * SEC, TMO);
	ok(!fo_quiet(&v), "nothing in flight, but requests completed since: not quiet");
	fo_update(&v.r[1], &s, 4 * SEC, TMO);
	ok(fo_quiet(&v), "no completion since: quiet again");

	fo_update(&v.r[1], &down, 5 * SEC, TMO);
	ok(!fo_quiet(&v), "a member not live: not quiet (it is timed)");
	fo_update(&v.r[1], &gone, 6 * SEC, TMO);
	ok(!fo_quiet(&v), "a member without paths: not quiet");
	fo_update(&v.r[1], &s, 7 * SEC, TMO);
	ok(!fo_quiet(&v), "back: its count is new, not quiet yet");
	fo_update(&v.r[1], &s, 8 * SEC, TMO);
	ok(fo_quiet(&v), "back and idle: quiet");

	v.r[1].member = false;
	v.r[1].quiet = false;
	ok(fo_quiet(&v), "a replica md does not hold is not sampled for it");
	v.r[1].connecting = 1234;
	ok(!fo_quiet(&v), "a connect under way: not quiet");
	v.r[1].connecting = 0;
	v.suspended = true;
	ok(!fo_quiet(&v), "I/O suspended: not quiet");
}

static void test_plan(void)
{
	struct fo_volume v = {};

	/* One replica lost, the other healthy: fail it over. */
	set(&v, 0, true, 1 * SEC, true);
	set(&v, 1, true, 0, false);
	ok(fo_can_fail(&v, 0), "r1 lost, r2 healthy: r1 may be failed");
	ok(!fo_all_lost(&v), "not suspended");

	/* Both went at once; r1 reached the timeout first: r2 is bad too,
	 * so r1 stays — either may come back first. */
	set(&v, 1, true, 1 * SEC + 100, false);
	ok(!fo_can_fail(&v, 0), "r2 bad but not lost yet: r1 is not failed");
	set(&v, 1, true, 1 * SEC + 100, true);
	ok(!fo_can_fail(&v, 0) && !fo_can_fail(&v, 1), "both lost: neither is failed");
	ok(fo_all_lost(&v), "both lost: suspended");

	/* r2 returns: now r1 may go, and I/O resumes. */
	set(&v, 1, true, 0, false);
	ok(fo_can_fail(&v, 0) && !fo_all_lost(&v), "r2 back: r1 may be failed, resumed");

	/* The last in-sync replica lost while the other rebuilds: the
	 * rebuilding one holds no complete data, so nothing is failed and I/O
	 * waits. */
	set(&v, 0, true, 1 * SEC, true);
	set(&v, 1, false, 0, false);
	v.r[1].member = true;
	ok(!fo_can_fail(&v, 0), "last in-sync replica lost, other rebuilding: not failed");
	ok(fo_all_lost(&v), "and suspended");
	ok(fo_can_fail(&v, 1) == false, "a rebuilding replica is not a reason either way");

	/* No in-sync member at all (the array is not running): not suspended. */
	memset(&v, 0, sizeof(v));
	set(&v, 0, false, 1 * SEC, true);
	ok(!fo_all_lost(&v), "no in-sync member: nothing to suspend");
}

static void test_io_timeout(void)
{
	is_int(fo_io_timeout_ms(2), 3000, "fast-io-fail-tmo 2 s: path I/O timeout 3 s");
	is_int(fo_io_timeout_ms(0), 1000, "fast-io-fail-tmo 0: 1 s");
}

static void test_sample_names(void)
{
	struct fo_track t = {};
	struct fo_sample s;

	snprintf(t.head, sizeof(t.head), "nvme0c1n1");
	is_int(fo_sample(&t, 0, &s), -EINVAL, "a path is not a head");
	snprintf(t.head, sizeof(t.head), "md127");
	is_int(fo_sample(&t, 0, &s), -EINVAL, "not an NVMe head");
	snprintf(t.head, sizeof(t.head), "nvme0n1/../x");
	is_int(fo_sample(&t, 0, &s), -EINVAL, "trailing text refused");
	snprintf(t.head, sizeof(t.head), "nvme4242n4242");
	is_int(fo_sample(&t, 0, &s), 0, "a head that does not exist: no paths");
	ok(s.paths == 0 && s.live == 0, "and nothing live");
	t.head[0] = 0;
	is_int(fo_sample(&t, 0, &s), 0, "no head: no paths");
	ok(s.paths == 0 && t.n_paths == 0, "and none kept");
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* A file of the fake /sys/block, written in place (the same inode: what
 * an open path sees change) or read back. */
static void put(const char *dir, const char *rel, const char *text)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(p, "we");

	fixture(f ? 0 : -1);
	fixture(fputs(text, f));
	fixture(fclose(f));
}

static char *get(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	static char buf[64];
	FILE *f = fopen(p, "re");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void make_path(const char *dir, const char *name, const char *state, const char *stat)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *dev = xasprintf("%s/device", p);
	_cleanup_free_ char *q = xasprintf("%s/queue", p);
	_cleanup_free_ char *f = NULL;

	fixture(mkdir(p, 0755));
	fixture(mkdir(dev, 0755));
	fixture(mkdir(q, 0755));
	f = xasprintf("%s/device/state", name);
	put(dir, f, state);
	free(f);
	f = xasprintf("%s/stat", name);
	put(dir, f, stat);
	free(f);
	f = xasprintf("%s/queue/io_timeout", name);
	put(dir, f, "30000\n");
	free(f);
	f = xasprintf("%s/device/fast_io_fail_tmo", name);
	put(dir, f, "5\n");
}

/* The paths stay open between samples: a sample reads them again from
 * the start; a path taken over once is not written again until a pass
 * (fo_volume_load()) asks; a new device of the same name is opened anew. */
static void test_sample_kept_open(void)
{
	char dir[] = "/tmp/test-failover.XXXXXX";
	/* reads 10, writes 5, in flight 2, discards 1, flushes 3 */
	const char *stat1 = "10 0 80 0 5 0 40 0 2 0 0 1 0 0 0 3 0\n";
	struct fo_track t = {};
	struct fo_sample s;

	fixture(mkdtemp(dir) ? 0 : -1);
	fo_sysfs_block(dir);
	make_path(dir, "nvme3c5n2", "live\n", stat1);
	make_path(dir, "nvme3c6n2", "connecting\n", "0 0 0 0 0 0 0 0 0 0 0\n");
	make_path(dir, "nvme3c5n1", "live\n", stat1); /* another namespace */
	make_path(dir, "nvme3n2", "live\n", stat1);   /* the head itself */
	snprintf(t.head, sizeof(t.head), "nvme3n2");

	is_int(fo_sample(&t, 3000, &s), 0, "sample");
	is_int(s.paths, 2, "two paths of nvme3n2");
	is_int(s.live, 1, "one live");
	is_int(s.inflight, 2, "in flight from stat field 9");
	is_int(s.completed, 19, "completed: reads, writes, discards, flushes");
	is_int(t.n_paths, 2, "both kept open");
	is_str(get(dir, "nvme3c5n2/queue/io_timeout"), "3000", "taken over: io_timeout");
	is_str(get(dir, "nvme3c6n2/device/fast_io_fail_tmo"), "-1", "taken over: fast_io_fail_tmo off");
	is_str(get(dir, "nvme3c5n1/queue/io_timeout"), "30000", "another namespace's path untouched");

	/* The kernel changes what it shows; someone resets a setting. */
	put(dir, "nvme3c6n2/device/state", "live\n");
	put(dir, "nvme3c5n2/stat", "11 0 80 0 5 0 40 0 0 0 0 1 0 0 0 3 0\n");
	put(dir, "nvme3c5n2/queue/io_timeout", "30000\n");
	is_int(fo_sample(&t, 3000, &s), 0, "sample again");
	is_int(s.live, 2, "the open state file read anew");
	is_int(s.completed, 20, "the open stat file read anew");
	is_int(s.inflight, 0, "nothing in flight now");
	is_str(get(dir, "nvme3c5n2/queue/io_timeout"), "30000", "between passes: not written again");
	t.recheck = true;
	is_int(fo_sample(&t, 3000, &s), 0, "sample after a pass");
	is_str(get(dir, "nvme3c5n2/queue/io_timeout"), "3000", "after a pass: taken over again");

	/* A new device of the same name (a controller deleted and connected
	 * again): another entry, so opened anew. */
	{
		_cleanup_free_ char *a = xasprintf("%s/nvme3c6n2", dir);
		_cleanup_free_ char *b = xasprintf("%s/old", dir);

		fixture(rename(a, b));
	}
	make_path(dir, "nvme3c6n2", "resetting\n", "0 0 0 0 0 0 0 0 0 0 0\n");
	/* The kernel's deleted device reads -ENODEV, which makes a scan;
	 * the renamed file here still reads: the periodic scan. */
	t.since_scan = FO_RESCAN_SAMPLES;
	is_int(fo_sample(&t, 3000, &s), 0, "sample after the path came back");
	is_int(s.live, 1, "the new device's state, not the old one's");
	is_str(get(dir, "nvme3c6n2/device/fast_io_fail_tmo"), "-1", "the new device taken over");

	/* A path that went is closed. */
	{
		_cleanup_free_ char *a = xasprintf("%s/nvme3c6n2", dir);
		_cleanup_free_ char *b = xasprintf("%s/gone", dir);

		fixture(rename(a, b));
	}
	t.recheck = true;
	is_int(fo_sample(&t, 0, &s), 0, "sample after a path went");
	is_int(s.paths, 1, "one path left");
	is_int(t.n_paths, 1, "one kept open");

	struct fo_volume v = { .n = 1 };
	v.r[0] = t;
	fo_volume_close(&v);
	is_int(v.r[0].n_paths, 0, "closed");
	fo_sysfs_block(NULL);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Between scans a sample reads the open paths; anything unhealthy, a
 * pass, or the count of samples makes it scan /sys/block again. */
static void test_sample_scans(void)
{
	char dir[] = "/tmp/test-failover.XXXXXX";
	const char *idle = "1 0 8 0 1 0 8 0 0 0 0 0 0 0 0 0 0\n";
	struct fo_track t = {};
	struct fo_sample s;
	unsigned i;

	fixture(mkdtemp(dir) ? 0 : -1);
	fo_sysfs_block(dir);
	make_path(dir, "nvme1c1n1", "live\n", idle);
	snprintf(t.head, sizeof(t.head), "nvme1n1");
	is_int(fo_sample(&t, 0, &s), 0, "first sample: a scan");
	is_int(t.since_scan, 0, "counted from the scan");

	/* Another portal's path, added while all is well: counted at the
	 * periodic scan, not before. */
	make_path(dir, "nvme1c2n1", "live\n", idle);
	for (i = 1; i <= FO_RESCAN_SAMPLES; i++) {
		fixture(fo_sample(&t, 0, &s));
		if (s.paths != 1)
			break;
	}
	is_int(i, FO_RESCAN_SAMPLES, "the open path alone until the periodic scan");
	is_int(s.paths, 2, "then both paths");
	is_int(t.n_paths, 2, "both kept open");

	/* A path that stops being live: the next sample scans. */
	fixture(fo_sample(&t, 0, &s));
	ok(t.since_scan == 1, "healthy: no scan");
	put(dir, "nvme1c2n1/device/state", "connecting\n");
	fixture(fo_sample(&t, 0, &s));
	is_int(t.since_scan, 0, "a path not live: a scan at once");
	is_int(s.live, 1, "one of two live");
	fixture(fo_sample(&t, 0, &s));
	is_int(t.since_scan, 0, "and at every sample while it is not");

	/* Requests in flight and none completing: a scan, and the sample
	 * shows them stuck. */
	put(dir, "nvme1c2n1/device/state", "live\n");
	fixture(fo_sample(&t, 0, &s));
	fo_update(&t, &s, 1 * SEC, TMO);
	put(dir, "nvme1c1n1/stat", "1 0 8 0 1 0 8 0 3 0 0 0 0 0 0 0 0\n");
	fixture(fo_sample(&t, 0, &s));
	is_int(t.since_scan, 0, "stuck: a scan");
	is_int(s.inflight, 3, "in flight seen");
	ok(!fo_update(&t, &s, 2 * SEC, TMO) && t.bad_since == 2 * SEC, "and counted stuck");

	struct fo_volume v = { .n = 1 };
	v.r[0] = t;
	fo_volume_close(&v);
	fo_sysfs_block(NULL);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A listening socket on 127.0.0.1; its port in @port. */
static int listener(char port[static 8])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	fixture(fd);
	fixture(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	fixture(listen(fd, 4));
	fixture(getsockname(fd, (struct sockaddr *)&a, &len));
	snprintf(port, 8, "%u", ntohs(a.sin_port));
	return fd;
}

static void portal(struct vol_replica *r, enum vol_transport t, const char *port, const char *iface)
{
	struct vol_portal *p = &r->portals[r->n_portals++];

	*p = (struct vol_portal){ .transport = t, .family = AF_INET };
	snprintf(p->traddr, sizeof(p->traddr), "127.0.0.1");
	snprintf(p->trsvcid, sizeof(p->trsvcid), "%s", port);
	snprintf(p->host_iface, sizeof(p->host_iface), "%s", iface);
}

/* The monitor's probe before a reconnect: refused only where nothing
 * listens, on every portal, and only for TCP without a bound interface. */
static void test_probe(void)
{
	char open_port[8], closed_port[8];
	int lfd = listener(open_port), cfd = listener(closed_port);
	struct vol_replica r = {};

	close(cfd); /* nothing listens there now */
	portal(&r, VOL_TRANSPORT_TCP, closed_port, "");
	ok(fab_replica_refuses(&r, 1000), "nothing listens: refused");
	portal(&r, VOL_TRANSPORT_TCP, open_port, "");
	ok(!fab_replica_refuses(&r, 1000), "one of two portals listens: not refused");
	r.n_portals = 0;
	portal(&r, VOL_TRANSPORT_TCP, open_port, "");
	ok(!fab_replica_refuses(&r, 1000), "a listener: not refused");
	r.n_portals = 0;
	portal(&r, VOL_TRANSPORT_RDMA, closed_port, "");
	ok(!fab_replica_refuses(&r, 1000), "RDMA: not probed, not refused");
	r.n_portals = 0;
	portal(&r, VOL_TRANSPORT_TCP, closed_port, "lo");
	ok(!fab_replica_refuses(&r, 1000), "bound to an interface: not probed");
	r.n_portals = 0;
	ok(!fab_replica_refuses(&r, 1000), "no portal: not refused");
	close(lfd);
}

int main(void)
{
	test_unreachable();
	test_stuck();
	test_plan();
	test_quiet();
	test_io_timeout();
	test_sample_names();
	test_sample_kept_open();
	test_sample_scans();
	test_probe();
	return tap_done();
}
