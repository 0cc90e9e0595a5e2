/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key files (secret.h) and the kernel log records that prove a controller
 * authenticated (fabsec.h), in a scratch directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fabsec.h"
#include "macro.h"
#include "secret.h"
#include "tap.h"

/* Made up, in the format of nvme gen-dhchap-key. */
#define KEY "DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:"

static char dir[] = "/tmp/nvmf-raid-test-secret.XXXXXX";

static char *file(const char *name, const char *content, mode_t mode)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fixture(fd);
	fixture(write(fd, content, strlen(content)));
	fixture(fchmod(fd, mode));
	close(fd);
	return p;
}

static void test_read(void)
{
	_cleanup_free_ char *good = file("good.key", KEY "\n", 0600);
	_cleanup_free_ char *crlf = file("crlf.key", KEY "\r\n", 0400);
	_cleanup_free_ char *nonl = file("nonl.key", KEY, 0600);
	_cleanup_free_ char *loose = file("loose.key", KEY "\n", 0640);
	_cleanup_free_ char *empty = file("empty.key", "\n", 0600);
	_cleanup_free_ char *comma = file("comma.key", "DHHC-1:00:a,b:\n", 0600);
	_cleanup_free_ char *space = file("space.key", "DHHC-1:00: a:\n", 0600);
	_cleanup_free_ char *link = xasprintf("%s/link.key", dir);
	_cleanup_free_ char *big = NULL, *bigpath = NULL;
	char *s = NULL;

	if (geteuid() != 0) {
		for (int i = 0; i < 16; i++)
			printf("ok %d # SKIP not root: key files must be owned by root\n", ++tap_n);
		return;
	}
	is_int(secret_read(good, &s), 0, "a 0600 key file of root read");
	is_str(s, KEY, "... its first line, without the newline");
	is_int(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0, "... and the process is no longer dumpable");
	secret_free(s);
	s = NULL;
	is_int(secret_read(crlf, &s), 0, "a 0400 key file ending in CRLF read");
	is_str(s, KEY, "... without the CR");
	secret_free(s);
	s = NULL;
	is_int(secret_read(nonl, &s), 0, "a key without a newline read");
	secret_free(s);
	s = NULL;
	is_int(secret_read(loose, &s), -EPERM, "mode 0640 refused");
	fixture(symlink(good, link));
	is_int(secret_read(link, &s), -ELOOP, "a symbolic link to a good key refused");
	is_int(secret_read(dir, &s), -EINVAL, "a directory refused");
	is_int(secret_read(empty, &s), -EBADMSG, "an empty first line refused");
	is_int(secret_read(comma, &s), -EBADMSG, "a ',' (the kernel's option separator) refused");
	is_int(secret_read(space, &s), -EBADMSG, "a space refused");
	big = calloc(1, SECRET_MAX + 3);
	if (!big)
		abort();
	memset(big, 'k', SECRET_MAX + 1);
	big[SECRET_MAX + 1] = '\n';
	bigpath = file("big.key", big, 0600);
	is_int(secret_read(bigpath, &s), -EFBIG, "a key longer than SECRET_MAX refused");
	ok(!s, "no key handed out on any refusal");
	unlink(link);
	unlink(good), unlink(crlf), unlink(nonl), unlink(loose), unlink(empty), unlink(comma);
	unlink(space), unlink(bigpath);
}

static void test_strerror(void)
{
	ok(strstr(secret_strerror(-EPERM), "mode 0600"), "-EPERM says owner and mode");
	ok(strstr(secret_strerror(-ELOOP), "symbolic link"), "-ELOOP says symbolic link");
	is_str(secret_strerror(-ENOENT), "No such file or directory", "others as strerror()");
}

/* Records as the kernel writes them to /dev/kmsg (prefix;message\n and
 * dictionary lines), of drivers/nvme/host/fabrics.c, auth.c and tcp.c. */
static void test_kmsg_records(void)
{
	static const char ok_rec[] = "6,1234,5678901,-;nvme nvme3: qid 0: authenticated\n"
				     " SUBSYSTEM=nvme\n DEVICE=c240:3\n";
	static const char hash_rec[] = "6,1233,5678900,-;nvme nvme3: qid 0: authenticated with hash "
				       "hmac(sha256) dhgroup ffdhe2048\n";
	static const char fail_rec[] = "4,1240,5679000,-;nvme nvme4: qid 0: authentication failed, "
				       "error -111\n";
	static const char other_rec[] = "6,1235,5678902,-;nvme nvme13: qid 0: authenticated\n";
	static const char tls_rec[] = "3,1300,5680000,-;nvme nvme0: queue 0: TLS handshake complete, "
				      "error -110\n";
	static const char tls_ok_rec[] = "7,1301,5680001,-;nvme nvme0: queue 0: TLS handshake complete, "
					 "error 0\n";

	ok(fabsec_kmsg_record_matches(ok_rec, "nvme3", "qid 0: authenticated"),
	   "\"qid 0: authenticated\" of nvme3 found");
	ok(!fabsec_kmsg_record_matches(ok_rec, "nvme4", "qid 0: authenticated"), "... not as nvme4's");
	ok(!fabsec_kmsg_record_matches(other_rec, "nvme1", "qid 0: authenticated"),
	   "... nvme13's not as nvme1's");
	ok(!fabsec_kmsg_record_matches(hash_rec, "nvme3", "qid 0: authenticated"),
	   "\"authenticated with hash\" (before the controller's response is checked) is not it");
	ok(fabsec_kmsg_record_matches(fail_rec, NULL, "qid 0: authentication failed"),
	   "\"authentication failed, error -111\" of any controller found");
	ok(!fabsec_kmsg_record_matches("6,1,2,-;nvme0n1: p1\n", NULL, "qid 0: authenticated"),
	   "a block device's message is not a controller's");
	ok(!fabsec_kmsg_record_matches("no prefix at all", NULL, "qid 0: authenticated"),
	   "a malformed record is no match");
	ok(fabsec_kmsg_record_matches(tls_rec, NULL, "queue 0: TLS handshake complete, error -%d"),
	   "\"error -%%d\" matches \"error -110\"");
	ok(!fabsec_kmsg_record_matches(tls_ok_rec, NULL, "queue 0: TLS handshake complete, error -%d"),
	   "... and not \"error 0\"");
	ok(!fabsec_kmsg_record_matches("3,1,2,-;nvme nvme0: queue 0: TLS handshake complete, error -\n",
				       NULL, "queue 0: TLS handshake complete, error -%d"),
	   "... nor a '-' without digits");
	ok(!fabsec_kmsg_record_matches("3,1,2,-;nvme nvme0: queue 0: TLS handshake complete, error -5x\n",
				       NULL, "queue 0: TLS handshake complete, error -%d"),
	   "... nor digits followed by more");
}

/* fabsec_kmsg_find_any() over records as /dev/kmsg hands them out, one
 * per read(): a SOCK_SEQPACKET pair keeps the boundaries, and its
 * non-blocking end says EAGAIN once drained, as /dev/kmsg does. */
static void test_kmsg_find_any(void)
{
	static const char *const why[] = {
		"qid 0: authentication failed",
		"no valid PSK found",
		"queue 0: failed to start TLS: -3",
	};
	static const char *const recs[] = {
		"6,10,100,-;nvme nvme0: creating 1 I/O queues.\n",
		"3,11,101,-;nvme nvme0: queue 0: failed to start TLS: -3\n",
		"3,12,102,-;nvme nvme1: no valid PSK found\n",
	};
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	for (size_t i = 0; i < ELEMENTSOF(recs); i++)
		if (write(sv[1], recs[i], strlen(recs[i])) < 0)
			abort();
	ok(fabsec_kmsg_find_any(sv[0], NULL, why, ELEMENTSOF(why)) == 3,
	   "the first record that matches names it: no tlshd (index 2, returned 3)");
	ok(fabsec_kmsg_find_any(sv[0], NULL, why, ELEMENTSOF(why)) == 0,
	   "read on from where it stopped: nothing left");
	if (write(sv[1], recs[2], strlen(recs[2])) < 0)
		abort();
	ok(fabsec_kmsg_find(sv[0], "nvme1", "no valid PSK found") == 1, "one message of nvme1 found");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	if (!mkdtemp(dir))
		abort();
	test_read();
	test_strerror();
	test_kmsg_records();
	test_kmsg_find_any();
	rmdir(dir);
	return tap_done();
}
