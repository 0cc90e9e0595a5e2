/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fab_: NVMe-oF controllers of a volume's replicas, through libnvme.
 *
 * libnvme 1.3 returns -1 with errno, sometimes set to ENVME_CONNECT_*
 * (>= 1000); the wrappers here turn both into negative errno values, so
 * neither escapes this module.
 */

#include <stdbool.h>
#include <stdint.h>

#include "volume.h"

/**
 * fab_connect_replica() - connect every portal of @r that has no
 * controller yet, with @v's timeouts and this host's NQN and ID
 * (hostid_get(): /etc/nvme/hostnqn and hostid, created when missing)
 *
 * Also sets ctrl_loss_tmo, reconnect_delay and fast_io_fail_tmo through
 * sysfs on every controller of the replica (libnvme 1.3 drops negative
 * values from the connect options, so ctrl_loss_tmo=-1 would become the
 * kernel's 600 s).  fast_io_fail_tmo holds until the monitor takes the
 * member over and turns it off (fo_sample()); off from the start for a
 * volume of one replica.
 * Each portal that fails is warned about here, once, with its address and
 * the reason; the caller does not warn again for the replica.
 * A replica with a dhchap-key (and dhchap-ctrl-key) or tls = yes is
 * connected only as secured as that, verified after the connect
 * (fabsec.h): a controller the kernel connected without authenticating or
 * without TLS is disconnected again.  The keys are read from their files
 * (secret.h) for the connect and wiped right after.
 * Return: number of portals connected now (>= 0) if at least one portal
 * has a controller afterwards, else the last error: -EKEYREJECTED when
 * authentication or TLS failed or was not done, or a key file was refused
 * (logged here at error level, naming the replica); -EOPNOTSUPP when the
 * kernel cannot do what the replica asks (logged); the error of
 * hostid_get() (logged there) if the identity cannot be had.
 */
int fab_connect_replica(const struct vol_volume *v, const struct vol_replica *r);

/**
 * fab_replica_refuses() - whether every portal of @r answers a TCP
 * connect with a reset (ECONNREFUSED): nothing listens there, so a connect
 * is sure to fail, the kernel's after making and deleting a controller
 * (a device, its uevents, its log lines)
 * @timeout_ms:	how long each probe may wait for an answer
 *
 * For the monitor's retries of a replica that is away: 8 volumes whose
 * replicas' node was down made and deleted 8 controllers a second (every
 * reconnect-delay), and their uevents, scans and log lines left the guest
 * no CPU for the application.  A probe is a TCP handshake and a close,
 * nothing of NVMe/TCP.  Portals of other transports, or bound to an
 * interface (host_iface), are not probed: they count as not refusing.
 * Return: true only if every portal refused.
 */
bool fab_replica_refuses(const struct vol_replica *r, int timeout_ms);

/**
 * fab_disconnect_nqn() - delete every controller of subsystem @nqn but
 * those being deleted already
 * Return: number of controllers deleted, or negative errno.
 */
int fab_disconnect_nqn(const char *nqn);

/**
 * fab_count_ctrls() - number of controllers of subsystem @nqn that are
 * not being deleted (sysfs)
 *
 * A controller in deletion can hold its sysfs entry for the kernel's
 * admin timeout (nvme_core.admin_timeout, 60 s): its shutdown waits for
 * a target that a silent partition keeps from answering.  The kernel
 * connects a new controller to the subsystem meanwhile (its duplicate
 * check, nvmf_ctlr_matches_baseopts(), passes over deleting ones).
 * Return: the number, or negative errno.
 */
int fab_count_ctrls(const char *nqn);

/**
 * fab_ctrl_live() - whether a controller of @nqn is "live" (sysfs)
 */
bool fab_ctrl_live(const char *nqn);

/**
 * fab_rescan_nqn() - ask every controller of @nqn to rescan its
 * namespaces (sysfs rescan_controller); asynchronous: a size that changed
 * is announced by a "change" uevent of the namespace
 * Return: number of controllers asked.
 */
int fab_rescan_nqn(const char *nqn);

/**
 * fab_ns_listed() - whether a live controller of subsystem @nqn lists an
 * active namespace @want names (vol_ns_id_matches()), asked with Identify
 * (Active Namespace ID list, then each namespace's identifiers): what the
 * subsystem has, before the kernel's scan and udev announce it
 * Return: 1 if one does, 0 if those that answered do not, -ENODEV if no
 * live controller answered (negative errno).
 */
int fab_ns_listed(const char *nqn, const struct vol_ns_id *want);

/**
 * fab_ns_size() - the size in bytes the target gives namespace @node
 * (e.g. /dev/nvme0n1) now, asked with Identify Namespace: what the block
 * device's size becomes once a rescan has been through
 * Return: 0, or negative errno.
 */
int fab_ns_size(const char *node, uint64_t *ret);

/**
 * fab_errno() - map libnvme's errno (ENVME_CONNECT_* included) to an errno
 */
int fab_errno(int e);
