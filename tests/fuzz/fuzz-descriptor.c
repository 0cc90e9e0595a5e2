/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the descriptor reader (desc_parse()), on any bytes; a
 * descriptor it accepts must serialise and parse back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct desc *d = NULL, *again = NULL;
	char *text = NULL;

	log_set_max_level(LOG_CRIT);
	if (desc_parse((const char *)data, size, NULL, &d) < 0)
		return 0;
	if (desc_serialise(d, &text) == 0) {
		/* Round trip: what we write, we read. */
		if (desc_parse(text, strlen(text), d->volume, &again) < 0)
			abort();
		desc_free(again);
		free(text);
	}
	desc_free(d);
	return 0;
}
