/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <string.h>

#include "macro.h"
#include "state.h"

static const char *const state_names[_STATE_MAX] = {
	[STATE_ABSENT] = "absent",	   [STATE_PRESENT] = "present", [STATE_IN_SYNC] = "in-sync",
	[STATE_REBUILDING] = "rebuilding", [STATE_FAULTY] = "faulty",	[STATE_OUTDATED] = "outdated",
};

/*
 * allowed[from][to].  Same-state entries are not listed: staying put is
 * always allowed (state_transition_allowed()).  The rule that matters most:
 * nothing reaches in-sync except through present (assembled from a replica
 * known good) or through rebuilding (md resynced it); faulty and outdated
 * data only come back through a rebuild.
 */
static const bool allowed[_STATE_MAX][_STATE_MAX] = {
	[STATE_ABSENT] = {
		/* The namespace appeared (udev add). */
		[STATE_PRESENT] = true,
		/* Known stale before it even showed up: outdated = yes in the
		 * volume file, or not in the last recorded in-sync set. */
		[STATE_OUTDATED] = true,
	},
	[STATE_PRESENT] = {
		/* Namespace removed before it joined an array. */
		[STATE_ABSENT] = true,
		/* Assembled or created as an active, in-sync member. */
		[STATE_IN_SYNC] = true,
		/* Added or re-added: md resyncs it (bitmap or full). */
		[STATE_REBUILDING] = true,
		/* Found stale once it appeared (event count, outdated = yes). */
		[STATE_OUTDATED] = true,
	},
	[STATE_IN_SYNC] = {
		/* Namespace removed (md fails it too, but the device is gone). */
		[STATE_ABSENT] = true,
		/* The array stopped cleanly while the namespace stays: its data
		 * is as good as at the stop, a candidate for reassembly. */
		[STATE_PRESENT] = true,
		/* md failed it (I/O error, path lost past fast-io-fail-tmo). */
		[STATE_FAULTY] = true,
	},
	[STATE_REBUILDING] = {
		/* Namespace removed in the middle of the resync. */
		[STATE_ABSENT] = true,
		/* Resync/recovery finished. */
		[STATE_IN_SYNC] = true,
		/* md failed it during the resync. */
		[STATE_FAULTY] = true,
		/* The array stopped mid-rebuild: half-written, stale. */
		[STATE_OUTDATED] = true,
	},
	[STATE_FAULTY] = {
		/* The namespace went away (controller lost, removed). */
		[STATE_ABSENT] = true,
		/* Re-added to the array; the bitmap brings it back. */
		[STATE_REBUILDING] = true,
		/* The array stopped while it was failed: known stale. */
		[STATE_OUTDATED] = true,
	},
	[STATE_OUTDATED] = {
		/* Namespace removed; it stays stale in the persistent record. */
		[STATE_ABSENT] = true,
		/* Added to a running array and resynced from good replicas:
		 * the only way back for stale data. */
		[STATE_REBUILDING] = true,
	},
};

static bool state_is_valid(enum state s)
{
	return s >= 0 && s < _STATE_MAX;
}

const char *state_to_string(enum state s)
{
	return state_is_valid(s) ? state_names[s] : NULL;
}

enum state state_from_string(const char *s)
{
	if (!s)
		return _STATE_INVALID;
	for (size_t i = 0; i < ELEMENTSOF(state_names); i++)
		if (streq(s, state_names[i]))
			return (enum state)i;
	return _STATE_INVALID;
}

bool state_transition_allowed(enum state from, enum state to)
{
	if (!state_is_valid(from) || !state_is_valid(to))
		return false;
	return from == to || allowed[from][to];
}

int state_transition(enum state *cur, enum state to)
{
	assert(cur);
	if (!state_transition_allowed(*cur, to))
		return -EINVAL;
	if (*cur == to)
		return 0;
	*cur = to;
	return 1;
}

enum state state_follow(enum state cur, enum state seen)
{
	if (state_transition_allowed(cur, seen))
		return seen;
	/* Seen again: udev showed the namespace (present) before md says
	 * anything of it. */
	if (cur == STATE_ABSENT && state_transition_allowed(STATE_PRESENT, seen))
		return seen;
	return cur;
}
