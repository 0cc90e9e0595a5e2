/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The command line every internal helper shares: "nvmf-raid-X [OPTIONS]
 * VOLUME" with --help and --version, the volume name validated before the
 * helper sees it.
 */

/**
 * helper_main() - parse the command line and call @run with the volume
 * @name:	program name, for logs and --version
 * @usage:	the text of --help after the "Usage:" line
 * @run:	returns the exit status
 * Return: the exit status.
 */
int helper_main(int argc, char *argv[], const char *name, const char *usage,
		int (*run)(const char *volume));
