/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hostid_: this host's NVMe-oF identity, the host NQN and host ID that every
 * controller nvmf-raid connects carries (contract.md "Host identity").
 *
 * They live where nvme-cli and libnvme keep them, /etc/nvme/hostnqn and
 * /etc/nvme/hostid (not under our sysconfdir: the files are shared with
 * those tools).  Without them libnvme 1.3 makes up a random host NQN on
 * every run and sends no host ID, so targets with host ACLs refuse us; so
 * the first caller that finds a file missing creates it, once.
 */

#include <stdbool.h>

#include <systemd/sd-id128.h>

#define HOSTID_DIR "/etc/nvme"
#define HOSTID_DMI_UUID "/sys/class/dmi/id/product_uuid"
/* Tests point these at a scratch directory and a fake DMI UUID; ignored in
 * setuid/setgid programs (secure_getenv()). */
#define HOSTID_DIR_ENV "NVMF_RAID_NVME_ETC"
#define HOSTID_DMI_UUID_ENV "NVMF_RAID_DMI_PRODUCT_UUID"

/* Ours, for sd_id128_get_machine_app_specific(): a host without a DMI
 * system UUID gets one derived from its machine ID, stable without giving
 * the machine ID away (machine-id(5)).  Changing it changes their identity. */
#define HOSTID_APP_ID SD_ID128_MAKE(45, 7f, ce, 97, 53, 07, 40, 80, 98, 63, 4a, c7, ad, 9b, 62, d3)

#define HOSTID_NQN_MAX 223 /* NVMe base spec, and the kernel's NVMF_NQN_SIZE */
#define HOSTID_NQN_UUID_PREFIX "nqn.2014-08.org.nvmexpress:uuid:"

/**
 * hostid_dir() - the directory of hostnqn and hostid
 *
 * Return: $NVMF_RAID_NVME_ETC if set, else HOSTID_DIR.
 */
const char *hostid_dir(void);

/**
 * hostid_nqn_check() - whether @nqn can be a host NQN
 * @nqn:	the candidate, not NULL
 * @ret_why:	if not NULL, set to a static reason on failure
 *
 * Looser than a subsystem NQN's check: an admin's own host NQN is kept as
 * long as the kernel takes it: 1 to 223 bytes, "nqn." first, printable
 * ASCII, no ',' (the kernel splits its connect options there).
 *
 * Return: 0, or -EINVAL.
 */
int hostid_nqn_check(const char *nqn, const char **ret_why);

/**
 * hostid_get() - this host's host NQN and host ID, created when missing
 * @ret_hostnqn:	the host NQN (first line of hostnqn, trimmed), to free()
 * @ret_hostid:		the host ID, a canonical lower-case UUID, to free()
 *
 * Reads hostnqn and hostid in /etc/nvme ($NVMF_RAID_NVME_ETC), following
 * symlinks as nvme-cli does, so that both tools use one identity.  A file
 * that is missing or empty is created (the directory too, 0755), mode 0644,
 * atomically, under an flock() of the directory, so that concurrent callers
 * all end with what the first one wrote:
 *  - hostnqn: HOSTID_NQN_UUID_PREFIX + the UUID of an existing hostid, else
 *    the DMI system UUID (/sys/class/dmi/id/product_uuid,
 *    $NVMF_RAID_DMI_PRODUCT_UUID) unless it is unreadable, malformed, nil
 *    or all-FF, else a UUID derived from /etc/machine-id for this
 *    application, else a random one;
 *  - hostid: the UUID of a "…:uuid:<uuid>" host NQN, else as above.
 * Each creation is logged once at notice level.  A file that cannot be
 * written fails the call: no controller is connected under an identity the
 * host would not keep.  Errors are logged here, naming the file.
 *
 * Return: 0 if both existed, 1 if a file was created; -EINVAL if a file
 * holds no valid value; -EBADMSG if its first line is blank but not the
 * rest; -ELOOP for a dangling symlink; -EBADFD for a file
 * that is not a regular file; other negative errno.
 */
int hostid_get(char **ret_hostnqn, char **ret_hostid);
