/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* "nvmf-raid check" run in-process by a unit test, its output caught in
 * out and errs.  Include after tap.h; link helpers/nvmf-raid/nvmf-raid-check.c. */

#include <getopt.h>
#include <stdarg.h>
#include <unistd.h>

#include "tap.h"
#include "verbs.h"

static char errs[65536], out[65536];

/* Runs verb_check() with @first and what follows (NULL-terminated);
 * stdout into out, stderr into errs. */
static int run_check(const char *first, ...)
{
	char *argv[16] = { (char *)"check" };
	struct capture o, e;
	int argc = 1, r;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	optind = 0;
	capture_begin(&o, STDOUT_FILENO);
	capture_begin(&e, STDERR_FILENO);
	r = verb_check(argc, argv);
	capture_end(&e, errs, sizeof(errs));
	capture_end(&o, out, sizeof(out));
	return r;
}
