/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "assemble.h"
#include "macro.h"

const char *assemble_action_to_string(enum assemble_action a)
{
	static const char *const names[] = {
		[ASSEMBLE_WAIT] = "wait",
		[ASSEMBLE_CREATE] = "create",
		[ASSEMBLE_START] = "start",
		[ASSEMBLE_REFUSE_FOREIGN] = "refuse-foreign",
		[ASSEMBLE_REFUSE_STALE] = "refuse-stale",
		[ASSEMBLE_REFUSE_FEW] = "refuse-few",
		[ASSEMBLE_REFUSE_MIXED] = "refuse-mixed",
	};
	return (unsigned)a < ELEMENTSOF(names) ? names[a] : NULL;
}

static bool usable(const struct assemble_input *in, unsigned i)
{
	if (in->kind[i] != KIND_OURS)
		return false;
	if (in->accept_stale)
		return true;
	return !in->outdated[i] && (!in->have_record || in->in_record[i]);
}

/* Whether a usable replica may still turn up: before the deadline, one
 * that is absent and would be usable (in the record, not outdated). */
static bool worth_waiting(const struct assemble_input *in)
{
	if (in->deadline_passed)
		return false;
	for (unsigned i = 0; i < in->n; i++)
		if (in->kind[i] == KIND_ABSENT &&
		    (!in->have_record || in->accept_stale || (in->in_record[i] && !in->outdated[i])))
			return true;
	return false;
}

int assemble_decide(const struct assemble_input *in, struct assemble_plan *ret)
{
	struct assemble_plan p = {};
	unsigned present = 0, blank = 0, ours = 0;

	if (!in || !ret || in->n == 0 || in->n > VOL_REPLICAS_MAX || in->min_replicas == 0 ||
	    in->min_replicas > in->n)
		return -EINVAL;
	for (unsigned i = 0; i < in->n; i++) {
		if (in->kind[i] == KIND_FOREIGN) {
			ret->action = ASSEMBLE_REFUSE_FOREIGN;
			return 0;
		}
		present += in->kind[i] != KIND_ABSENT;
		blank += in->kind[i] == KIND_BLANK;
		ours += in->kind[i] == KIND_OURS;
	}

	if (ours == 0) {
		/* First attach: every replica blank, or waiting for them. */
		if (present < in->n && !in->deadline_passed)
			p.action = ASSEMBLE_WAIT;
		else if (present >= in->min_replicas && present > 0)
			p.action = ASSEMBLE_CREATE;
		else
			p.action = ASSEMBLE_REFUSE_FEW;
		for (unsigned i = 0; i < in->n; i++)
			p.use[i] = in->kind[i] == KIND_BLANK;
		p.n_use = blank;
		p.degraded = blank < in->n;
		*ret = p;
		return 0;
	}

	for (unsigned i = 0; i < in->n; i++)
		if (usable(in, i)) {
			p.use[i] = true;
			p.n_use++;
		}
	if (worth_waiting(in))
		p.action = ASSEMBLE_WAIT;
	else if (!in->have_record && !in->accept_stale && blank > 0)
		p.action = ASSEMBLE_REFUSE_MIXED;
	else if (!in->have_record && !in->accept_stale && present < in->n)
		p.action = ASSEMBLE_REFUSE_FEW; /* nothing says which are current */
	else if (p.n_use == 0)
		p.action = ASSEMBLE_REFUSE_STALE;
	else if (p.n_use < in->min_replicas)
		p.action = ASSEMBLE_REFUSE_FEW;
	else
		p.action = ASSEMBLE_START;
	p.degraded = p.n_use < in->n;
	*ret = p;
	return 0;
}
