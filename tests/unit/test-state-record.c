/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The in-sync record of /var/lib/nvmf-raid (lib/state-record.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "descriptor.h"
#include "log.h"
#include "reconcile.h"
#include "state-record.h"
#include "tap.h"

static int parse(const char *text, const char *vol, struct state_record *rec)
{
	return state_record_parse(text, strlen(text), vol, rec);
}

static void test_parse(void)
{
	struct state_record rec;

	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"a:b:c:d\",\"events\":42,\"in-sync\":[\"a\",\"b\"]}",
		     "db1", &rec),
	       0, "valid record parses");
	is_int(rec.n_in_sync, 2, "two in sync");
	ok(state_record_has(&rec, "a") && state_record_has(&rec, "b") && !state_record_has(&rec, "c"),
	   "membership");
	is_int((long long)rec.events, 42, "events");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db2\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[]}",
		     "db1", &rec),
	       -EBADMSG, "record of another volume refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":3,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[]}",
		     "db1", &rec),
	       -EBADMSG, "unknown version refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"a\",\"a\"]}",
		     "db1", &rec),
	       -EBADMSG, "a replica twice refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"../a\"]}",
		     "db1", &rec),
	       -EBADMSG, "invalid replica name refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":-1,\"in-sync\":[]}",
		     "db1", &rec),
	       -EBADMSG, "negative events refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\"", "db1", &rec), -EBADMSG, "truncated JSON refused");
	is_int(parse("[]", "db1", &rec), -EBADMSG, "not an object refused");
	/* json-c's lenient reader took these; the record is read strictly. */
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"a\",]}",
		     "db1", &rec),
	       -EBADMSG, "trailing comma refused (strict JSON)");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"a\"]} {}",
		     "db1", &rec),
	       -EBADMSG, "trailing data refused");
}

static void test_versions(void)
{
	struct state_record rec;
	struct vol_ns_id ns = { .nsid = 3 };

	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":1,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"a\"]}",
		     "db1", &rec),
	       0, "a version 1 record (names only) is read");
	ok(state_record_vouches(&rec, "a", "nqn.x:y", &ns), "  ... and vouches by name alone");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":2,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[\"a\"]}",
		     "db1", &rec),
	       -EBADMSG, "version 2 with a bare name refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":2,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[{\"name\":\"a\",\"nqn\":\"nqn.x:y\","
		     "\"uuid\":null,\"nguid\":null,\"nsid\":null}]}",
		     "db1", &rec),
	       -EBADMSG, "version 2 entry without a namespace refused");
	is_int(parse("{\"format\":\"nvmf-raid-record\",\"version\":2,\"volume\":\"db1\","
		     "\"md-uuid\":\"x\",\"events\":1,\"in-sync\":[{\"name\":\"a\",\"nqn\":\"nqn.x:y\","
		     "\"nsid\":3}]}",
		     "db1", &rec),
	       0, "version 2 entry with an NSID");
	ok(state_record_vouches(&rec, "a", "nqn.x:y", &ns), "  ... vouches for that namespace");
	ns.nsid = 4;
	ok(!state_record_vouches(&rec, "a", "nqn.x:y", &ns), "  ... not for another");
}

/* The record holds what the namespace showed; a volume file may name it
 * by any of those identifiers. */
static void test_vouching(void)
{
	struct state_record rec = { .volume = "db1", .md_uuid = "x" };
	struct vol_ns_id shown = { .has_uuid = true, .uuid = { 0x96, 0xe2 }, .nsid = 1 },
			 by_nsid = { .nsid = 1 }, by_uuid = { .has_uuid = true, .uuid = { 0x96, 0xe2 } },
			 by_nguid = { .has_nguid = true, .nguid = { 0x96, 0xe2 } },
			 by_both = { .has_uuid = true, .uuid = { 0x96, 0xe2 }, .nsid = 2 };

	state_record_add(&rec, "a", "nqn.x:y", &shown);
	ok(state_record_vouches(&rec, "a", "nqn.x:y", &by_nsid), "recorded namespace named by its NSID");
	ok(state_record_vouches(&rec, "a", "nqn.x:y", &by_uuid), "  ... by its UUID");
	ok(!state_record_vouches(&rec, "a", "nqn.x:y", &by_nguid), "  ... not by an NGUID it did not show");
	ok(!state_record_vouches(&rec, "a", "nqn.x:y", &by_both), "  ... not when one identifier differs");
}

static void test_roundtrip(void)
{
	char dir[] = "/tmp/nvmf-raid-test-record.XXXXXX", path[128];
	struct state_record rec = { .volume = "db1", .md_uuid = "a:b:c:d", .events = 7 }, back;
	struct vol_ns_id a = { .has_nguid = true, .nguid = { 0x1a, 0x2b } }, c = { .nsid = 10 },
			 other = { .nsid = 11 };
	struct stat st;

	ok(state_record_add(&rec, "a", "nqn.2025-02.test.example:a", &a) == 0 &&
		   state_record_add(&rec, "c", "nqn.nvme-subsystem-1-x", &c) == 0,
	   "two replicas added");
	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/state", dir);
	setenv("NVMF_RAID_STATE_DIR", path, 1);
	is_int(state_record_read("db1", &back), -ENOENT, "no directory yet: -ENOENT");
	is_int(state_record_write(&rec), 1, "first write: 1");
	is_int(state_record_write(&rec), 0, "same content: 0, nothing written");
	is_int(state_record_read("db1", &back), 0, "read back");
	ok(back.n_in_sync == 2 && state_record_has(&back, "c") && back.events == 7, "round trip");
	ok(state_record_vouches(&back, "a", "nqn.2025-02.test.example:a", &a) &&
		   state_record_vouches(&back, "c", "nqn.nvme-subsystem-1-x", &c),
	   "  ... vouching for each replica on its namespace (NGUID, NSID)");
	ok(!state_record_vouches(&back, "c", "nqn.nvme-subsystem-1-x", &other),
	   "  ... not for c moved to another namespace in the volume file");
	ok(!state_record_vouches(&back, "c", "nqn.2025-02.test.example:a", &c),
	   "  ... nor to another subsystem");
	ok(!state_record_vouches(&back, "b", "nqn.nvme-subsystem-1-x", &c), "  ... nor for b");
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

/* A record that cannot be written is an error the caller sees (attach
 * fails, the monitor retries), never passed over: reconcile_record()
 * returned void before. */
static void test_unwritable(void)
{
	char dir[] = "/tmp/nvmf-raid-test-record.XXXXXX", path[96], file[96];
	_cleanup_desc_ struct desc *d = NULL;
	struct state_record back;
	int fd;

	if (!mkdtemp(dir))
		return;
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	snprintf(d->volume, sizeof(d->volume), "db1");
	d->md.uuid = strdup("3aa2a1c4:2e5b9f0d:5e1c2b7a:9d8f6e01");
	d->n_replicas = 2;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(d->replicas[i].name, sizeof(d->replicas[i].name), "r%u", i);
		snprintf(d->replicas[i].nqn, sizeof(d->replicas[i].nqn), "nqn.2025-02.test.example:r%u", i);
		d->replicas[i].ns.nsid = i + 1;
		d->replicas[i].state = i == 0 ? STATE_IN_SYNC : STATE_FAULTY;
	}
	/* The record directory's parent is a file: nothing can be written. */
	snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/file/state", dir);
	setenv("NVMF_RAID_STATE_DIR", path, 1);
	is_int(reconcile_record(d), -ENOTDIR, "record cannot be written: reconcile_record() fails");
	is_int(state_record_read("db1", &back), -ENOTDIR, "  ... and nothing was recorded");
	snprintf(path, sizeof(path), "%s/state", dir);
	setenv("NVMF_RAID_STATE_DIR", path, 1);
	is_int(reconcile_record(d), 1, "writable again: written");
	is_int(reconcile_record(d), 0, "  ... once");
	ok(state_record_read("db1", &back) == 0 && back.n_in_sync == 1 && state_record_has(&back, "r0"),
	   "  ... with the in-sync replica only");
	state_record_remove("db1");
	rmdir(path);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	log_set_max_level(LOG_CRIT);
	test_parse();
	test_versions();
	test_vouching();
	test_roundtrip();
	test_unwritable();
	return tap_done();
}
