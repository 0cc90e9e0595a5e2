/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the volume-file reader (vol_parse(), all of vol_load()
 * but the read), on any bytes. */
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vol_volume *v = NULL;

	if (size > VOL_FILE_SIZE_MAX)
		return 0;
	log_set_max_level(LOG_CRIT);	/* every invalid input logs; keep runs fast */
	if (vol_parse("/etc/nvmf-raid/volumes/fuzz.conf", (const char *)data, size, &v) == 0)
		vol_free(v);
	return 0;
}
