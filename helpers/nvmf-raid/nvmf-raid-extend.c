/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid extend VOLUME: after the backend grew the replicas' namespaces,
 * rescan them and grow the array (lib/grow.c); prints the new size in
 * bytes.  The same work as `systemctl reload nvmf-raid@VOLUME` does after
 * applying the volume file, without touching the file.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "exit-status.h"
#include "grow.h"
#include "log.h"
#include "volume.h"
#include "verbs.h"

static void help(FILE *f)
{
	fprintf(f, "Usage: nvmf-raid extend [OPTIONS] VOLUME\n"
		   "\n"
		   "Rescan the namespaces of an attached volume and grow its array to the\n"
		   "smallest replica.  Prints the volume's size in bytes.  Refuses while a\n"
		   "replica has not grown yet or is out of the array.\n"
		   "\n"
		   "Options:\n"
		   "  -h --help        Show this help\n"
		   "\n"
		   "Exit status: 0 grown (or already at the replicas' size), 1 not attached\n"
		   "or not grown, 2 usage error, 3 mdadm missing.\n");
}

int verb_extend(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
	uint64_t size;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help(stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind != 1) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (!vol_name_is_valid(argv[optind])) {
		log_error("Invalid volume name '%s'.", argv[optind]);
		return EXIT_USAGE;
	}
	r = grow_volume(argv[optind], &size);
	/* md.c said so: mdadm not found, and the package to install. */
	if (r == -ENOPKG)
		return EXIT_MISSING;
	if (r < 0)
		return EXIT_FAILED;
	printf("%" PRIu64 "\n", size);
	return EXIT_OK;
}
