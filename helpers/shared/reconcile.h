/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * reconcile_: bring an attached volume's descriptor and array in line with
 * what md and udev say now.  One pass, idempotent, run by the monitor on
 * every event: a lost member is recorded faulty (event + notify), a
 * namespace that is back is re-added with the bitmap (or added in full when
 * md cannot re-add it), a finished resync makes the replica in sync again,
 * and the in-sync record in /var/lib is kept current.
 */

#include <libudev.h>

#include "descriptor.h"
#include "failover.h"

/* The exit status of a reconnect child whose replica's authentication or
 * TLS was refused (fab_connect_replica() -EKEYREJECTED): tried again
 * after 30 s, 1, 2, 4, 8 and then every 10 minutes while refused with the
 * same key files (reconcile_connect_done()); systemctl reload connects it
 * at once. */
#define RECONCILE_EXIT_REFUSED 77

/* The exit status of a reconnect child that did not connect because every
 * portal of the replica refused a TCP handshake (fab_replica_refuses()):
 * nothing listens there yet.  Every RECONCILE_CONNECT_EVERY-th retry in a
 * row connects without asking first, in case the probe is refused where
 * the kernel's connect would not be (a firewall). */
#define RECONCILE_EXIT_AWAY 78
#define RECONCILE_CONNECT_EVERY 10

/**
 * reconcile_connect_done() - a reconnect child of @t, a replica of
 * @volume, ended with @status
 * @t:		the replica's track (its connecting child is @t->connecting)
 * @status:	the child's wait status
 */
void reconcile_connect_done(const char *volume, struct fo_track *t, int status);

/**
 * reconcile_record() - write /var/lib/nvmf-raid/VOLUME.json (in-sync set
 * of @d, its array UUID and event count) if the set changed; nothing for
 * an array without an in-sync member
 *
 * The record is what keeps a stale replica from being assembled: a caller
 * must not go on as if it were written.  Logs nothing on failure; the
 * caller decides (attach fails, the monitor retries) and says so.
 * Return: 1 if written, 0 if nothing was to be written, negative errno.
 */
int reconcile_record(const struct desc *d);

/**
 * reconcile_write_mostly() - give each member of @d's array md's
 * write-mostly flag as its replica's write-mostly key says
 *
 * md keeps the flag in the member's superblock, so a re-added member has
 * it already; a member added in full, a changed volume file (reload) or
 * an array assembled from members of another setting get it here.  Logs
 * each change, and a failure as a warning: reads then merely go where md
 * sends them.
 * Return: the number of members changed.
 */
unsigned reconcile_write_mostly(const struct desc *d);

/**
 * reconcile_volume() - one pass over volume @name, under its lock
 * @fo:		the monitor's view of the replicas, brought up to date from the
 *		descriptor (fo_volume_load()); its connect children are kept there
 * @ret_mddev:	the array's device node (malloc'ed), or NULL for a volume
 *		without md or an array that is not running
 * @ret_retry_ms: -1, or when to call again without an event (a connect to
 *		retry)
 * Return: 1 if mdadm changed the array (call again once its sysfs files
 * are watched), 0 otherwise; -ENOENT when the volume is not attached (no
 * descriptor); other negative errno.
 */
int reconcile_volume(struct udev *udev, const char *name, struct fo_volume *fo, char **ret_mddev,
		     int *ret_retry_ms);
