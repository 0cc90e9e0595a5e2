/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "md.h"
#include "tap.h"

static void test_names(void)
{
	char name[MD_NAME_MAX + 1], other[MD_NAME_MAX + 1];

	md_name_for_volume("db1", name);
	is_str(name, "db1", "short volume name is the md name");
	md_name_for_volume("abcdefghijklmnopqrstuv", name);
	is_str(name, "abcdefghijklmnopqrstuv", "22 bytes kept as is");
	md_name_for_volume("volume-5b0bd8a8-3d3a-4f1e-9d51-0c6a5e0a7f00", name);
	is_int(strlen(name), MD_NAME_MAX, "long name mapped to 22 bytes");
	ok(strncmp(name, "volum_", 6) == 0, "long name keeps a readable prefix: %s", name);
	ok(strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(name),
	   "only POSIX portable filename characters, as mdadm >= 4.3 requires: %s", name);
	md_name_for_volume("volume-5b0bd8a8-3d3a-4f1e-9d51-0c6a5e0a7f01", other);
	ok(strcmp(name, other) != 0, "names differing in the last byte map apart");
	is_int(strlen("nvmf-raid:") + strlen(name), 32, "homehost:name fits the superblock's 32 bytes");
}

static void test_uuids(void)
{
	char a[36], b[36], c[36];

	md_uuid_for_volume("db1", a);
	md_uuid_for_volume("db1", b);
	md_uuid_for_volume("db2", c);
	is_str(a, b, "array UUID is deterministic");
	ok(strcmp(a, c) != 0, "different volumes, different UUIDs");
	is_int(strlen(a), 35, "mdadm spelling xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx");
	ok(a[8] == ':' && a[17] == ':' && a[26] == ':', "colons where mdadm puts them");
	ok(a[13] == '8', "version 8 nibble set: %s", a);
	ok(strchr("89ab", a[18]), "RFC variant bits set: %s", a);
}

static void test_bitmap_chunk(void)
{
	is_int(md_bitmap_chunk_kib(256ull << 20), 1024, "256 MiB: 1 MiB chunk (256 bits)");
	is_int(md_bitmap_chunk_kib(16ull << 30), 4096, "16 GiB: 4 MiB chunk (4096 bits)");
	is_int(md_bitmap_chunk_kib(1ull << 40), 65536, "1 TiB: capped at 64 MiB");
	is_int(md_bitmap_chunk_kib(0), 1024, "tiny: at least 1 MiB");
}

static void test_examine(void)
{
	struct md_examine e;

	is_int(md_parse_examine("MD_LEVEL=raid1\nMD_DEVICES=2\nMD_NAME=nvmf-raid:db1\n"
				"MD_UUID=0bd4b5b2:1f0a4c22:8e2f0000:12345678\n"
				"MD_UPDATE_TIME=1700000000\nMD_DEV_UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd\n"
				"MD_EVENTS=42\n",
				&e),
	       0, "parse a member's export");
	ok(e.is_member, "is a member");
	is_str(e.uuid, "0bd4b5b2:1f0a4c22:8e2f0000:12345678", "array uuid");
	is_str(e.name, "nvmf-raid:db1", "name");
	is_str(e.level, "raid1", "level");
	is_int(e.devices, 2, "devices");
	is_int(e.events, 42, "events");
	is_int(md_parse_examine("", &e), 0, "empty output parses");
	ok(!e.is_member, "no superblock: not a member");
	is_int(md_parse_examine("garbage\n", &e), -EINVAL, "line without '=' refused");
	is_int(md_parse_examine("MD_UUID=0123456789012345678901234567890123456789\n", &e), -EINVAL,
	       "over-long value refused");
}

/* md_holder() over a scratch tree laid out as /sys/class/block: md lists
 * itself in its members' holders/, running or inactive alike. */
static void test_holder(void)
{
	char root[] = "/tmp/nvmf-raid-test-md.XXXXXX", path[256], md[32] = "";

	if (!mkdtemp(root)) {
		ok(0, "scratch dir: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/nvme1n1", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nvme1n1/holders", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nvme2n1", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nvme2n1/holders", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nvme2n1/holders/md127", root);
	mkdir(path, 0755);

	is_int(md_holder(root, "/dev/nvme1n1", md), 0, "no holder: none");
	is_int(md_holder(root, "/dev/nvme3n1", md), 0, "no such device: none");
	is_int(md_holder(root, "/dev/nvme2n1", md), 1, "held by md");
	is_str(md, "/dev/md127", "the holder's device node");
	is_int(md_holder(root, "nvme2n1", md), 1, "a kernel name works too");
	is_int(md_holder(root, "/dev/..", md), -EINVAL, "\"..\" refused");

	rmdir(path);
	snprintf(path, sizeof(path), "%s/nvme2n1/holders/dm-0", root);
	mkdir(path, 0755);
	is_int(md_holder(root, "/dev/nvme2n1", md), 0, "held by dm only: no md array");
	rmdir(path);
	for (const char *const *d = (const char *const[]){ "nvme2n1/holders", "nvme2n1",
							   "nvme1n1/holders", "nvme1n1", NULL };
	     *d; d++) {
		snprintf(path, sizeof(path), "%s/%s", root, *d);
		rmdir(path);
	}
	rmdir(root);
}

int main(void)
{
	test_holder();
	test_names();
	test_uuids();
	test_bitmap_chunk();
	test_examine();
	return tap_done();
}
