/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The names of a volume's files, in one place (session.h lists them).
 * Apart from session.c so that the modules that keep the files
 * (descriptor, fileio, state-record, rebuild) link no more than this.
 */
#include <errno.h>
#include <stdio.h>

#include "fileio.h"
#include "session.h"

int vs_file_name(enum vs_file f, const char *volume, char buf[static NAME_MAX + 1])
{
	static const char *const suffix[] = {
		[VS_FILE_DESCRIPTOR] = ".json",
		[VS_FILE_LOCK] = ".lock",
		[VS_FILE_ACCEPT_STALE] = ".accept-stale",
		[VS_FILE_REBUILD_ENTRY] = "",
		[VS_FILE_RECORD] = ".json",
		[VS_FILE_CONF] = ".conf",
		[VS_FILE_OSBRICK_LOCK] = ".lock",
	};
	int n;

	if (!volume || !*volume || (unsigned)f >= ELEMENTSOF(suffix))
		return -EINVAL;
	/* Hidden: vol_list_files() skips it, and no volume name starts with '.'. */
	n = snprintf(buf, NAME_MAX + 1, "%s%s%s", f == VS_FILE_OSBRICK_LOCK ? "." : "", volume, suffix[f]);
	if (n < 0 || n > NAME_MAX || !filename_is_valid(buf))
		return -EINVAL;
	return 0;
}
