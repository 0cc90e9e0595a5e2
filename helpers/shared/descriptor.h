/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * desc_: the runtime descriptor of an attached volume and the by-uuid index
 * (contract.md "Runtime files").
 *
 *   $RUNTIME/<volume>.json		the volume as parsed plus live state
 *   $RUNTIME/by-uuid/<ns-uuid>		NVMF_RAID_VOLUME=<volume>…: who owns a namespace
 *   $RUNTIME/by-nguid/…, by-nsid/…	the same for replicas without a UUID
 *
 * $RUNTIME is /run/nvmf-raid, or $NVMF_RAID_RUNTIME_DIR (an absolute path;
 * meant for tests).  Its parent is trusted as it is; the runtime directory
 * and by-uuid below it are created 0755 and never reached through a symlink.
 * Everything is written atomically (fileio.h).  Callers serialise changes to
 * one volume with lock_volume_at() on the runtime directory.
 *
 * JSON layout, version 1 (keys are stable, tools read them):
 *
 *   { "format": "nvmf-raid-descriptor", "version": 1,
 *     "volume": "db1", "source": "/etc/nvmf-raid/volumes/db1.conf",
 *     "persistent": true, "device": "/dev/nvmf-raid/db1",
 *     "settings": { "min-replicas": 1, "degraded-timeout": 30,
 *                   "fast-io-fail-tmo": 2, "ctrl-loss-tmo": -1,
 *                   "reconnect-delay": 2, "keep-alive-tmo": 5,
 *                   "notify": null | "/path" },
 *     "md": { "device": null | "/dev/md127", "uuid": null | "…",
 *             "name": null | "…" },
 *     "replicas": [ { "name": "a", "nqn": "nqn.…",
 *                     "uuid": "…" | null, "nguid": "<32 hex>" | null,
 *                     "nsid": N | null,
 *                     "portals": [ "tcp://127.0.0.1:4420", … ],
 *                     "outdated": false, "state": "absent",
 *                     "device": null | "/dev/nvme1n1",
 *                     "dhchap-key": null | "/path",
 *                     "dhchap-ctrl-key": null | "/path", "tls": false }, … ],
 *     "record-stale": false }
 *
 * Readers ignore unknown keys, so a key may be added without a version bump;
 * removing, renaming or retyping one needs a new version.  Version 2 made
 * "uuid" nullable and added "nguid" and "nsid" (at least one is set);
 * version 1 files (a UUID for every replica) are still read.  "dhchap-key",
 * "dhchap-ctrl-key" and "tls" (what the monitor reconnects with: the key
 * files' paths, never a key) and "record-stale" (the monitor could not
 * write the in-sync record) were added later: absent, they are null and
 * false.
 *
 * Errors: content that is not a valid descriptor (malformed or truncated
 * JSON, trailing data, wrong format/version, foreign volume, missing or
 * ill-typed keys, values out of range) is -EBADMSG, logged at error level
 * with the file and the key; -EINVAL means the caller passed an invalid
 * argument.  I/O errors are returned as they are and logged at debug only.
 */

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>

#include "macro.h"
#include "state.h"
#include "volume.h"

#define DESC_FORMAT "nvmf-raid-descriptor"
#define DESC_VERSION 2
#define DESC_RUNTIME_DIR "/run/nvmf-raid"
#define DESC_RUNTIME_DIR_ENV "NVMF_RAID_RUNTIME_DIR"
#define DESC_INDEX_DIR "by-uuid"	/* replicas found by namespace UUID */
#define DESC_INDEX_NGUID_DIR "by-nguid" /* … by NGUID (no UUID given) */
#define DESC_INDEX_NSID_DIR "by-nsid"	/* … by subsystem and NSID only */
#define DESC_SIZE_MAX (1024 * 1024)	/* larger descriptors are refused unread */
#define DESC_PORTAL_MAX 160		/* "tcp://[" traddr "]:" port, NUL */
#define DESC_DEVICE_PREFIX "/dev/nvmf-raid/"

struct desc_settings {
	unsigned min_replicas;
	unsigned degraded_timeout;
	int fast_io_fail_tmo;
	int ctrl_loss_tmo;
	unsigned reconnect_delay;
	unsigned keep_alive_tmo;
	char *notify; /* absolute path, or NULL */
};

struct desc_md {
	char *device; /* "/dev/md127", or NULL */
	char *uuid;   /* array UUID as mdadm prints it, or NULL */
	char *name;   /* md array name, or NULL */
};

struct desc_replica {
	char name[VOL_REPLICA_NAME_MAX + 1];
	char nqn[VOL_NQN_MAX + 1];
	struct vol_ns_id ns;				/* its namespace in subsystem nqn */
	char portals[VOL_PORTALS_MAX][DESC_PORTAL_MAX]; /* URI form */
	unsigned n_portals;
	bool outdated;	   /* outdated = yes in the volume file */
	bool write_mostly; /* write-mostly = yes in the volume file */
	enum state state;
	char *device;	       /* "/dev/nvme1n1", or NULL */
	char *dhchap_key;      /* dhchap-key of the volume file, or NULL */
	char *dhchap_ctrl_key; /* dhchap-ctrl-key of the volume file, or NULL */
	bool tls;	       /* tls of the volume file (the replica's or [volume]'s) */
};

struct desc {
	const char *format; /* DESC_FORMAT */
	unsigned version;   /* DESC_VERSION */
	char volume[VOL_NAME_MAX + 1];
	char *source; /* the volume file */
	bool persistent;
	char device[STRLEN(DESC_DEVICE_PREFIX) + VOL_NAME_MAX + 1];
	struct desc_settings settings;
	struct desc_md md;
	struct desc_replica replicas[VOL_REPLICAS_MAX];
	unsigned n_replicas;
	bool record_stale; /* the in-sync record could not be written */
};

/**
 * desc_free() - free @d and the strings it owns; NULL is fine
 */
void desc_free(struct desc *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct desc *, desc_free);
#define _cleanup_desc_ _cleanup_(desc_freep)

/**
 * desc_runtime_dir() - the runtime directory: $NVMF_RAID_RUNTIME_DIR if set,
 * else /run/nvmf-raid
 * @ret: the path (static or from the environment, do not free)
 *
 * Return: 0, or -EINVAL if the variable is set but not an absolute path
 * with a valid last component.
 */
int desc_runtime_dir(const char **ret);

/**
 * desc_open_runtime_dir() - open the runtime directory
 * @create: create it (0755) if missing; if false, a missing one is -ENOENT
 * @ret_fd: an O_DIRECTORY fd, for lock_volume_at() and friends
 *
 * Return: 0, or negative errno (-ELOOP/-ENOTDIR for a symlink or a
 * non-directory planted there, -EPERM for unsafe ownership or mode).
 */
int desc_open_runtime_dir(bool create, int *ret_fd);

/**
 * desc_open_subdir() - open (or create, 0755) the directory @sub of the
 * runtime directory, never through a symlink
 * @ret_run_fd: if not NULL, the runtime directory's fd too
 * Return: 0 or negative errno (-ENOENT when missing and not @create).
 */
int desc_open_subdir(const char *sub, bool create, int *ret_run_fd, int *ret_sub_fd);

/**
 * desc_from_volume() - a descriptor for volume @v, every replica absent
 * @v: a validated volume (vol_load())
 * @ret: the descriptor, free with desc_free()
 *
 * Return: 0, -EINVAL if @v holds values a descriptor cannot, or -ENOMEM.
 */
int desc_from_volume(const struct vol_volume *v, struct desc **ret);

/**
 * desc_to_volume() - the volume @d was attached from, as far as connecting
 * its replicas needs (name, timeouts, replicas with their portals and
 * DH-HMAC-CHAP key path): the runtime truth, not the volume file, which may
 * have been edited since without a reload
 * @ret: the volume, free with vol_free(); path and notify as in @d
 * Return: 0, -EBADMSG for a portal @d cannot have been written with, or
 * -ENOMEM.
 */
int desc_to_volume(const struct desc *d, struct vol_volume **ret);

/**
 * desc_set_string() - replace a string member (md fields, a replica's device)
 * @field: e.g. &d->md.device
 * @value: the new value, or NULL
 *
 * Return: 1 if the value changed, 0 if it was equal, -ENOMEM.
 */
int desc_set_string(char **field, const char *value);

/**
 * desc_find_replica() - the replica named @name
 * Return: the replica, or NULL.
 */
struct desc_replica *desc_find_replica(struct desc *d, const char *name);

/**
 * desc_ns_id_to_json() - add "uuid", "nguid" and "nsid" of @id to object
 * @o, each null when not given (the descriptor's and status's spelling)
 * Return: 0 or -ENOMEM.
 */
struct json_object;
int desc_ns_id_to_json(struct json_object *o, const struct vol_ns_id *id);

/**
 * desc_ns_id_from_json() - read "uuid", "nguid" and "nsid" of object @o,
 * each absent or null when not given (the descriptor's and the state
 * record's spelling); pure
 * @ret_key, @ret_why: on failure, the key at fault and why (static)
 * Return: 0, or -EBADMSG for a value that is no identifier or when none
 * is given.
 */
int desc_ns_id_from_json(struct json_object *o, struct vol_ns_id *ret, const char **ret_key,
			 const char **ret_why);

/**
 * desc_serialise() - the JSON text of @d, pretty-printed, newline-terminated
 * @d: the descriptor
 * @ret_text: the text, to free()
 *
 * Return: 0, -EINVAL for an invalid state in @d, or -ENOMEM.
 */
int desc_serialise(const struct desc *d, char **ret_text);

/**
 * desc_parse() - parse and validate a descriptor held in memory
 * @buf: the text; need not be NUL-terminated; any bytes at all
 * @len: its length
 * @expected_volume: the volume the file is named after; a descriptor for
 *	another volume is refused.  NULL skips that check (the fuzzer).
 * @ret: the descriptor, free with desc_free()
 *
 * The whole input must be one JSON object (trailing whitespace allowed).
 * Pure: touches no file.  This is the entry point of the fuzzer; it must
 * not crash or leak on any input.
 *
 * Return: 0; -EBADMSG (logged) for anything that is not a valid descriptor;
 * -ENOMEM.
 */
int desc_parse(const char *buf, size_t len, const char *expected_volume, struct desc **ret);

/**
 * desc_write() - write @d to $RUNTIME/<volume>.json, atomically
 *
 * Creates the runtime directory if needed.  Refuses (-EINVAL, logged) a
 * descriptor that desc_read() would not accept back.  A symlink planted at
 * the path is replaced, not followed.
 *
 * Return: 0 or negative errno.
 */
int desc_write(const struct desc *d);

/**
 * desc_read() - read $RUNTIME/<volume>.json
 * @volume: a valid volume name
 * @ret: the descriptor, free with desc_free()
 *
 * Return: 0; -EINVAL for an invalid @volume (logged); -ENOENT if the volume
 * has no descriptor; -ELOOP for a symlink; -EFBIG over DESC_SIZE_MAX;
 * -EBADMSG (logged) for invalid content; other negative errno.
 */
int desc_read(const char *volume, struct desc **ret);

/**
 * desc_write_index() - point $RUNTIME/by-uuid/<uuid> of every replica of @d
 * at @d's volume
 *
 * An entry naming another volume whose descriptor exists is a conflict
 * (-EEXIST, logged: the check of volume files should have refused it); one
 * naming a volume without a descriptor is stale and replaced.
 *
 * Return: 1 if an entry was written, 0 if all were already right; -EEXIST;
 * other negative errno.
 */
int desc_write_index(const struct desc *d);

/**
 * desc_remove_index() - remove the by-uuid entries of @d's replicas that
 * name @d's volume (never another volume's)
 *
 * Return: 1 if an entry was removed, 0 if none; negative errno.
 */
int desc_remove_index(const struct desc *d);

/**
 * desc_remove() - remove $RUNTIME/<volume>.json and every by-uuid entry
 * naming @volume
 *
 * Does not need a readable descriptor: the index is scanned, so stale
 * entries go too.
 *
 * Return: 1 if something was removed, 0 if nothing existed; -EINVAL for an
 * invalid @volume; other negative errno.
 */
int desc_remove(const char *volume);

/* An entry of the namespace index (descriptor-index.c). */
struct desc_index_entry {
	char volume[VOL_NAME_MAX + 1];
	char replica[VOL_REPLICA_NAME_MAX + 1];
	bool single;		   /* a one-replica volume */
	char nqn[VOL_NQN_MAX + 1]; /* empty in entries of version 1 */
	struct vol_ns_id ns;
};

/**
 * desc_index_entry_name() - where the index keeps the entry of a replica
 * @nqn, @id:	the replica's subsystem and namespace
 * @ret_dir:	DESC_INDEX_DIR, DESC_INDEX_NGUID_DIR or DESC_INDEX_NSID_DIR
 * @ret_name:	the entry's file name
 * Return: 0; -EINVAL if @id gives nothing; -ENAMETOOLONG for an NSID-only
 * replica whose NQN, escaped, does not fit a file name.
 */
int desc_index_entry_name(const char *nqn, const struct vol_ns_id *id, const char **ret_dir,
			  char ret_name[static NAME_MAX + 1]);

/**
 * desc_index_parse() - parse an entry's text (modified); pure, fuzzable
 * Return: 0, or -EBADMSG.
 */
int desc_index_parse(char *buf, size_t len, struct desc_index_entry *ret);

/**
 * desc_index_find() - the replica that owns a namespace, as udev sees it
 * @nqn:	the subsystem NQN the namespace belongs to
 * @seen:	its identifiers as sysfs shows them (uuid, nguid, nsid)
 *
 * Tries by-uuid, by-nguid and by-nsid in turn; an entry counts only if its
 * subsystem and every identifier it gives match (vol_ns_id_matches()).
 * Return: 0; -ENOENT if no volume owns it; -EBADMSG for an invalid entry;
 * other negative errno.
 */
int desc_index_find(const char *nqn, const struct vol_ns_id *seen, struct desc_index_entry *ret);

/**
 * desc_md_index_write() / desc_md_index_remove() - $RUNTIME/by-md-uuid/<uuid>, read
 * by the udev rule to name an array's /dev/nvmf-raid link
 */
int desc_md_index_write(const char *md_uuid, const char *volume);
int desc_md_index_remove(const char *md_uuid);

/**
 * desc_md_dev_index_write() - $RUNTIME/by-md-dev/<mdN> for the running array
 * @mddev (/dev/mdN) of @volume, with its array UUID @md_uuid
 *
 * The udev rule names the /dev/nvmf-raid link from this entry when an
 * event on the array comes without MD_UUID: 63-md-raid-arrays.rules runs
 * no `mdadm --detail` for some array states, and mdadm may fail on the
 * array it does run for.  Without it such a "change" drops the link.
 * Return: 0 or negative errno (-EINVAL for a node that is no /dev/mdN).
 */
int desc_md_dev_index_write(const char *mddev, const char *volume, const char *md_uuid);

/**
 * desc_md_dev_index_remove() - remove $RUNTIME/by-md-dev/<mdN> if it names
 * @volume (another volume may have the kernel name by now)
 * Return: 1 if removed, 0 if there was none of @volume, negative errno.
 */
int desc_md_dev_index_remove(const char *mddev, const char *volume);
