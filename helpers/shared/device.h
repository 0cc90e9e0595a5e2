/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * dev_: block devices of a volume as udev reports them.  Namespaces and
 * arrays of a volume carry the tag "nvmf-raid" and the property
 * NVMF_RAID_VOLUME (rules/63-nvmf-raid.rules).  Waiting is event driven: a
 * udev monitor is opened before anything is connected, existing devices
 * are enumerated after, and poll() waits with a deadline — no sleeps.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libudev.h>

#include "macro.h"
#include "volume.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev *, udev_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_monitor *, udev_monitor_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_device *, udev_device_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_enumerate *, udev_enumerate_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_queue *, udev_queue_unref);

#define DEV_TAG "nvmf-raid"

/**
 * dev_monitor_open() - a monitor of processed block events tagged DEV_TAG
 * Return: 0 or negative errno.
 */
int dev_monitor_open(struct udev *udev, struct udev_monitor **ret);

/**
 * dev_monitor_next() - the next event, waiting until @deadline_usec
 * (CLOCK_MONOTONIC)
 * Return: 1 with a device in @ret, 0 when the deadline passed, negative
 * errno on failure.
 */
int dev_monitor_next(struct udev_monitor *mon, uint64_t deadline_usec, struct udev_device **ret);

/**
 * dev_udev_busy() - whether udev has events queued or being processed
 * (/run/udev/queue, what `udevadm settle` waits for): a device it has not
 * announced yet may still come
 */
bool dev_udev_busy(struct udev *udev);

/**
 * dev_trigger_change() - ask udev to reprocess @syspath (a "change"
 * uevent), e.g. after the index a rule reads was written or removed
 */
int dev_trigger_change(const char *syspath);

/**
 * dev_ns_id_parse() - a namespace's identifiers from the text of its sysfs
 * attributes uuid, nguid and nsid (each NULL when absent; invalid ones
 * count as absent)
 * Return: 0, or -ENODEV without a valid nsid (no NVMe namespace); @ret is
 * filled either way.
 */
int dev_ns_id_parse(const char *uuid, const char *nguid, const char *nsid, struct vol_ns_id *ret);

/**
 * dev_ns_identity() - what NVMe namespace block device @dev shows: the NQN
 * of its subsystem, and its uuid, nguid and nsid attributes (a namespace
 * without a UUID shows its NGUID as "uuid": the kernel's uuid_show())
 * Return: 0; -ENODEV if @dev is no visible NVMe namespace (a hidden
 * multipath path, a partition, not NVMe).
 */
int dev_ns_identity(struct udev_device *dev, char ret_nqn[static VOL_NQN_MAX + 1], struct vol_ns_id *ret);

/**
 * dev_ns_ctrl_live() - whether a controller that reaches namespace @ns (a
 * visible one, as dev_ns_identity() takes) is "live"
 *
 * Reads the state of the controllers of the namespace's own subsystem:
 * those below the nvme-subsystem of a native multipath head, or the one
 * controller of a namespace without multipath (the kernel's
 * nvme_mpath_alloc_disk() and nvme_alloc_ns() parents); not, as
 * fab_ctrl_live() does, the subsystem NQN of every controller of the host.
 * Return: true if one is live.
 */
bool dev_ns_ctrl_live(struct udev_device *ns);

/**
 * dev_namespace_find() - the visible namespace block device (the
 * multipath head, not a hidden path) of subsystem @nqn that @want names
 * (vol_ns_id_matches())
 * Return: 1 with the device, 0 if none, negative errno on failure.
 */
int dev_namespace_find(struct udev *udev, const char *nqn, const struct vol_ns_id *want,
		       struct udev_device **ret);

/**
 * dev_namespace_find_at() - dev_namespace_find(), looking at block device
 * @hint ("/dev/nvme0n1" or "nvme0n1", may be NULL) first: where the
 * namespace was last seen is where it nearly always is, and a look there
 * costs a few sysfs reads, the search one or two per block device of the
 * host.  A @hint that is another device now (a name the kernel gave
 * again) is no match, and the search goes on.
 * Return: as dev_namespace_find().
 */
int dev_namespace_find_at(struct udev *udev, const char *nqn, const struct vol_ns_id *want,
			  const char *hint, struct udev_device **ret);

/* Where the kernel's views are: "/sys", "/proc", "/dev"; tests point
 * them at a scratch tree.  NULL where a function takes one: the real ones. */
struct dev_roots {
	const char *sys;
	const char *proc;
	const char *dev;
};

enum {
	/* An open(O_EXCL) fails: mkfs, swap, LVM, a mount in another mount
	 * namespace, anyone who claimed the device for himself. */
	DEV_USE_EXCLUSIVE = 1 << 0,
	/* A process has the device open, exclusively or not (/proc/PID/fd,
	 * as fuser(1) finds it): a VM's disk, a dd, an os-brick attachment
	 * being used. */
	DEV_USE_OPENERS = 1 << 1,
};

/**
 * dev_in_use() - whether block device @devnode or one of its partitions is
 * mounted or held by another device (holders/: md, dm), and with @flags
 * whether it is claimed exclusively or open by any process
 * @flags: DEV_USE_* beyond mounted and held
 * @ret_why: malloc'ed reason naming the device when in use, e.g.
 *	"/dev/nvme0n2p1 is mounted on /mnt"
 * Return: 1 in use, 0 not, -ENOTBLK if @devnode is not a block device,
 * other negative errno.
 */
int dev_in_use(const char *devnode, unsigned flags, char **ret_why);

/**
 * dev_subsys_in_use() - whether a namespace of NVMe subsystem @nqn other
 * than those in @skip is in use as dev_in_use() with every DEV_USE_* flag
 * says, its generic char device (/dev/ngXnY) open counting too
 * @roots: NULL, or a scratch tree (tests)
 * @skip: namespaces not to count, the caller's own (vol_ns_id_matches()
 *	against what sysfs shows)
 * @n_skip: entries in @skip
 * @ret_why: malloc'ed reason when in use, naming the namespace
 *
 * The namespaces are the visible block devices of the subsystem: the
 * multipath heads nvmeXnY in its sysfs directory
 * (/sys/class/nvme-subsystem/nvme-subsysN), and without native multipath
 * the nvmeXnY below each of its controllers.  Hidden multipath paths
 * (nvmeXcYnZ) are no one's to use.
 * Return: 1 in use, 0 not (also when the subsystem is not connected),
 * negative errno when it cannot be told.
 */
int dev_subsys_in_use(const struct dev_roots *roots, const char *nqn, const struct vol_ns_id *skip,
		      size_t n_skip, char **ret_why);

/* What identifies an open file: a device node by its type and number
 * (every node of a device is the same device), anything else by inode. */
struct dev_key {
	mode_t type; /* S_IFBLK, S_IFCHR, S_IFREG, ... */
	dev_t dev;   /* st_rdev of a device node, else st_dev */
	ino_t ino;   /* 0 for a device node */
};

/**
 * dev_key_from_stat() - the dev_key of what @st describes
 */
void dev_key_from_stat(const struct stat *st, struct dev_key *ret);

/**
 * dev_proc_opener() - a process with an fd open on one of @keys, found by
 * walking @proc/PID/fd as fuser(1) does
 * @proc: "/proc", or a scratch tree
 * @ret_index: which of @keys it has open
 * @ret_pid: the process
 * Return: 1 with both set, 0 when none has, negative errno if @proc cannot
 * be read.  Processes that go away meanwhile are skipped.
 */
int dev_proc_opener(const char *proc, const struct dev_key *keys, size_t n, size_t *ret_index,
		    pid_t *ret_pid);

/**
 * dev_attr_read() - the first line of the sysfs attribute @path, newline
 * stripped
 * Return: 0, -ENODATA for an empty file, other negative errno.
 */
int dev_attr_read(const char *path, char *buf, size_t size);

/**
 * dev_sysfs_read() - the first line of /sys/block/<dev>/@attr, newline
 * stripped; @dev a device node or kernel name, @attr e.g. "size" or
 * "md/sync_action"
 * Return: 0, -EINVAL for a @dev that is no kernel name, other negative errno.
 */
int dev_sysfs_read(const char *dev, const char *attr, char *buf, size_t size);

/**
 * dev_size_bytes() - size of block device @dev (node or kernel name) in
 * bytes, from sysfs; 0 when unknown
 */
uint64_t dev_size_bytes(const char *dev);

uint64_t now_usec(void);
