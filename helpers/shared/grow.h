/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * grow_: follow the namespaces of an attached volume when the backend grew
 * them (nvmf-raid extend, systemctl reload, os-brick extend).
 *
 * Every replica's controller is asked to rescan its namespaces, then the
 * array is grown (mdadm --grow --size=max, which also resizes the
 * write-intent bitmap) to the smallest member.  While one replica is still
 * at the old size and another grew, nothing is changed: growing to the
 * old size is a no-op and growing past it is impossible, and the backend
 * is usually part way through growing them all.
 */

#include <stdint.h>

/**
 * grow_volume() - rescan and grow the attached volume @volume
 * @ret_size:	the volume's size in bytes afterwards (also when nothing
 *		grew: the call is idempotent)
 *
 * Takes the volume lock.  For a volume of one replica there is no array:
 * the rescanned namespace is the volume.
 *
 * Return: 0; -ENOENT when the volume is not attached; -EAGAIN when a
 * replica has not grown yet or is not in the array (logged, naming it);
 * -ENOENT from mdadm missing is reported as -ENOPKG; other negative errno
 * (logged).
 */
int grow_volume(const char *volume, uint64_t *ret_size);
