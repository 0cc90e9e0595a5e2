/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one "may we write on this device" check (lib/blk.h), on image files. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "macro.h"
#include "tap.h"

#define OUR_UUID "3aa2a1c4:2e5b9f0d:5e1c2b7a:9d8f6e01"

/* A 1 MiB image: zeroes, or a swap signature (version 1, magic at the end
 * of the first 4 KiB page) -- something that is not ours. */
static int make_image(char *path, bool swap)
{
	static char page[4096];
	int fd = mkstemp(path);
	uint32_t hdr[3] = { 1, 255, 0 }; /* version, last page, bad pages */

	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return -1;
	if (swap) {
		memset(page, 0, sizeof(page));
		memcpy(page + 1024, hdr, sizeof(hdr)); /* little-endian hosts */
		memcpy(page + 4086, "SWAPSPACE2", 10);
		if (pwrite(fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
			return -1;
	}
	close(fd);
	return 0;
}

int main(void)
{
	char blank[] = "/tmp/nvmf-raid-test-blk.XXXXXX", swap[] = "/tmp/nvmf-raid-test-blk.XXXXXX";
	char *what = (char *)"x", *md_uuid = (char *)"x";

	if (make_image(blank, false) < 0 || make_image(swap, true) < 0) {
		printf("Bail out! images: %m\n");
		return 1;
	}
	is_int(blk_may_write(blank, OUR_UUID, &what, &md_uuid), BLK_BLANK, "zeroes: blank, may write");
	ok(!what && !md_uuid, "  ... nothing to name");
	is_int(blk_may_write(swap, OUR_UUID, &what, &md_uuid), BLK_FOREIGN,
	       "a swap signature: foreign, never written");
	is_str(what, "swap", "  ... named");
	ok(!md_uuid, "  ... no md array");
	free(what);
	is_int(blk_may_write(swap, NULL, &what, NULL), BLK_FOREIGN, "foreign without an array of ours too");
	free(what);
	is_int(blk_may_write("/nonexistent/nvmf-raid-test", OUR_UUID, &what, NULL), -ENOENT,
	       "a device that cannot be opened: negative errno");
	unlink(blank);
	unlink(swap);
	return tap_done();
}
