/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "exit-status.h"
#include "helper.h"
#include "log.h"
#include "volume.h"

int helper_main(int argc, char *argv[], const char *name, const char *usage, int (*run)(const char *volume))
{
	enum {
		ARG_VERSION = 0x100
	};
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, ARG_VERSION },
						 {} };
	int c;

	log_setup(name);
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			printf("Usage: %s [OPTIONS] VOLUME\n\n%s\n"
			       "  -h --help      Show this help\n"
			       "     --version   Show the version\n",
			       name, usage);
			return EXIT_OK;
		case ARG_VERSION:
			printf("%s %s\n", name, PACKAGE_VERSION);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind != 1) {
		log_error("Expected exactly one volume name; see --help.");
		return EXIT_USAGE;
	}
	if (!vol_name_is_valid(argv[optind])) {
		log_error("Invalid volume name \"%s\": 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit.",
			  argv[optind]);
		return EXIT_USAGE;
	}
	return run(argv[optind]);
}
