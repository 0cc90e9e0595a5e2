/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid: the admin's command.  Each verb lives in a table below; verbs
 * are added as the features they drive land.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "exit-status.h"
#include "log.h"
#include "verbs.h"

struct verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char *argv[]);
};

static const struct verb verbs[] = {
	/* Filled in by the features that provide them. */
	{ .name = "check", .summary = "Validate volume files", .run = verb_check },
	{ .name = "status", .summary = "Show volumes, replicas and sync progress", .run = verb_status },
	{ .name = "extend", .summary = "Grow a volume after its replicas grew", .run = verb_extend },
	{ .name = "os-brick", .summary = "Attach/detach/extend for OpenStack os-brick", .run = verb_os_brick },
	{ .name = NULL },
};

static void help(FILE *f)
{
	fprintf(f, "Usage: nvmf-raid [OPTIONS] VERB [ARGS...]\n"
		   "\n"
		   "Assemble NVMe-oF replicas of one volume into an MD RAID1 array.\n"
		   "\n"
		   "Options:\n"
		   "  -h --help        Show this help\n"
		   "     --version     Show the version\n"
		   "  -v --verbose     Log at debug level\n"
		   "\n"
		   "Verbs:\n");
	for (const struct verb *v = verbs; v->name; v++)
		fprintf(f, "  %-16s %s\n", v->name, v->summary);
	fprintf(f, "\n"
		   "Exit status: 0 success, 1 operation failed, 2 usage error or invalid\n"
		   "volume file, 3 required tool or kernel module missing.\n"
		   "See nvmf-raid(8).\n");
}

int main(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100
	};
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, ARG_VERSION },
						 { "verbose", no_argument, NULL, 'v' },
						 {} };
	int c;

	log_setup("nvmf-raid");

	/* '+': stop at the verb, whose own options are parsed by the verb. */
	while ((c = getopt_long(argc, argv, "+hv", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help(stdout);
			return EXIT_OK;
		case ARG_VERSION:
			printf("nvmf-raid %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		default:
			return EXIT_USAGE;
		}
	}

	if (optind >= argc) {
		help(stderr);
		return EXIT_USAGE;
	}

	for (const struct verb *v = verbs; v->name; v++)
		if (strcmp(v->name, argv[optind]) == 0) {
			argv += optind;
			argc -= optind;
			optind = 0;
			return v->run(argc, argv);
		}

	log_error("Unknown verb '%s'; see 'nvmf-raid --help'.", argv[optind]);
	return EXIT_USAGE;
}
