/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * assemble_: which replicas an array may start from — the split-brain
 * policy, as a pure function so it is tested on the host case by case.
 *
 * Rules, in order:
 *  - a member holding anything but this volume's array or nothing (another
 *    array, a filesystem, a partition table) stops everything: refuse;
 *  - all present members blank (first attach): create, degraded with the
 *    absent ones "missing" only when at least min-replicas are present;
 *  - otherwise start only from members that carry this volume's array, are
 *    not marked outdated by the backend, and are in the recorded in-sync
 *    set (/var/lib/nvmf-raid/VOLUME.json); without a record, every replica
 *    must be present (md then keeps the freshest by event count);
 *  - none of those present: refuse as stale; fewer than min-replicas:
 *    refuse as too few (or keep waiting before the deadline).
 * Members left out (stale, outdated, blank replacements) are added back
 * by the monitor after the start, so they resync from the good ones.
 * The admin's override (accept_stale) drops the record and outdated rules.
 */

#include <stdbool.h>

#include "volume.h"

enum assemble_kind {
	KIND_ABSENT,
	KIND_BLANK,   /* no signature at all */
	KIND_OURS,    /* carries this volume's array */
	KIND_FOREIGN, /* anything else */
};

struct assemble_input {
	unsigned n; /* replicas */
	enum assemble_kind kind[VOL_REPLICAS_MAX];
	bool outdated[VOL_REPLICAS_MAX]; /* outdated = yes */
	bool have_record;
	bool in_record[VOL_REPLICAS_MAX]; /* in the recorded in-sync set */
	unsigned min_replicas;
	bool deadline_passed;
	bool accept_stale;
};

enum assemble_action {
	ASSEMBLE_WAIT, /* not decidable yet: wait for more replicas */
	ASSEMBLE_CREATE,
	ASSEMBLE_START, /* assemble from use[] */
	ASSEMBLE_REFUSE_FOREIGN,
	ASSEMBLE_REFUSE_STALE,
	ASSEMBLE_REFUSE_FEW,
	ASSEMBLE_REFUSE_MIXED, /* blank and ours, and no record to trust */
};

struct assemble_plan {
	enum assemble_action action;
	bool use[VOL_REPLICAS_MAX]; /* members to start from */
	unsigned n_use;
	bool degraded; /* fewer than all replicas */
};

/**
 * assemble_decide() - apply the rules above to @in
 * Return: 0 with @ret filled (never fails for valid input), -EINVAL for
 * an invalid @in.
 */
int assemble_decide(const struct assemble_input *in, struct assemble_plan *ret);

const char *assemble_action_to_string(enum assemble_action a);
