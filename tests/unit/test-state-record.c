/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The in-sync record of /var/lib/nvmf-raid (lib/state-record.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/state-record.h"
#include "tap.h"

static int parse(const char *text, const char *vol, struct state_record *rec)
{
	return state_record_parse(text, strlen(text), vol, rec);
}

static void test_parse(void)
{
	struct state_record rec;

	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"a:b:c:d\",\"events\":42,\"in-sync\":[\"a\",\"b\"]}", "db1", &rec),
	       0, "valid record parses");
	is_int(rec.n_in_sync, 2, "two in sync");
	ok(state_record_has(&rec, "a") && state_record_has(&rec, "b") && !state_record_has(&rec, "c"),
	   "membership");
	is_int((long long)rec.events, 42, "events");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db2\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[]}", "db1", &rec),
	       -EBADMSG, "record of another volume refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":2,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[]}", "db1", &rec),
	       -EBADMSG, "unknown version refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"a\",\"a\"]}", "db1", &rec),
	       -EBADMSG, "a replica twice refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"../a\"]}", "db1", &rec),
	       -EBADMSG, "invalid replica name refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":-1,\"in-sync\":[]}", "db1", &rec),
	       -EBADMSG, "negative events refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\"", "db1", &rec), -EBADMSG, "truncated JSON refused");
	is_int(parse("[]", "db1", &rec), -EBADMSG, "not an object refused");
}

static void test_roundtrip(void)
{
	char dir[] = "/tmp/nvmf-raid-test-record.XXXXXX", path[128];
	struct state_record rec = { .volume = "db1", .md_uuid = "a:b:c:d", .events = 7, .n_in_sync = 2 },
			    back;
	struct stat st;

	strcpy(rec.in_sync[0], "a");
	strcpy(rec.in_sync[1], "c");
	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/state", dir);
	setenv("NVMF_RAID_STATE_DIR", path, 1);
	is_int(state_record_read("db1", &back), -ENOENT, "no directory yet: -ENOENT");
	is_int(state_record_write(&rec), 1, "first write: 1");
	is_int(state_record_write(&rec), 0, "same content: 0, nothing written");
	is_int(state_record_read("db1", &back), 0, "read back");
	ok(back.n_in_sync == 2 && state_record_has(&back, "c") && back.events == 7, "round trip");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755, "directory created 0755");
	snprintf(path, sizeof(path), "%s/state/db1.json", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "record is 0644");
	is_int(state_record_remove("db1"), 1, "remove: 1");
	is_int(state_record_remove("db1"), 0, "remove again: 0");
	is_int(state_record_read("db1", &back), -ENOENT, "gone");
	is_int(state_record_read("../x", &back), -EINVAL, "invalid volume name: -EINVAL");
	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	log_set_max_level(LOG_CRIT);
	test_parse();
	test_roundtrip();
	return tap_done();
}
