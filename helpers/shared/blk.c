/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkid/blkid.h>

#include "blk.h"
#include "log.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(blkid_probe, blkid_free_probe);

/* blkid spells an md member's array UUID as a UUID; mdadm groups the
 * same 16 bytes in four words. */
static char *md_spelling(const char *uuid)
{
	char hex[33], *ret;
	size_t n = 0;

	for (const char *p = uuid; *p && n < 32; p++)
		if (*p != '-')
			hex[n++] = *p;
	hex[n] = 0;
	if (n != 32 || asprintf(&ret, "%.8s:%.8s:%.8s:%.8s", hex, hex + 8, hex + 16, hex + 24) < 0)
		return NULL;
	return ret;
}

int blk_probe_signature(const char *dev, char **ret_what, char **ret_md_uuid)
{
	_cleanup_(blkid_free_probep) blkid_probe pr = NULL;
	const char *type = NULL;
	char *what = NULL;
	int r;

	errno = 0;
	pr = blkid_new_probe_from_filename(dev);
	if (!pr)
		return errno > 0 ? -errno : -ENOMEM;
	/* Everything libblkid knows, not just filesystems: a partition table
	 * or a RAID/LVM/crypto signature is data we must not overwrite. */
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_UUID);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);

	r = blkid_do_safeprobe(pr);
	if (r == -2) {
		/* Two signatures claim the device: certainly not blank. */
		what = strdup("ambivalent signatures");
		if (!what)
			return -ENOMEM;
		*ret_what = what;
		return 1;
	}
	if (r < 0)
		return -EIO;
	if (ret_md_uuid)
		*ret_md_uuid = NULL;
	if (r == 1) {
		*ret_what = NULL;
		return 0;
	}
	if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
		const char *uuid;

		what = strdup(type);
		if (ret_md_uuid && streq(type, "linux_raid_member") &&
		    blkid_probe_lookup_value(pr, "UUID", &uuid, NULL) == 0)
			*ret_md_uuid = md_spelling(uuid);
	} else if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0)
		r = asprintf(&what, "partition table %s", type) < 0 ? -ENOMEM : 0;
	else
		what = strdup("unknown signature");
	if (!what)
		return -ENOMEM;
	*ret_what = what;
	return 1;
}

int blk_may_write(const char *dev, const char *md_uuid, char **ret_what, char **ret_md_uuid)
{
	_cleanup_free_ char *what = NULL, *uuid = NULL;
	int k;

	*ret_what = NULL;
	if (ret_md_uuid)
		*ret_md_uuid = NULL;
	k = blk_probe_signature(dev, &what, &uuid);
	if (k < 0)
		return k;
	if (k == 0)
		return BLK_BLANK;
	if (uuid && md_uuid && streq(uuid, md_uuid))
		return BLK_OURS;
	*ret_what = TAKE_PTR(what);
	if (ret_md_uuid)
		*ret_md_uuid = TAKE_PTR(uuid);
	return BLK_FOREIGN;
}
