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
