/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: os-brick's connection_properties reader (osb_parse()),
 * on any bytes.  Whatever it accepts must be a volume file the volume
 * parser accepts too, or the JSON checks let something through. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "osbrick.h"
#include "volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v = NULL;

	log_set_max_level(LOG_CRIT);
	if (osb_parse((const char *)data, size, NULL, &o) < 0)
		return 0;
	if (osb_validate(o, &v) < 0)
		abort();
	if (v->n_replicas != o->n_replicas)
		abort();
	vol_free(v);
	osb_free(o);
	return 0;
}
