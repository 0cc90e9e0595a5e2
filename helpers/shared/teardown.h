/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Taking a volume apart, shared by detach and by an attach that fails
 * half way (systemd runs no ExecStop= for a start that failed).
 */

#include "descriptor.h"

/**
 * teardown_connections() - disconnect the subsystems of @d that nobody
 * else needs
 *
 * A subsystem stays connected while another attached volume (one with a
 * descriptor) has a replica on it, or while one of its namespaces other
 * than @d's own is in use: held (md, dm), mounted (also through a
 * partition), claimed exclusively, or open by any process
 * (dev_subsys_in_use()).  That is logged once, naming the namespace and
 * why; the controller is no longer this volume's then, and keeping it is
 * no error.  Unlike os-brick, which keeps a subsystem while any other
 * namespace is visible, namespaces nobody uses do not keep it.
 * Return: 0, or the first negative errno (all are attempted).
 */
int teardown_connections(const struct desc *d);

/**
 * teardown_array() - stop the md array of @d
 *
 * The array is the descriptor's md device or, when the descriptor does not
 * name one yet (a helper was killed between starting the array and
 * writing the descriptor), the md array holding one of @d's replicas.  An
 * array that is open is not stopped (md refuses): then its subsystems
 * must stay too.
 * Return: 1 if an array was stopped, 0 if none was running, -EBUSY if it
 * is in use (logged), other negative errno.
 */
int teardown_array(const struct desc *d);

/**
 * teardown_runtime() - remove the descriptor, the index entries, and make
 * udev drop the /dev/nvmf-raid link of a namespace that stays connected
 * Return: 0 or negative errno.
 */
int teardown_runtime(const struct desc *d);
