/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "macro.h"
#include "tap.h"

int main(void)
{
	_cleanup_free_ char *sh = NULL, *out = NULL, *err = NULL, *missing = NULL;
	int r;

	is_int(exec_find("sh", &sh), 0, "finds sh in the system directories");
	ok(sh && sh[0] == '/', "absolute path: %s", sh ? sh : "");
	is_int(exec_find("no-such-tool-nvmf-raid", &missing), -ENOENT, "missing tool: -ENOENT");
	is_int(exec_find("../sh", &missing), -EINVAL, "a path is not a tool name");

	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"echo out; echo err >&2; exit 3", NULL },
		     &out, &err);
	is_int(r, 3, "exit status returned");
	is_str(out, "out\n", "stdout captured");
	is_str(err, "err\n", "stderr captured");

	free(out);
	out = NULL;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"yes | head -c 3000000", NULL }, &out, NULL);
	is_int(r, 0, "large output drained");
	is_int(strlen(out), 1024 * 1024, "kept output bounded to 1 MiB");

	free(out);
	out = NULL;
	r = exec_run((char *[]){ sh, (char *)"-c", (char *)"kill -9 $$", NULL }, &out, NULL);
	is_int(r, 128 + 9, "killed by a signal: 128+N");

	is_int(exec_run((char *[]){ (char *)"sh", NULL }, NULL, NULL), -EINVAL, "relative argv[0] refused");

	setenv("NVMF_RAID_TOOL_PATH", "/nonexistent", 1);
	is_int(exec_find("sh", &missing), -ENOENT, "NVMF_RAID_TOOL_PATH overrides the search list");
	return tap_done();
}
