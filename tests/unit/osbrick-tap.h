/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What test-osbrick and test-osbrick-drivers share: osb_parse() with its
 * messages captured, and the checks "accepted as this volume file" and
 * "refused with this message".  Accepted input is always read back with
 * vol_parse() (osb_validate()), as the verb does.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "osbrick.h"
#include "volume.h"
#include "tap.h"

/* What every volume file osb_parse() writes starts with. */
#define OSB_FILE_HEADER \
	"# Written by \"nvmf-raid os-brick connect\" from os-brick's connection_properties;\n" \
	"# removed by \"nvmf-raid os-brick disconnect\".  See nvmf-raid(8).\n"

static char errs[65536];

/* Logs to stderr (captured by parse()), and volume directories that
 * osb_validate() names files after but never opens. */
static inline void osb_test_setup(const char *ident)
{
	log_setup(ident);
	log_set_target(LOG_TARGET_CONSOLE);
	log_set_max_level(LOG_INFO);
	setenv(VOL_RUN_DIR_ENV, "/nonexistent/nvmf-raid-test/run", 1);
	setenv(VOL_ETC_DIR_ENV, "/nonexistent/nvmf-raid-test/etc", 1);
}

/* osb_parse() of @len bytes, its messages in errs. */
static inline int parse_n(const char *json, size_t len, const char *override, struct osb_volume **ret)
{
	struct capture c;
	int r;

	capture_begin(&c, STDERR_FILENO);
	r = osb_parse(json, len, override, ret);
	capture_end(&c, errs, sizeof(errs));
	return r;
}

static inline int parse(const char *json, const char *override, struct osb_volume **ret)
{
	return parse_n(json, strlen(json), override, ret);
}

static inline int diag(int ok)
{
	if (!ok)
		printf("#   messages: %s\n", errs);
	return ok;
}

/* Accepted, named @want_name, and read back by vol_parse() with
 * @want_n replicas.  Returns the volume for more checks (or NULL). */
static inline struct vol_volume *accepted_as(const char *json, const char *override, const char *want_name,
					     unsigned want_n, struct osb_volume **ret_o, const char *what)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v = NULL;
	int r = parse(json, override, &o);

	if (!diag(ok(r == 0, "%s: accepted", what)))
		return NULL;
	is_str(o->name, want_name, "  ... volume name");
	ok(osb_validate(o, &v) == 0 && v && v->n_replicas == want_n,
	   "  ... vol_parse() reads its file back with %u replica%s", want_n, want_n == 1 ? "" : "s");
	if (ret_o)
		*ret_o = o;
	else
		osb_free(o);
	return v;
}

static inline void accepted(const char *json, const char *override, const char *want_name,
			    unsigned want_n, const char *what)
{
	vol_free(accepted_as(json, override, want_name, want_n, NULL, what));
}

/* Accepted as volume @want_name with exactly @want_sections after the
 * header: the NQN, the namespace identifier and the portals written. */
static inline void attached(const char *json, const char *override, const char *want_name,
			    const char *want_sections, const char *what)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v = NULL;
	int r = parse(json, override, &o);

	if (!diag(ok(r == 0, "%s: accepted", what)))
		return;
	is_str(o->name, want_name, "  ... volume name");
	if (ok(strncmp(o->text, OSB_FILE_HEADER, strlen(OSB_FILE_HEADER)) == 0, "  ... the header"))
		is_str(o->text + strlen(OSB_FILE_HEADER), want_sections, "  ... the volume file");
	diag(ok(osb_validate(o, &v) == 0, "  ... vol_parse() reads it back"));
	vol_free(v);
	osb_free(o);
}

/* Refused with -EINVAL and a message containing @needle. */
static inline void refused(const char *json, const char *override, const char *needle, const char *what)
{
	struct osb_volume *o = NULL;
	int r = parse(json, override, &o);

	diag(ok(r == -EINVAL && !o && strstr(errs, needle), "%s: refused, \"%s\"", what, needle));
	osb_free(o);
}
