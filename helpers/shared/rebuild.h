/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rebuild_: many arrays heal at once (a storage node with replicas of many
 * volumes comes back) without starving the applications: at most
 * host.conf's max-concurrent arrays rebuild at a time, host-wide, the
 * others wait in a FIFO queue, their returning replicas left "present";
 * each rebuild's rate is capped (md's sync_speed_max) by the volume's
 * rebuild-rate, else host.conf's rate.
 *
 * State lives in flock()ed files, so a process that dies (a monitor
 * killed, a volume detached) frees what it held, and nothing can leak:
 *
 *   $RUNTIME/rebuild/lock          held for the moment one monitor decides
 *   $RUNTIME/rebuild/slots/K       K = 0, 1, …: taken while flock()ed by the
 *                                  monitor whose array rebuilds; holds the
 *                                  volume name (for people, not for us)
 *   $RUNTIME/rebuild/queue/VOLUME  a monitor waiting for a slot: flock()ed
 *                                  by it, holds when it asked (CLOCK_BOOTTIME
 *                                  ns); an entry nobody locks is a dead
 *                                  process's and is ignored
 *
 * The Kth waiter in line (by the time it asked, then by name) takes a
 * slot once K slots are free, so the ones before it still find theirs.
 * A waiter sleeps on inotify: a slot frees when its holder's file is
 * closed (IN_CLOSE_WRITE, also when the holder dies) and a queue place
 * moves up when an entry goes (IN_DELETE) or its waiter dies
 * (IN_CLOSE_WRITE).  Lookers open these files read-only and so wake
 * nobody.
 */

#include <stdbool.h>

struct desc;
struct rebuild;

/**
 * rebuild_new() - a place in the rebuild queue for @volume, not yet taken
 * Return: 0, -EINVAL for an invalid volume name, -ENOMEM.
 */
int rebuild_new(const char *volume, struct rebuild **ret);

/**
 * rebuild_free() - free @rb, releasing its slot and its queue entry
 */
void rebuild_free(struct rebuild *rb);

/**
 * rebuild_request() - ask for a rebuild slot, joining the queue if none
 * is ours to take yet; call again whenever rebuild_fd() is readable
 * @max_concurrent: slots host-wide; 0 is no limit (always granted, no slot)
 *
 * Return: 1 if @rb may rebuild now (holds a slot), 0 if it waits in the
 * queue, negative errno (runtime directory, lock).
 */
int rebuild_request(struct rebuild *rb, unsigned max_concurrent);

/**
 * rebuild_claim() - take a free slot for a rebuild already running (md
 * recovers, but we held no slot: the monitor was restarted), ahead of the
 * queue, since it costs its share of I/O already
 * Return: 1 if taken (or held), 0 if every slot is taken, negative errno.
 */
int rebuild_claim(struct rebuild *rb, unsigned max_concurrent);

/**
 * rebuild_release() - give the slot back (the rebuild ended) and leave
 * the queue; waiters wake
 */
void rebuild_release(struct rebuild *rb);

/**
 * rebuild_holds_slot() - whether @rb holds a slot; @ret_slot its number
 */
bool rebuild_holds_slot(const struct rebuild *rb, unsigned *ret_slot);

/**
 * rebuild_fd() - the fd that is readable when the queue moved, while @rb
 * waits; -EBADF otherwise (poll() ignores it)
 */
int rebuild_fd(const struct rebuild *rb);

/**
 * rebuild_drain() - read what made rebuild_fd() readable
 */
void rebuild_drain(struct rebuild *rb);

/**
 * rebuild_queue_position() - where @volume waits in the queue now
 * @ret_pos:	its place, 1 for the next to start
 * @ret_len:	waiters in the queue
 *
 * Reads only, and waits for nothing: an entry is told live by a
 * non-blocking shared flock() that fails; it opens nothing for writing,
 * so no waiter wakes.
 * Return: 1 if @volume waits, 0 if not (or no queue), negative errno.
 */
int rebuild_queue_position(const char *volume, unsigned *ret_pos, unsigned *ret_len);

/**
 * rebuild_set_rate() - cap md's rebuild rate of @mddev at @kib_s KiB/s
 * (sync_speed_max; sync_speed_min too when it is lower than md's minimum,
 * which md otherwise runs at regardless); 0 (no rate configured) changes
 * nothing: md's limits, or what the admin set on the array, stay
 * Return: 0 or negative errno.
 */
int rebuild_set_rate(const char *mddev, unsigned kib_s);

/*
 * The monitor's hooks (reconcile.c, nvmf-raid-monitor.c).  A monitor
 * watches one volume, so the process has one place in the queue, kept
 * here: its fds must live as long as the process does.
 */

/**
 * rebuild_put_back() - before a returning replica of @volume is re-added
 * to @mddev: take a slot (and set the rate), or wait in the queue
 *
 * Logs the decision.  A failure of the queue itself (no runtime
 * directory) lets the rebuild go: healing matters more than the limit.
 * Return: 1 to go ahead, 0 to leave the replica present for now.
 */
int rebuild_put_back(const char *volume, const char *mddev);

/**
 * rebuild_heal_unthrottled() - before @mddev of @volume recovers a member
 * from the write-intent bitmap: let md copy the dirty chunks at the
 * array's sync_speed_max (the rebuild rate, the admin's, or md's
 * speed_limit_max), although the array sees other I/O
 *
 * Above sync_speed_min (1000 KiB/s), while the array sees other I/O, md
 * lets its recovery requests drain before it issues more (md_do_sync(),
 * is_mddev_idle(), drivers/md/md.c): a heal of a few MiB of dirty chunks
 * under an application's writes crawled at about 17 MB/s where a full
 * resync ran at 95 MB/s.  The array's own sync_speed_min is kept and
 * put back by rebuild_heal_done(); a full recovery is left to md's
 * throttle, which lets the application's I/O go first.
 * Return: 0 or negative errno (the heal goes on, throttled).
 */
int rebuild_heal_unthrottled(const char *volume, const char *mddev);

/**
 * rebuild_heal_done() - put back the sync_speed_min that
 * rebuild_heal_unthrottled() replaced (at once: the heal did not start,
 * or it ended); nothing if it replaced none, or if the array's
 * sync_speed_min is no longer what it set (the admin's since)
 *
 * A monitor restarted during a heal does not know what it replaced: the
 * array keeps the raised sync_speed_min, as md keeps any.
 */
void rebuild_heal_done(void);

/**
 * rebuild_pass_done() - after a reconcile pass over @d: give the slot back
 * once no replica rebuilds, leave the queue if no replica asked to be put
 * back, claim a slot for a rebuild that runs without one
 */
void rebuild_pass_done(const struct desc *d);

/**
 * rebuild_wait_fd() - rebuild_fd() of the process's place; -EBADF when
 * it does not wait
 */
int rebuild_wait_fd(void);

/**
 * rebuild_wait_drain() - rebuild_drain() of the process's place
 */
void rebuild_wait_drain(void);
