/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * state_record_: what must survive a reboot (contract.md "Runtime files"):
 * /var/lib/nvmf-raid/<volume>.json names the replicas that were in sync
 * when the array last changed, with the array's UUID and event count.
 * Assembly never starts from a member outside that set: this is what keeps
 * a host from serving stale data after the spec's split-brain sequence.
 *
 *   { "format": "nvmf-raid-record", "version": 2, "volume": "db1",
 *     "md-uuid": "…", "events": 42,
 *     "in-sync": [ { "name": "a", "nqn": "nqn.…", "uuid": "…" | null,
 *                    "nguid": "<32 hex>" | null, "nsid": N | null }, … ] }
 *
 * Each in-sync replica is recorded with the namespace it was then (its
 * subsystem and every identifier the namespace showed: uuid, nguid,
 * nsid): a volume file edited since to point the name at another
 * namespace does not inherit the vouching; one that names the same
 * namespace by another identifier does.  Version 1
 * recorded names only ("in-sync": [ "a", "b" ]); it is still read, and
 * vouches by name alone until the next write.
 *
 * The directory is $NVMF_RAID_STATE_DIR (tests) or LOCALSTATEDIR/lib/nvmf-raid.
 * Written atomically and fsync'd (file and directory) before it counts.
 */

#include <stdbool.h>
#include <stdint.h>

#include "volume.h"

struct state_record {
	char volume[VOL_NAME_MAX + 1];
	char md_uuid[36];
	uint64_t events;
	char in_sync[VOL_REPLICAS_MAX][VOL_REPLICA_NAME_MAX + 1];
	/* The namespace of in_sync[i]; has_ns false in a version 1 record. */
	bool has_ns[VOL_REPLICAS_MAX];
	char nqn[VOL_REPLICAS_MAX][VOL_NQN_MAX + 1];
	struct vol_ns_id ns[VOL_REPLICAS_MAX];
	unsigned n_in_sync;
};

/**
 * state_record_read() - the record of @volume
 * Return: 0; -ENOENT if there is none; -EBADMSG (logged) if it is not a
 * valid record of @volume; other negative errno.
 */
int state_record_read(const char *volume, struct state_record *ret);

/**
 * state_record_dir() - the directory of the records ($NVMF_RAID_STATE_DIR
 * or LOCALSTATEDIR/lib/nvmf-raid), for messages
 */
const char *state_record_dir(void);

/**
 * state_record_write() - replace the record, durably
 *
 * Logs nothing: the caller decides what a record it could not write means.
 * Return: 1 if the content changed, 0 if it was the same, negative errno.
 */
int state_record_write(const struct state_record *rec);

/**
 * state_record_remove() - forget @volume
 * Return: 1 if a record was removed, 0 if there was none, negative errno.
 */
int state_record_remove(const char *volume);

/**
 * state_record_has() - whether replica @name is in the in-sync set
 */
bool state_record_has(const struct state_record *rec, const char *name);

/**
 * state_record_vouches() - whether the record vouches for replica @name
 * on namespace @ns of subsystem @nqn: @name is in the in-sync set and the
 * namespace recorded for it (the identifiers it showed) is one @ns names
 * (vol_ns_id_matches()), or, in a version 1 record, by name alone
 */
bool state_record_vouches(const struct state_record *rec, const char *name, const char *nqn,
			  const struct vol_ns_id *ns);

/**
 * state_record_add() - add replica @name on namespace @ns of @nqn to the
 * in-sync set of @rec
 * Return: 0, or -E2BIG when the set is full.
 */
int state_record_add(struct state_record *rec, const char *name, const char *nqn,
		     const struct vol_ns_id *ns);

/**
 * state_record_parse() - parse a record held in memory (pure; fuzzable)
 */
int state_record_parse(const char *buf, size_t len, const char *expected_volume, struct state_record *ret);
