/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * unit_: start and stop systemd units over sd-bus and wait for their jobs,
 * as "systemctl start/stop" does, for commands that attach volumes through
 * nvmf-raid@VOLUME.service (nvmf-raid os-brick).
 *
 * The system bus is used when there is one; as root without a D-Bus
 * daemon (early boot, minimal hosts, the test guest), systemd's private
 * socket /run/systemd/private, as systemctl does.
 */

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "macro.h"

/* sd-bus.h defines sd_bus_flush_close_unrefp(). */
#define _cleanup_bus_ _cleanup_(sd_bus_flush_close_unrefp)

/**
 * unit_bus_open() - connect to systemd and subscribe to its job signals
 * @ret:	the connection; free with sd_bus_flush_close_unref()
 *
 * Return: 0, or negative errno (logged).
 */
int unit_bus_open(sd_bus **ret);

/**
 * unit_start() - start @unit (mode "replace") and wait for its job
 * @bus:	from unit_bus_open()
 * @unit:	a full unit name, e.g. "nvmf-raid@db1.service"; the caller
 *		validated what it was built from
 *
 * Return: 0 when the job finished "done"; -EIO when it finished otherwise
 * (failed, timeout, dependency…: logged with the result; see
 * unit_exit_status() for why); other negative errno (logged) when systemd
 * could not be asked or the connection was lost.
 */
int unit_start(sd_bus *bus, const char *unit);

/**
 * unit_stop() - stop @unit (mode "replace") and wait for its job
 *
 * systemd finishes a stop job "done" also when ExecStop= failed: the unit
 * is then "failed" instead of "inactive".  Both count as failure here.
 * Return: 0 once the unit is inactive; -EIO (logged) when the job or the
 * unit's ExecStop= failed; other negative errno (logged).
 */
int unit_stop(sd_bus *bus, const char *unit);

/**
 * unit_active_state() - the unit's ActiveState
 * @ret:	"active", "inactive", "failed", "activating", "deactivating",
 *		"reloading"…, to free(); "inactive" for a unit not loaded
 * Return: 0, or negative errno (logged).
 */
int unit_active_state(sd_bus *bus, const char *unit, char **ret);

/**
 * unit_exit_status() - the exit status of the unit's main process
 * (Service.ExecMainStatus), e.g. after a failed start
 * @since:	CLOCK_MONOTONIC usec taken before the start; a main process
 *		started earlier is an earlier start's, not this one's (a start
 *		that failed on a dependency runs none and leaves the old status)
 * @ret:	0..255
 * Return: 0; -ENODATA when no main process started since @since, it did
 * not exit normally (killed) or the unit is not loaded; other negative
 * errno (logged).
 */
int unit_exit_status(sd_bus *bus, const char *unit, uint64_t since, int *ret);
