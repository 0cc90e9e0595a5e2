/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * health_: what the users of an attached volume see, watched by the
 * monitor beside reconcile's replica handling.  The device link
 * /dev/nvmf-raid/VOLUME must lead to the array (or the one namespace) of
 * the descriptor: when it is missing or wrong, udev is asked to run the
 * rules for the device again ("change"), and the link is checked once
 * udev has handled that event.  An array md will not write to (broken,
 * read-only, stopped) is reported.  Each finding is logged once, as a
 * journal event (event.h); the notify program is not run, its events are
 * fixed by the contract.
 */

#include <stdbool.h>
#include <stdint.h>

#include <libudev.h>

struct health {
	int inotify_fd;		  /* wakes the monitor when the link changes */
	int wd_links;		  /* watch of /dev/nvmf-raid, or -1 */
	int wd_dev;		  /* watch of /dev while /dev/nvmf-raid is missing, or -1 */
	bool link_lost;		  /* EVENT_LINK_LOST logged; not repaired since */
	uint64_t link_retry_usec; /* after a failed repair: no new one before */
	char unwritable[24];	  /* array_state EVENT_ARRAY_UNWRITABLE named, or "" */
};

/**
 * health_open() - set up @h, with an inotify descriptor to poll for POLLIN
 * Return: 0 or negative errno.
 */
int health_open(struct health *h);

/**
 * health_close() - release what health_open() set up
 */
void health_close(struct health *h);

/**
 * health_drain() - read the pending inotify events of @h (their content
 * does not matter: the next health_check() looks at the link itself)
 */
void health_drain(struct health *h);

/**
 * health_check() - look at the link and the array of volume @volume now,
 * repair the link if needed, and log what changed since the last call
 * @ret_retry_ms: -1, or when to call again without an event (a repair
 *		that failed is tried again then)
 * Return: 0 when the link leads where it should (or there is nothing to
 * link: the array or namespace is not there), 1 when it was repaired,
 * -ENOLINK when it could not be, -ENOENT when the volume is not attached,
 * other negative errno.
 */
int health_check(struct health *h, struct udev *udev, const char *volume, int *ret_retry_ms);
