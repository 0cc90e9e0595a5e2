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
 *             5 bytes, '~', and 16 hex digits of FNV-1a-64 of the whole
 *             name (22 bytes), so "nvmf-raid:" + name fits the 32 bytes;
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
	bool is_member;		/* an md superblock was found */
	char uuid[36];		/* MD_UUID, mdadm's "xxxxxxxx:xxxxxxxx:…" form */
	char name[64];		/* MD_NAME, "homehost:name" */
	char level[16];		/* MD_LEVEL */
	unsigned devices;	/* MD_DEVICES */
	uint64_t events;	/* MD_EVENTS */
	char dev_uuid[36];	/* MD_DEV_UUID, this member's own UUID */
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

/**
 * md_mdadm() - run mdadm with the arguments after it (NULL terminated);
 * its stderr is logged at error level on failure.
 * Return: 0, -ENOENT if mdadm is missing, -EIO if it failed.
 */
int md_mdadm(const char *arg, ...) __attribute__((sentinel));

/**
 * md_mdadm_quiet() - md_mdadm() for attempts that may fail: a failure is
 * logged at debug level only
 */
int md_mdadm_quiet(const char *arg, ...) __attribute__((sentinel));

/**
 * md_member_state() - the md state of member @member (device node or
 * kernel name) of array @mddev, e.g. "in_sync", "faulty,write_error"
 * Return: 0, or -ENOENT when it is not a member.
 */
int md_member_state(const char *mddev, const char *member, char *buf, size_t size);

/**
 * md_member_read_u64() - the number in dev-<member>/@attr of array @mddev,
 * e.g. "size" (KiB md uses) or "offset" (data offset, sectors)
 * Return: as md_sysfs_read_u64(); -ENOENT when it is not a member.
 */
int md_member_read_u64(const char *mddev, const char *member, const char *attr, uint64_t *ret);

/**
 * md_sysfs_read_u64() - read the number in /sys/block/<mdX>/md/@attr,
 * e.g. "component_size" or "dev-nvme1n1/offset"
 * Return: 0, -ENOENT, -EINVAL when it is not a number ("none").
 */
int md_sysfs_read_u64(const char *mddev, const char *attr, uint64_t *ret);

/**
 * md_sysfs_write() - write @value to /sys/block/<mdX>/md/@attr
 * Return: 0 or negative errno.
 */
int md_sysfs_write(const char *mddev, const char *attr, const char *value);

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
 * Return: as md_mdadm().
 */
int md_grow(const char *mddev, const char *arg, bool force);

/**
 * md_mdadm_argv() - md_mdadm() with the arguments as a NULL-terminated array
 */
int md_mdadm_argv(const char *const *args);

/**
 * md_start() - create or assemble the RAID1 /dev/md/@name with array UUID
 * @uuid (mdadm spelling) over @n members
 * @members:	device nodes; NULL for a slot left out ("missing" on create,
 *		omitted on assemble)
 * @run:	assemble with --run: start although members are left out
 *
 * Create: metadata 1.2, internal bitmap with md_bitmap_chunk_kib() of the
 * smallest member, homehost MD_HOMEHOST, name @name, the given UUID.  An
 * array that comes up auto-read-only is set read-write (mdadm
 * --readwrite), so that a resync it needs runs now, not at the first write.
 * Return: as md_mdadm().
 */
int md_start(bool create, const char *name, const char *uuid, const char *const *members,
	     unsigned n, bool run);

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
