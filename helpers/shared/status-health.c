/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A volume's health from what was observed (status.h): pure, no I/O.  The
 * descriptor says what the volume should be; the state said here is what
 * a user of /dev/nvmf-raid/VOLUME gets now.  A volume whose writes fail or
 * wait is never "optimal", whatever md says of its members: md keeps the
 * last member of a RAID1 "in_sync" when it breaks the array.
 */
#include <assert.h>
#include <string.h>

#include "status.h"

static const char *const problem_names[_STATUS_PROBLEM_MAX] = {
	[STATUS_PROBLEM_UNREADABLE] = "unreadable",
	[STATUS_PROBLEM_NOT_RUNNING] = "not-running",
	[STATUS_PROBLEM_ARRAY_BROKEN] = "array-broken",
	[STATUS_PROBLEM_ARRAY_READ_ONLY] = "array-read-only",
	[STATUS_PROBLEM_ARRAY_STATE] = "array-state-unknown",
	[STATUS_PROBLEM_LINK_MISSING] = "device-link-missing",
	[STATUS_PROBLEM_LINK_WRONG] = "device-link-wrong",
	[STATUS_PROBLEM_SUSPENDED] = "no-replica-reachable",
	[STATUS_PROBLEM_UNREACHABLE] = "replica-unreachable",
	[STATUS_PROBLEM_REBUILDING] = "rebuilding",
	[STATUS_PROBLEM_DEGRADED] = "degraded",
	[STATUS_PROBLEM_RECORD_STALE] = "record-stale",
};

const char *status_problem_to_string(enum status_problem p)
{
	return p >= 0 && p < _STATUS_PROBLEM_MAX ? problem_names[p] : NULL;
}

enum state status_replica_state(bool has_md, const char *member, bool present, enum state recorded,
				bool outdated)
{
	/* One replica: no md, the namespace is the volume. */
	if (!has_md)
		return present ? STATE_IN_SYNC : STATE_ABSENT;
	if (member) {
		if (strstr(member, "faulty"))
			return STATE_FAULTY;
		/* "spare" and friends: md is (about to be) recovering it. */
		return strstr(member, "in_sync") ? STATE_IN_SYNC : STATE_REBUILDING;
	}
	/* md already dropped the failed member; until its namespace returns
	 * it is still the replica md failed, not merely one not seen. */
	if (!present)
		return recorded == STATE_FAULTY ? STATE_FAULTY : STATE_ABSENT;
	/* Known stale, from the volume file or from attach's check against
	 * the in-sync record: never call that merely "present". */
	return outdated || recorded == STATE_OUTDATED ? STATE_OUTDATED : STATE_PRESENT;
}

bool status_array_state_writable(const char *s)
{
	/* md's array_state_show() names; "read-auto" turns "active" on the
	 * first write.  Anything else (clear, inactive, suspended, readonly,
	 * broken, a name a later kernel adds) is not known to take writes. */
	static const char *const writable[] = { "clean", "active", "active-idle", "write-pending",
						"read-auto" };

	for (size_t i = 0; s && i < ELEMENTSOF(writable); i++)
		if (streq(s, writable[i]))
			return true;
	return false;
}

/* The array's own state: running, and taking writes. */
static unsigned array_problems(const struct status_volume *v)
{
	if (!v->running)
		return STATUS_PROBLEM_BIT(STATUS_PROBLEM_NOT_RUNNING);
	if (!v->md || status_array_state_writable(v->array_state))
		return 0;
	if (streq(v->array_state, "broken"))
		return STATUS_PROBLEM_BIT(STATUS_PROBLEM_ARRAY_BROKEN);
	if (streq(v->array_state, "readonly"))
		return STATUS_PROBLEM_BIT(STATUS_PROBLEM_ARRAY_READ_ONLY);
	return STATUS_PROBLEM_BIT(STATUS_PROBLEM_ARRAY_STATE);
}

/* /dev/nvmf-raid/VOLUME must lead to the array of the descriptor, or to
 * the namespace of the one replica. */
static unsigned link_problems(const struct status_volume *v)
{
	const char *want = v->md;

	if (!want && v->n_replicas == 1)
		want = v->replicas[0].device;
	if (!v->link_target)
		return STATUS_PROBLEM_BIT(STATUS_PROBLEM_LINK_MISSING);
	if (!want || !streq(v->link_target, want))
		return STATUS_PROBLEM_BIT(STATUS_PROBLEM_LINK_WRONG);
	return 0;
}

/* Redundancy: every replica in sync, none rebuilding, md whole, and at
 * least one in-sync replica reachable (else every I/O waits on a
 * reconnect, or fails once fast-io-fail-tmo expires). */
static unsigned replica_problems(const struct status_volume *v)
{
	bool all_in_sync = true, rebuilding = false;
	unsigned in_sync = 0, reachable = 0, p = 0;

	for (unsigned i = 0; i < v->n_replicas; i++) {
		const struct status_replica *r = &v->replicas[i];

		all_in_sync = all_in_sync && r->state == STATE_IN_SYNC;
		rebuilding = rebuilding || r->state == STATE_REBUILDING;
		if (r->state == STATE_IN_SYNC) {
			in_sync++;
			reachable += r->reachable;
		}
	}
	if (in_sync > 0 && reachable == 0)
		p |= STATUS_PROBLEM_BIT(STATUS_PROBLEM_SUSPENDED);
	/* md still counts it, but writes to it wait until the monitor fails
	 * it over: redundancy is not whole. */
	else if (reachable < in_sync)
		p |= STATUS_PROBLEM_BIT(STATUS_PROBLEM_UNREACHABLE);
	/* A resync rewrites members md still calls in_sync (after an unclean
	 * stop): redundancy is not whole until it ends. */
	if (rebuilding || streq(v->sync_action, "recover") || streq(v->sync_action, "resync"))
		p |= STATUS_PROBLEM_BIT(STATUS_PROBLEM_REBUILDING);
	/* md's count catches a slot no configured replica fills. */
	if (!all_in_sync || v->md_degraded > 0)
		p |= STATUS_PROBLEM_BIT(STATUS_PROBLEM_DEGRADED);
	return p;
}

unsigned status_problems(const struct status_volume *v)
{
	assert(v);
	if (v->error)
		return STATUS_PROBLEM_BIT(STATUS_PROBLEM_UNREADABLE);
	if (!v->attached)
		return 0;
	return array_problems(v) | link_problems(v) | replica_problems(v) |
	       (v->record_stale ? STATUS_PROBLEM_BIT(STATUS_PROBLEM_RECORD_STALE) : 0);
}

enum status_state status_volume_state(const struct status_volume *v)
{
	unsigned p;

	assert(v);
	if (!v->attached)
		return STATUS_INACTIVE;
	p = status_problems(v);
	if (p & STATUS_PROBLEMS_FAILED)
		return STATUS_FAILED;
	if (p & STATUS_PROBLEM_BIT(STATUS_PROBLEM_SUSPENDED))
		return STATUS_SUSPENDED;
	if (p & STATUS_PROBLEM_BIT(STATUS_PROBLEM_REBUILDING))
		return STATUS_REBUILDING;
	/* A stale record: redundancy works, but a restart may not know
	 * which replica is stale. */
	if (p & (STATUS_PROBLEM_BIT(STATUS_PROBLEM_DEGRADED) |
		 STATUS_PROBLEM_BIT(STATUS_PROBLEM_UNREACHABLE) |
		 STATUS_PROBLEM_BIT(STATUS_PROBLEM_RECORD_STALE)))
		return STATUS_DEGRADED;
	return STATUS_OPTIMAL;
}

bool status_volume_writable(const struct status_volume *v)
{
	enum status_state s = status_volume_state(v);

	return v->attached && s != STATUS_FAILED && s != STATUS_SUSPENDED;
}
