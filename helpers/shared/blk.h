/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * blk_: what a block device holds, through libblkid.  mdadm --create is
 * only ever run on devices this module calls blank.
 */

/**
 * blk_probe_signature() - look for any signature on @dev: filesystem,
 * RAID member, LVM PV, swap, crypto, or a partition table
 * @ret_what:	malloc'ed description ("ext4", "linux_raid_member",
 *		"partition table gpt"), or NULL when blank
 * @ret_md_uuid: if not NULL, for an md member the array UUID in mdadm's
 *		spelling (xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx), malloc'ed; else NULL
 *
 * Return: 0 blank, 1 a signature was found (two conflicting ones count),
 * negative errno on failure.
 */
int blk_probe_signature(const char *dev, char **ret_what, char **ret_md_uuid);

/* What blk_may_write() found: whether mdadm may write on a device. */
enum blk_use {
	BLK_BLANK,   /* no signature: may be created over or added */
	BLK_OURS,    /* a superblock of this volume's array: may be reused */
	BLK_FOREIGN, /* anything else: never touched */
};

/**
 * blk_may_write() - the one "may we write on this device" check: blank,
 * or a member of our own array @md_uuid (mdadm spelling), else refused
 * @ret_what:	for BLK_FOREIGN, what it holds ("ext4", "linux_raid_member",
 *		…), malloc'ed; else NULL
 * @ret_md_uuid: if not NULL, for BLK_FOREIGN held by another md array, its
 *		UUID, malloc'ed; else NULL
 *
 * Logs nothing: the caller words the refusal (refusing to create, not
 * adding it back, nothing changed).
 * Return: an enum blk_use, or negative errno when @dev cannot be probed.
 */
int blk_may_write(const char *dev, const char *md_uuid, char **ret_what, char **ret_md_uuid);
