/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "failover.h"
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
	struct fo_sample s;

	is_int(fo_sample("nvme0c1n1", 0, &s), -EINVAL, "a path is not a head");
	is_int(fo_sample("md127", 0, &s), -EINVAL, "not an NVMe head");
	is_int(fo_sample("nvme0n1/../x", 0, &s), -EINVAL, "trailing text refused");
	is_int(fo_sample("nvme4242n4242", 0, &s), 0, "a head that does not exist: no paths");
	ok(s.paths == 0 && s.live == 0, "and nothing live");
}

int main(void)
{
	test_unreachable();
	test_stuck();
	test_plan();
	test_io_timeout();
	test_sample_names();
	return tap_done();
}
