/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * md_: the MD RAID1 array of a volume, driven through mdadm.
 *
 * Identity.  The superblock (metadata 1.2) keeps "homehost:name" in 32
 * bytes, too short for a 64-byte volume name, so the array gets a derived
 * name and a derived UUID, both functions of the volume name alone:
 *
 *   homehost  "nvmf-raid"  (never this machine's name: the array belongs
 *             to the volume, not to a host, and moves with it)
 *   name      the volume name if it has at most 22 bytes, else its first
 *             5 bytes, '_', and 16 hex digits of FNV-1a-64 of the whole
 *             name (22 bytes), so "nvmf-raid:" + name fits the 32 bytes.
 *             Only POSIX portable filename characters: mdadm 4.3 and later
 *             (Debian 13) refuse any other in a name it creates (mdadm.c,
 *             is_name_posix_compatible()).  Arrays created with '~' by
 *             earlier versions still assemble: by UUID, not by name;
 *   UUID      FNV-1a-64 of "nvmf-raid\0" + name, then FNV-1a-64 of
 *             "nvmf-raid-uuid\0" + name, as 16 bytes, with the RFC 9562
 *             version 8 and variant bits set.
 *
 * A member whose superblock carries that UUID belongs to this volume;
 * anything else is foreign and never touched.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_HOMEHOST "nvmf-raid"
#define MD_NAME_MAX 22

struct md_examine {
	bool is_member;	   /* an md superblock was found */
	char uuid[36];	   /* MD_UUID, mdadm's "xxxxxxxx:xxxxxxxx:…" form */
	char name[64];	   /* MD_NAME, "homehost:name" */
	char level[16];	   /* MD_LEVEL */
	unsigned devices;  /* MD_DEVICES */
	uint64_t events;   /* MD_EVENTS */
	char dev_uuid[36]; /* MD_DEV_UUID, this member's own UUID */
};

/**
 * md_name_for_volume() - the md array name of volume @vol (see above)
 * @ret: at least MD_NAME_MAX + 1 bytes
 */
void md_name_for_volume(const char *vol, char *ret);

/**
 * md_uuid_for_volume() - the array UUID of volume @vol, in mdadm's
 * "xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx" spelling
 * @ret: at least 36 bytes
 */
void md_uuid_for_volume(const char *vol, char *ret);

/**
 * md_parse_examine() - parse `mdadm --examine --export DEV` output
 * Return: 0 (ret->is_member tells whether a superblock was found), or
 * -EINVAL for malformed output.
 */
int md_parse_examine(const char *out, struct md_examine *ret);

/**
 * md_bitmap_chunk_kib() - write-intent bitmap chunk for an array of
 * @size_bytes: about 4096 bits, between 1 MiB and 64 MiB, a power of two.
 * mdadm's own choice (64 MiB and up) makes a returning replica on a small
 * volume resync nearly everything.
 */
unsigned md_bitmap_chunk_kib(uint64_t size_bytes);

/**
 * md_examine() - run `mdadm --examine --export` on @dev
 * Return: 0 with @ret filled, -ENOENT when mdadm is missing, other
 * negative errno on failure.
 */
int md_examine(const char *dev, struct md_examine *ret);

/*
 * Named operations, each one mdadm command.  A failure is logged once, here,
 * with mdadm's own message (at error level unless said otherwise): a caller
 * does not log it again, it logs only what it decides from it.
 * Return (each): 0, -ENOENT if mdadm is missing (logged: the package to
 * install), -EIO if it failed, other negative errno.
 */

/**
 * md_add() - `mdadm @mddev --add @member`: a spare md recovers in full
 */
int md_add(const char *mddev, const char *member);

/**
 * md_re_add() - `mdadm @mddev --re-add @member`: back with the write-intent
 * bitmap; an attempt (md refuses a member that missed more than the bitmap
 * covers), so a failure is logged at debug level only
 * @ret_why:	NULL, or set to mdadm's message when it failed (free() it;
 *		NULL when mdadm said nothing), for the caller's log
 *
 * Return: 0, -EIO when mdadm failed, or a negative errno when it could not
 * be run.
 */
int md_re_add(const char *mddev, const char *member, char **ret_why);

/**
 * md_remove() - `mdadm @mddev --remove @member`
 */
int md_remove(const char *mddev, const char *member);

/**
 * md_remove_gone() - every member of @mddev that md failed out of the
 * array, as `mdadm --remove failed` (through sysfs: "remove" to
 * md/dev-X/state); one md still uses is left (EBUSY)
 * Return: 0, or the first error.
 */
int md_remove_gone(const char *mddev);

/**
 * md_fail() - `mdadm @mddev --fail @member`
 */
int md_fail(const char *mddev, const char *member);

/**
 * md_stop() - `mdadm --stop @mddev`; md refuses an array that is open.  A
 * failure is logged at debug level only: the caller says what it means
 * (not detaching, an interrupted start left behind).
 */
int md_stop(const char *mddev);

/**
 * md_zero_superblock() - `mdadm --zero-superblock @member`
 */
int md_zero_superblock(const char *member);

/**
 * md_member_state() - the md state of member @member (device node or
 * kernel name) of array @mddev, e.g. "in_sync", "faulty,write_error"
 * Return: 0, or -ENOENT when it is not a member.
 */
int md_member_state(const char *mddev, const char *member, char *buf, size_t size);

/**
 * md_member_set_write_mostly() - set or clear md's write-mostly flag of
 * member @member of array @mddev: md then reads from it only when no other
 * member can serve the read (raid1.c read_balance()); the flag is kept in
 * the member's superblock (md.c state_store(): "writemostly",
 * "-writemostly")
 * Return: 1 if changed, 0 if it was so already, -ENOENT when @member is
 * not a member, other negative errno.
 */
int md_member_set_write_mostly(const char *mddev, const char *member, bool on);

/**
 * md_member_read_u64() - the number in dev-<member>/@attr of array @mddev,
 * e.g. "size" (KiB md uses) or "offset" (data offset, sectors)
 * Return: 0, -ENOENT when it is not a member, -EINVAL when it is not a
 * number ("none").
 */
int md_member_read_u64(const char *mddev, const char *member, const char *attr, uint64_t *ret);

/**
 * md_freeze() - stop resync and recovery of @mddev and keep md from
 * starting any (sync_action "frozen"), also onto a spare just added;
 * waits (at most 10 s) until a running one has ended
 * Return: 1 if frozen now, 0 if it already was (whoever froze it thaws
 * it), negative errno.
 */
int md_freeze(const char *mddev);

/**
 * md_thaw() - undo md_freeze() if it returned 1 (@frozen); md then
 * resumes from its checkpoint and puts spares to use
 */
void md_thaw(const char *mddev, int frozen);

/**
 * md_thaw_leftover() - end a freeze a killed helper left on @mddev
 *
 * Every freeze of ours (md_freeze(), md_grow()) happens under the volume
 * lock and is undone before it is released; call this with the lock held:
 * an array frozen then was frozen by a helper that was killed, and would
 * otherwise never resync or recover again.
 * Return: 1 if it was frozen and is thawed now, 0 if it was not frozen,
 * negative errno.
 */
int md_thaw_leftover(const char *mddev);

/**
 * md_grow() - `mdadm --grow @mddev @arg` (e.g. "--size=max",
 * "--raid-devices=3") with any resync frozen meanwhile, as md refuses
 * both changes while one runs; the resync resumes afterwards unless the
 * caller had frozen it
 * @force: pass --force, e.g. to add slots that no spare fills yet
 * Return: as md_add().
 */
int md_grow(const char *mddev, const char *arg, bool force);

/**
 * md_create() - create the RAID1 /dev/md/@name with array UUID @uuid
 * (mdadm spelling) over @n members
 * @members:	device nodes; NULL for a slot left out ("missing")
 *
 * Metadata 1.2, internal bitmap with md_bitmap_chunk_kib() of the smallest
 * member, homehost MD_HOMEHOST, name @name, the given UUID.  An array that
 * comes up auto-read-only is set read-write (mdadm --readwrite), so that a
 * resync it needs runs now, not at the first write.
 * Return: as md_add().
 */
int md_create(const char *name, const char *uuid, const char *const *members, unsigned n);

/**
 * md_assemble() - assemble /dev/md/@name (array UUID @uuid) from the
 * members of @members that are not NULL; read-write as md_create()
 * @run:	with --run: start although members are left out
 * Return: as md_add().
 */
int md_assemble(const char *name, const char *uuid, const char *const *members, unsigned n, bool run);

/**
 * md_member_in_sync() - whether @member (a device node) is an in-sync
 * member of the array @mddev (its /dev/mdX node), per sysfs
 */
bool md_member_in_sync(const char *mddev, const char *member);

/**
 * md_holder() - the md array that holds block device @member, running or
 * not (md lists itself in its members' holders/)
 * @sys_block:	the sysfs directory of block devices; NULL for
 *		/sys/class/block (tests pass a scratch tree)
 * @member:	device node or kernel name
 * @ret:	"/dev/mdX"
 * Return: 1 with @ret set, 0 if no md array holds it, negative errno.
 */
int md_holder(const char *sys_block, const char *member, char ret[static 32]);

/**
 * md_array_active() - whether the array @mddev (/dev/mdX) is running
 */
bool md_array_active(const char *mddev);

/*
 * md's sysfs files (/sys/block/<mdX>/md/…), read and written here only.
 * @mddev is the array's node (/dev/mdX) or kernel name.  Reads return 0,
 * -ENOENT (no such array or file), or other negative errno; the text ones
 * give the first line without its newline.
 */

/** md_array_state() - "clean", "active", "inactive", "broken", … */
int md_array_state(const char *mddev, char *buf, size_t size);

/** md_sync_action() - "idle", "resync", "recover", "frozen", … */
int md_sync_action(const char *mddev, char *buf, size_t size);

/** md_sync_completed() - "DONE / TOTAL" sectors, "none" or "delayed" */
int md_sync_completed(const char *mddev, char *buf, size_t size);

/** md_degraded() - the number of slots without an in-sync member */
int md_degraded(const char *mddev, uint64_t *ret);

/** md_component_size_kib() - the size each member gives the array, KiB */
int md_component_size_kib(const char *mddev, uint64_t *ret);

/** md_raid_disks() - the number of slots */
int md_raid_disks(const char *mddev, uint64_t *ret);

/**
 * md_sync_speed_local() - the resync rate cap set on this array
 * Return: 1 with the cap (KiB/s) in @ret, 0 if md's system-wide one
 * applies, negative errno.
 */
int md_sync_speed_local(const char *mddev, unsigned *ret);

/**
 * md_sync_speed_read() - the rate in force of @attr ("sync_speed_max" or
 * "sync_speed_min"), in KiB/s, and whether it is the array's own
 * ("local") or md's system-wide one
 * Return: 0, -EINVAL for another @attr or an unexpected value, or the
 * negative errno of the read.
 */
int md_sync_speed_read(const char *mddev, const char *attr, unsigned *ret, bool *ret_local);

/**
 * md_set_sync_speed_min() - set sync_speed_min alone (KiB/s as text, or
 * "system"): the rate above which md throttles a resync or recovery while
 * the array sees other I/O (md_do_sync(), drivers/md/md.c)
 * Return: 0 or negative errno.
 */
int md_set_sync_speed_min(const char *mddev, const char *min);

/**
 * md_set_sync_speed() - set sync_speed_min to @min and sync_speed_max to
 * @max (KiB/s as text, or "system")
 * Return: 0 or negative errno.
 */
int md_set_sync_speed(const char *mddev, const char *min, const char *max);

/**
 * md_open_watches() - open (and read once) the files of @mddev that wake
 * a poller on a change (POLLPRI|POLLERR): degraded, sync_action,
 * array_state and each member's state
 * @fds:	up to @max file descriptors, the caller's to close
 * @vals:	what each showed at that read (its first line, truncated)
 * Return: the number opened.
 */
#define MD_WATCH_VAL_MAX 32
unsigned md_open_watches(const char *mddev, int *fds, char (*vals)[MD_WATCH_VAL_MAX], unsigned max);
