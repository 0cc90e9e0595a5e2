/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The split-brain policy, case by case (lib/assemble.h). */
#include <errno.h>
#include <string.h>

#include "assemble.h"
#include "tap.h"

/* kinds: one letter per replica: '-' absent, 'b' blank, 'o' ours, 'f' foreign;
 * rec: one letter per replica, 'y' in the in-sync record (NULL: no record);
 * old: 'y' outdated = yes. */
static struct assemble_input input(const char *kinds, const char *rec, const char *old, unsigned min,
				   bool deadline)
{
	struct assemble_input in = { .n = (unsigned)strlen(kinds),
				     .min_replicas = min,
				     .deadline_passed = deadline,
				     .have_record = rec != NULL };

	for (unsigned i = 0; i < in.n; i++) {
		in.kind[i] = kinds[i] == 'b' ? KIND_BLANK :
			     kinds[i] == 'o' ? KIND_OURS :
			     kinds[i] == 'f' ? KIND_FOREIGN :
					       KIND_ABSENT;
		in.in_record[i] = rec && rec[i] == 'y';
		in.outdated[i] = old && old[i] == 'y';
	}
	return in;
}

static void check(const char *name, struct assemble_input in, enum assemble_action want, const char *use)
{
	struct assemble_plan p;
	char got[VOL_REPLICAS_MAX + 1] = "";

	if (!is_int(assemble_decide(&in, &p), 0, name))
		return;
	for (unsigned i = 0; i < in.n; i++)
		got[i] = p.use[i] ? 'y' : '.';
	is_str(assemble_action_to_string(p.action), assemble_action_to_string(want), name);
	if (use)
		is_str(got, use, name);
}

int main(void)
{
	struct assemble_plan p;

	/* First attach. */
	check("create: all blank", input("bbb", NULL, NULL, 1, false), ASSEMBLE_CREATE, "yyy");
	check("create: wait for the third blank one", input("bb-", NULL, NULL, 1, false), ASSEMBLE_WAIT,
	      NULL);
	check("create degraded after the timeout", input("bb-", NULL, NULL, 2, true), ASSEMBLE_CREATE,
	      "yy.");
	check("create refused below min-replicas", input("b--", NULL, NULL, 2, true),
	      ASSEMBLE_REFUSE_FEW, NULL);
	check("nothing appeared", input("---", NULL, NULL, 1, true), ASSEMBLE_REFUSE_FEW, NULL);

	/* Re-attach with a record. */
	check("all in sync, all present", input("ooo", "yyy", NULL, 1, false), ASSEMBLE_START, "yyy");
	check("wait for an in-sync replica", input("oo-", "yyy", NULL, 1, false), ASSEMBLE_WAIT, NULL);
	check("degraded start after the timeout", input("oo-", "yyy", NULL, 2, true), ASSEMBLE_START,
	      "yy.");
	check("below min-replicas after the timeout", input("o--", "yyy", NULL, 2, true),
	      ASSEMBLE_REFUSE_FEW, NULL);
	check("no wait for stale ones once the in-sync ones are here",
	      input("oo--", "yy..", NULL, 1, false), ASSEMBLE_START, "yy..");

	/* The spec's split-brain sequence: a,b stayed in sync, c,d were lost. */
	check("split brain: only the stale pair is reachable, wait",
	      input("--oo", "yy..", NULL, 1, false), ASSEMBLE_WAIT, NULL);
	check("split brain: only the stale pair after the timeout: refused",
	      input("--oo", "yy..", NULL, 1, true), ASSEMBLE_REFUSE_STALE, NULL);
	check("split brain: good pair back: start from it, stale ones resync later",
	      input("oooo", "yy..", NULL, 1, false), ASSEMBLE_START, "yy..");
	check("split brain: override accepts the stale pair", ({
		      struct assemble_input i = input("--oo", "yy..", NULL, 1, true);
		      i.accept_stale = true;
		      i;
	      }),
	      ASSEMBLE_START, "..yy");

	/* outdated = yes from the backend. */
	check("outdated replica never started from", input("ooo", "yyy", "..y", 1, false),
	      ASSEMBLE_START, "yy.");
	check("only outdated replicas present: refused", input("--o", "yyy", "..y", 1, true),
	      ASSEMBLE_REFUSE_STALE, NULL);
	check("outdated and absent: no reason to wait", input("oo-", "yyy", "..y", 1, false),
	      ASSEMBLE_START, "yy.");

	/* The record is lost (or the volume moved to this host). */
	check("no record, all present: md keeps the freshest", input("ooo", NULL, NULL, 1, false),
	      ASSEMBLE_START, "yyy");
	check("no record, one absent: wait", input("oo-", NULL, NULL, 1, false), ASSEMBLE_WAIT, NULL);
	check("no record, one absent after the timeout: refused", input("oo-", NULL, NULL, 1, true),
	      ASSEMBLE_REFUSE_FEW, NULL);
	check("no record, blank and ours: refused", input("oob", NULL, NULL, 1, false),
	      ASSEMBLE_REFUSE_MIXED, NULL);
	check("record, a blank replacement: start, add it later", input("oob", "yy.", NULL, 1, false),
	      ASSEMBLE_START, "yy.");

	/* Members from somewhere else. */
	check("a foreign member stops everything", input("oof", "yyy", NULL, 1, false),
	      ASSEMBLE_REFUSE_FOREIGN, NULL);
	check("foreign among blanks", input("bf", NULL, NULL, 1, false), ASSEMBLE_REFUSE_FOREIGN, NULL);

	/* Invalid input. */
	is_int(assemble_decide(&(struct assemble_input){ .n = 0, .min_replicas = 1 }, &p), -EINVAL,
	       "no replicas: -EINVAL");
	is_int(assemble_decide(&(struct assemble_input){ .n = 2, .min_replicas = 3 }, &p), -EINVAL,
	       "min-replicas above the count: -EINVAL");
	return tap_done();
}
