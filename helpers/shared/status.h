/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * status_: what `nvmf-raid status` shows of a volume.  Three parts:
 *
 *   gathering   status_gather() (status-gather.c): the descriptor (or the
 *               volume file of a volume not attached) for what the volume
 *               is, then the LIVE state: md's sysfs (array state, degraded
 *               count, member states), udev (the namespaces), the
 *               controllers' states, and where /dev/nvmf-raid/VOLUME leads.
 *               The descriptor's replica states are the monitor's last
 *               view; an admin asking "what is it now" gets what the
 *               kernel says this very moment.
 *   health      status_replica_state(), status_problems(),
 *               status_volume_state() (status-health.c): pure, over those
 *               observations, unit-tested.  A volume is "optimal" only
 *               when its link leads to the array (or namespace) of the
 *               descriptor, the array runs and takes writes, every replica
 *               is in sync and one of them is reachable.
 *   views       status_to_json(), status_to_text() (status.c): pure.
 *
 * JSON layout, version 1 (keys and types are stable, tools read them;
 * keys are only ever added):
 *
 *   { "format": "nvmf-raid-status", "version": 1,
 *     "volumes": [ { "volume": "db1", "state": "degraded", "attached": true,
 *                    "source": "/etc/nvmf-raid/volumes/db1.conf",
 *                    "persistent": true,
 *                    "device": "/dev/nvmf-raid/db1" | null,
 *                    "md": "/dev/md127" | null, "size": 67108864 | null,
 *                    "min-replicas": 1 | null,
 *                    "sync": null | { "action": "recover", "completed": 1234,
 *                                     "total": 131072, "progress": 0.0094 },
 *                    "rebuild": null | { "queued": true, "position": 2,
 *                                        "queue-length": 5,
 *                                        "rate-max": 20000 | null },
 *                    "error": null | "message",
 *                    "writable": true | false | null,
 *                    "device-link": "/dev/md127" | null,
 *                    "array-state": "clean" | null,
 *                    "problems": [ "array-broken", … ],
 *                    "replicas": [ { "name": "a", "state": "in-sync" | null,
 *                                    "device": "/dev/nvme1n1" | null,
 *                                    "size": 67108864 | null, "nqn": "…",
 *                                    "uuid": "…" | null,
 *                                    "nguid": "<32 hex>" | null,
 *                                    "nsid": 10 | null, "portals": [ "tcp://…" ],
 *                                    "outdated": false,
 *                                    "progress": null | 0.0094,
 *                                    "reachable": true | false | null } ] } ] }
 *
 * Sizes are bytes; "completed"/"total" are 512-byte sectors as md's
 * sync_completed gives them; "progress" is completed/total rounded down to
 * 4 decimals (so it reads 1 only when done).  "min-replicas" is null only
 * for a volume whose volume file could not be read ("error" says why).
 * "writable" is false when the volume cannot take writes now (state
 * "failed" or "suspended"), null when it is not attached.  "device-link"
 * is where /dev/nvmf-raid/VOLUME leads now, null when it does not exist.
 * "array-state" is md's array_state, null without an array.  "problems"
 * names every reason the volume is not optimal (status_problem_to_string()),
 * empty when it is.  "reachable" is whether a controller of the replica's
 * subsystem is live, null when the volume is not attached.
 *
 * "rebuild" (added in version 1, later) is null unless the array waits in
 * the host-wide rebuild queue (rebuild.h: "queued", its 1-based
 * "position" and the "queue-length"; null both when not queued) or md
 * syncs it; "rate-max" is the cap in KiB/s set on this array (md's
 * sync_speed_max, "local"), null for md's own default.
 */

#include <stdbool.h>
#include <stdint.h>

#include "descriptor.h"
#include "macro.h"
#include "state.h"
#include "volume.h"

struct udev;

#define STATUS_FORMAT "nvmf-raid-status"
#define STATUS_VERSION 1
#define STATUS_SIZE_UNKNOWN UINT64_MAX

enum status_state {
	STATUS_INACTIVE,   /* not attached: no descriptor */
	STATUS_OPTIMAL,	   /* every replica in sync */
	STATUS_REBUILDING, /* md resyncs or recovers */
	STATUS_DEGRADED,   /* running without some replica, nothing rebuilding */
	STATUS_FAILED,	   /* attached, but cannot take writes: the array (or the
				 * namespace) is not there, broken or read-only, or
				 * the device link is missing or wrong */
	STATUS_SUSPENDED,  /* no in-sync replica is reachable: I/O waits */
	_STATUS_STATE_MAX,
	_STATUS_STATE_INVALID = -EINVAL,
};

/* Why a volume is not optimal; each one a bit of status_problems(). */
enum status_problem {
	STATUS_PROBLEM_UNREADABLE,	/* "unreadable": descriptor or volume file */
	STATUS_PROBLEM_NOT_RUNNING,	/* "not-running": array or namespace not there */
	STATUS_PROBLEM_ARRAY_BROKEN,	/* "array-broken": md refuses writes until stopped */
	STATUS_PROBLEM_ARRAY_READ_ONLY, /* "array-read-only" */
	STATUS_PROBLEM_ARRAY_STATE,	/* "array-state-unknown": not one known to take writes */
	STATUS_PROBLEM_LINK_MISSING,	/* "device-link-missing" */
	STATUS_PROBLEM_LINK_WRONG,	/* "device-link-wrong": leads elsewhere */
	STATUS_PROBLEM_SUSPENDED,	/* "no-replica-reachable": I/O waits */
	STATUS_PROBLEM_UNREACHABLE,	/* "replica-unreachable": an in-sync one, others are */
	STATUS_PROBLEM_REBUILDING,	/* "rebuilding" */
	STATUS_PROBLEM_DEGRADED,	/* "degraded": a replica or an md slot not in sync */
	STATUS_PROBLEM_RECORD_STALE,	/* "record-stale": the in-sync record could not be written */
	_STATUS_PROBLEM_MAX,
};

#define STATUS_PROBLEM_BIT(p) (1u << (p))
/* The problems that make a volume unwritable: state "failed". */
#define STATUS_PROBLEMS_FAILED \
	(STATUS_PROBLEM_BIT(STATUS_PROBLEM_UNREADABLE) | STATUS_PROBLEM_BIT(STATUS_PROBLEM_NOT_RUNNING) | \
	 STATUS_PROBLEM_BIT(STATUS_PROBLEM_ARRAY_BROKEN) | \
	 STATUS_PROBLEM_BIT(STATUS_PROBLEM_ARRAY_READ_ONLY) | \
	 STATUS_PROBLEM_BIT(STATUS_PROBLEM_ARRAY_STATE) | \
	 STATUS_PROBLEM_BIT(STATUS_PROBLEM_LINK_MISSING) | STATUS_PROBLEM_BIT(STATUS_PROBLEM_LINK_WRONG))

struct status_replica {
	char name[VOL_REPLICA_NAME_MAX + 1];
	char nqn[VOL_NQN_MAX + 1];
	struct vol_ns_id ns; /* its namespace in subsystem nqn */
	char portals[VOL_PORTALS_MAX][DESC_PORTAL_MAX];
	unsigned n_portals;
	bool outdated;	  /* outdated = yes in the volume file */
	enum state state; /* live; _STATE_INVALID if not known (inactive) */
	char *device;	  /* "/dev/nvme1n1", or NULL */
	uint64_t size;	  /* bytes, or STATUS_SIZE_UNKNOWN */
	bool reachable;	  /* a controller of nqn is live (attached only) */
};

struct status_volume {
	char name[VOL_NAME_MAX + 1];
	enum status_state state; /* status_volume_state() of the rest */
	bool attached;		 /* a descriptor exists */
	char *source;		 /* the volume file, or NULL if unknown */
	bool persistent;	 /* the volume file is in /etc */
	char *device;		 /* "/dev/nvmf-raid/<volume>" while attached */
	char *md;		 /* "/dev/md127", or NULL */
	uint64_t size;		 /* bytes, or STATUS_SIZE_UNKNOWN */
	unsigned min_replicas;	 /* 0: unknown (the volume file is broken) */
	bool running;		 /* the md array runs; one replica: its namespace is there */
	char array_state[24];	 /* md's array_state, "" without md or unreadable */
	char *link_target;	 /* where the device link leads now; NULL: missing */
	unsigned problems;	 /* status_problems() of the rest */
	bool record_stale;	 /* the monitor could not write the in-sync record */
	unsigned md_degraded;	 /* md's "degraded": members missing */
	char sync_action[16];	 /* md's "sync_action", "" without md */
	bool has_sync;		 /* an operation runs and sync_completed gave numbers */
	uint64_t sync_completed; /* 512-byte sectors */
	uint64_t sync_total;
	bool rebuild_queued;	 /* waits for a rebuild slot (rebuild.h) */
	unsigned queue_position; /* 1-based, if queued */
	unsigned queue_length;
	unsigned rate_max; /* KiB/s set on this array, 0: md's default */
	char *error;	   /* why the volume could not be read, or NULL */
	struct status_replica replicas[VOL_REPLICAS_MAX];
	unsigned n_replicas;
};

/**
 * status_volume_free() - free @v and the strings it owns; NULL is fine
 */
void status_volume_free(struct status_volume *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct status_volume *, status_volume_free);
#define _cleanup_status_volume_ _cleanup_(status_volume_freep)

/**
 * status_state_to_string() - "inactive", "optimal", "rebuilding",
 * "degraded", "failed" or "suspended"
 * Return: the name, or NULL for an invalid @s.
 */
const char *status_state_to_string(enum status_state s);

/**
 * status_replica_state() - the live state of one replica of an attached
 * volume, from what was observed
 * @has_md:	the volume has an md array (two replicas or more)
 * @member:	the replica's md member state ("in_sync", "faulty,…",
 *		"spare", …) if it is a member of the array, else NULL
 * @present:	its namespace is visible
 * @recorded:	its state in the descriptor
 * @outdated:	outdated = yes in the volume file
 *
 * Return: the state (never invalid).
 */
enum state status_replica_state(bool has_md, const char *member, bool present, enum state recorded,
				bool outdated);

/**
 * status_problem_to_string() - the JSON name of @p, e.g. "array-broken"
 * Return: the name, or NULL for an invalid @p.
 */
const char *status_problem_to_string(enum status_problem p);

/**
 * status_array_state_writable() - whether md's array_state @s is one of an
 * array that takes writes: "clean", "active", "active-idle",
 * "write-pending", "read-auto" (md switches to active on the first write)
 */
bool status_array_state_writable(const char *s);

/**
 * status_problems() - every reason volume @v is not optimal, from what was
 * observed (attached, error, running, array_state, link_target against md
 * or the one replica's device, md_degraded, sync_action, replica states
 * and reachability)
 * Return: a set of STATUS_PROBLEM_BIT()s; 0 for a volume not attached
 * unless it is unreadable.
 */
unsigned status_problems(const struct status_volume *v);

/**
 * status_volume_state() - the volume state that status_problems() of @v
 * implies; see status_state for the meaning of each.  Never "optimal"
 * while any problem holds; "failed" before "suspended" before
 * "rebuilding" before "degraded".
 */
enum status_state status_volume_state(const struct status_volume *v);

/**
 * status_volume_writable() - whether @v is attached and takes writes now
 * (its state is neither "failed" nor "suspended")
 */
bool status_volume_writable(const struct status_volume *v);

/**
 * status_parse_sync_completed() - parse md's sync_completed, "N / M"
 * Return: 0 with both numbers (M > 0, N <= M), -EINVAL for anything else
 * ("none", "delayed", garbage).
 */
int status_parse_sync_completed(const char *s, uint64_t *ret_completed, uint64_t *ret_total);

/**
 * status_to_json() - the JSON text (layout above) of @vols, pretty-printed,
 * newline-terminated
 * @ret_text: the text, to free()
 * Return: 0, -EINVAL for an invalid state in a volume, or -ENOMEM.
 */
int status_to_json(const struct status_volume *const *vols, unsigned n, char **ret_text);

/**
 * status_to_text() - the human view of @vols: one header line per volume
 * (name, state, device -> md or namespace, size), then one line per
 * replica (name, state, device, portals, sync progress), columns aligned
 * @ret_text: the text, to free()
 * Return: 0 or -ENOMEM.
 */
int status_to_text(const struct status_volume *const *vols, unsigned n, char **ret_text);

/**
 * status_gather() - the status of volume @name as it is now
 * @udev: a udev context, to find namespaces
 * @ret: the status, free with status_volume_free()
 *
 * A volume with a descriptor is attached; one with only a volume file is
 * inactive.  A descriptor or volume file that cannot be read is no
 * failure here: the volume comes back with "error" set.  Takes no lock:
 * the descriptor is replaced atomically, so it is read whole or not at all.
 *
 * Return: 0; -ENOENT if @name has neither a descriptor nor a volume file;
 * -EINVAL for an invalid @name (logged); -ENOMEM.
 */
int status_gather(struct udev *udev, const char *name, struct status_volume **ret);
