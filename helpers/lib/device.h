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
#include <stdint.h>

#include <libudev.h>

#include "macro.h"
#include "volume.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev *, udev_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_monitor *, udev_monitor_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_device *, udev_device_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct udev_enumerate *, udev_enumerate_unref);

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
 * dev_trigger_change() - ask udev to reprocess @syspath (a "change"
 * uevent), e.g. after the index a rule reads was written or removed
 */
int dev_trigger_change(const char *syspath);

/**
 * dev_ns_identity() - what NVMe namespace block device @dev shows: the NQN
 * of its subsystem, and its uuid, nguid and nsid attributes (a namespace
 * without a UUID shows its NGUID as "uuid": the kernel's uuid_show())
 * Return: 0; -ENODEV if @dev is no visible NVMe namespace (a hidden
 * multipath path, a partition, not NVMe).
 */
int dev_ns_identity(struct udev_device *dev, char ret_nqn[static VOL_NQN_MAX + 1],
		    struct vol_ns_id *ret);

/**
 * dev_namespace_find() - the visible namespace block device (the
 * multipath head, not a hidden path) of subsystem @nqn that @want names
 * (vol_ns_id_matches())
 * Return: 1 with the device, 0 if none, negative errno on failure.
 */
int dev_namespace_find(struct udev *udev, const char *nqn, const struct vol_ns_id *want,
		       struct udev_device **ret);

/**
 * dev_in_use() - whether @devnode is mounted or held (holders/ not empty)
 * @ret_why: malloc'ed reason when in use
 * Return: 1 in use, 0 not, negative errno.
 */
int dev_in_use(const char *devnode, char **ret_why);

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
