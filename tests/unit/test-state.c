/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "state.h"
#include "tap.h"

#define A STATE_ABSENT
#define P STATE_PRESENT
#define S STATE_IN_SYNC
#define R STATE_REBUILDING
#define F STATE_FAULTY
#define O STATE_OUTDATED

/*
 * The table we intend, written out independently of state.c: want[from][to],
 * 1 allowed, 0 forbidden; the diagonal is the no-op.
 *
 *            to: absent present in-sync rebuilding faulty outdated
 */
static const int want[_STATE_MAX][_STATE_MAX] = {
	[A] = { [A] = 1, [P] = 1, [S] = 0, [R] = 0, [F] = 0, [O] = 1 },
	[P] = { [A] = 1, [P] = 1, [S] = 1, [R] = 1, [F] = 0, [O] = 1 },
	[S] = { [A] = 1, [P] = 1, [S] = 1, [R] = 0, [F] = 1, [O] = 0 },
	[R] = { [A] = 1, [P] = 0, [S] = 1, [R] = 1, [F] = 1, [O] = 1 },
	[F] = { [A] = 1, [P] = 0, [S] = 0, [R] = 1, [F] = 1, [O] = 1 },
	[O] = { [A] = 1, [P] = 0, [S] = 0, [R] = 1, [F] = 0, [O] = 1 },
};

static void test_matrix(void)
{
	for (int from = 0; from < _STATE_MAX; from++)
		for (int to = 0; to < _STATE_MAX; to++) {
			enum state cur = (enum state)from;
			int expect_r = !want[from][to] ? -EINVAL : from == to ? 0 : 1;
			enum state expect_cur = want[from][to] ? (enum state)to : (enum state)from;
			bool allowed = state_transition_allowed(from, to);
			int r = state_transition(&cur, to);

			ok(allowed == !!want[from][to] && r == expect_r && cur == expect_cur,
			   "%s -> %s: %s (allowed=%d r=%d)", state_to_string(from), state_to_string(to),
			   !want[from][to] ? "forbidden" :
			   from == to	   ? "no-op" :
					     "changes",
			   allowed, r);
		}
}

static void test_strings(void)
{
	static const char *const names[_STATE_MAX] = {
		[A] = "absent",	    [P] = "present", [S] = "in-sync",
		[R] = "rebuilding", [F] = "faulty",  [O] = "outdated",
	};

	for (int s = 0; s < _STATE_MAX; s++) {
		is_str(state_to_string(s), names[s], names[s]);
		is_int(state_from_string(names[s]), s, "round trip from string");
	}
	is_int(state_from_string("in_sync"), -EINVAL, "in_sync is not a spelling");
	is_int(state_from_string("In-Sync"), -EINVAL, "spellings are case-sensitive");
	is_int(state_from_string(""), -EINVAL, "empty string refused");
	is_int(state_from_string(NULL), -EINVAL, "NULL refused");
	is_int(state_from_string("absent "), -EINVAL, "trailing space refused");
	ok(state_to_string(_STATE_MAX) == NULL, "to_string of an out-of-range state is NULL");
	ok(state_to_string(_STATE_INVALID) == NULL, "to_string of _STATE_INVALID is NULL");
}

static void test_invalid(void)
{
	enum state cur = _STATE_MAX;

	ok(!state_transition_allowed(_STATE_INVALID, A), "invalid from refused");
	ok(!state_transition_allowed(A, _STATE_MAX), "invalid to refused");
	ok(!state_transition_allowed(_STATE_MAX, _STATE_MAX), "invalid no-op refused");
	is_int(state_transition(&cur, A), -EINVAL, "transition from an invalid state fails");
	is_int(cur, _STATE_MAX, "and leaves the state alone");
	cur = P;
	is_int(state_transition(&cur, (enum state)42), -EINVAL, "transition to an invalid state fails");
	is_int(cur, P, "and leaves the state alone");
}

static void test_paths(void)
{
	enum state cur = A;

	/* A replica's life: appears, joins, fails, is re-added, heals. */
	is_int(state_transition(&cur, P), 1, "absent -> present");
	is_int(state_transition(&cur, S), 1, "present -> in-sync");
	is_int(state_transition(&cur, F), 1, "in-sync -> faulty");
	is_int(state_transition(&cur, S), -EINVAL, "faulty -> in-sync needs a rebuild");
	is_int(state_transition(&cur, R), 1, "faulty -> rebuilding");
	is_int(state_transition(&cur, R), 0, "rebuilding -> rebuilding is a no-op");
	is_int(state_transition(&cur, S), 1, "rebuilding -> in-sync");
	is_int(cur, S, "ends in sync");
}

/*
 * What a replica becomes when the monitor sees @seen, for every pair: the
 * table's move where allowed, else it stays; an absent replica seen again
 * went through present (udev told us).  Written out, not derived from want.
 *
 *            seen: absent present in-sync rebuilding faulty outdated
 */
static const enum state follow[_STATE_MAX][_STATE_MAX] = {
	[A] = { [A] = A, [P] = P, [S] = S, [R] = R, [F] = A, [O] = O },
	[P] = { [A] = A, [P] = P, [S] = S, [R] = R, [F] = P, [O] = O },
	[S] = { [A] = A, [P] = P, [S] = S, [R] = S, [F] = F, [O] = S },
	[R] = { [A] = A, [P] = R, [S] = S, [R] = R, [F] = F, [O] = O },
	[F] = { [A] = A, [P] = F, [S] = F, [R] = R, [F] = F, [O] = O },
	[O] = { [A] = A, [P] = O, [S] = O, [R] = R, [F] = O, [O] = O },
};

static void test_follow(void)
{
	for (int from = 0; from < _STATE_MAX; from++)
		for (int seen = 0; seen < _STATE_MAX; seen++) {
			enum state got = state_follow((enum state)from, (enum state)seen);

			ok(got == follow[from][seen], "seen %s while %s: %s (got %s)",
			   state_to_string(seen), state_to_string(from),
			   state_to_string(follow[from][seen]), state_to_string(got));
		}
	/* The rule the table exists for, whatever md shows: stale data is in
	 * sync again only after a rebuild. */
	for (int seen = 0; seen < _STATE_MAX; seen++) {
		ok(state_follow(F, (enum state)seen) != S, "faulty never straight to in-sync (seen %s)",
		   state_to_string(seen));
		ok(state_follow(O, (enum state)seen) != S,
		   "outdated never straight to in-sync (seen %s)", state_to_string(seen));
	}
	is_int(state_follow(P, _STATE_INVALID), P, "an invalid observation changes nothing");
}

int main(void)
{
	test_matrix();
	test_strings();
	test_invalid();
	test_paths();
	test_follow();
	return tap_done();
}
