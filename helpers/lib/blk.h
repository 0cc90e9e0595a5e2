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
