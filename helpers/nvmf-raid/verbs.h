/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The verbs of nvmf-raid(8), one helpers/<verb>.c each.  A verb is called
 * with argv[0] set to its name and optind reset; it parses its own options
 * with getopt_long() and returns the exit status (lib/exit-status.h).
 */

/**
 * verb_check() - nvmf-raid check [FILE|VOLUME…]: validate volume files
 *
 * An argument with a '/' or ending in ".conf" is a file, anything else a
 * volume name found with vol_find(); no argument checks every volume file
 * of both directories.  Reads only: nothing is connected or written.
 * Return: EXIT_OK, EXIT_USAGE on any invalid file or usage error,
 * EXIT_FAILED if a file could not be read.
 */
int verb_check(int argc, char *argv[]);

/**
 * verb_status() - nvmf-raid status [VOLUME…] [--json]: volumes, replicas
 * and their live states, md sync progress (lib/status.h)
 *
 * No argument shows every attached volume and every volume file.  Reads
 * only and takes no lock.
 * Return: EXIT_OK, EXIT_FAILED if a volume is unknown or could not be
 * read (the others are still shown), EXIT_USAGE for an invalid name.
 */
int verb_status(int argc, char *argv[]);

/**
 * verb_extend() - nvmf-raid extend VOLUME: rescan the namespaces of an
 * attached volume and grow its array (lib/grow.h); prints the size in bytes
 * Return: EXIT_OK, EXIT_FAILED (not attached, a replica not grown yet),
 * EXIT_USAGE, EXIT_MISSING (mdadm).
 */
int verb_extend(int argc, char *argv[]);

/**
 * verb_os_brick() - nvmf-raid os-brick connect|disconnect|extend [--volume
 * NAME]: the adapter for OpenStack os-brick
 *
 * Reads os-brick's NVMe-oF connection_properties (JSON) on stdin
 * (lib/osbrick.h).  connect writes the transient volume file and starts
 * nvmf-raid@VOLUME.service, refusing a volume already attached
 * (multi-attach) or one with a file in /etc; disconnect stops the unit and
 * removes the file, and succeeds for a volume not attached; extend grows
 * the attached volume (lib/grow.h).  Prints os-brick's answer as JSON.
 * Return: EXIT_OK; EXIT_USAGE for malformed input or an invalid volume;
 * EXIT_FAILED when the operation failed or was refused; the unit helper's
 * EXIT_USAGE or EXIT_MISSING after a failed start, EXIT_MISSING from extend.
 */
int verb_os_brick(int argc, char *argv[]);
