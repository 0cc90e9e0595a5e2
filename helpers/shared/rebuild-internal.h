/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside rebuild_: the place of one volume in the queue, shared by
 * rebuild.c and rebuild-monitor.c.  Not for other modules.
 */

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>

#include "rebuild.h"
#include "volume.h"

struct rebuild {
	char volume[VOL_NAME_MAX + 1];
	char entry[NAME_MAX + 1];	/* our queue entry's name (vs_file_name()) */
	int dir_fd, slots_fd, queue_fd; /* $RUNTIME/rebuild and below */
	int slot_fd;			/* the slot held: its lock */
	unsigned slot;
	int entry_fd;	  /* our queue entry: its lock */
	uint64_t asked;	  /* CLOCK_BOOTTIME ns */
	int inotify_fd;	  /* while queued */
	bool wanted;	  /* the monitor: put back asked this pass */
	bool told_queued; /* the monitor: "queued" was logged */
};

/**
 * rebuild_queue_rank() - rebuild_queue_position() in the queue directory
 * @queue_fd
 * Return: 1 with the place, 0 if @volume does not wait, negative errno.
 */
int rebuild_queue_rank(int queue_fd, const char *volume, unsigned *ret_pos, unsigned *ret_len);
