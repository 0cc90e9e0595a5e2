/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host identity of /etc/nvme (lib/hostid.h), in scratch directories. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "hostid.h"
#include "log.h"
#include "macro.h"
#include "volume.h"
#include "tap.h"

/* Made up, as every value here. */
#define DMI_UUID "4c4c4544-0042-3510-8052-b4c04f384833"
#define ID_UUID "0c468c4d-a385-47e0-8299-6e95051277db"
#define NQN_UUID "9b2e5d10-7f3a-4c1e-8a55-3d6f0e2b7c41"
#define PLAIN_NQN "nqn.2024-01.com.example:host7"

static char tmp[] = "/tmp/nvmf-raid-test-hostid.XXXXXX";
static char dir[512], dmi[512], errs[16384];
static char *nqn, *id;
static unsigned n_case;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

/* A fresh /etc/nvme stand-in (not created: hostid_get() must) and a DMI
 * product_uuid holding @dmi_text, or none for NULL. */
static void fresh(const char *dmi_text)
{
	char sub[256];

	snprintf(sub, sizeof(sub), "%s/case%u", tmp, ++n_case);
	mkdir(sub, 0755);
	snprintf(dir, sizeof(dir), "%s/nvme", sub);
	snprintf(dmi, sizeof(dmi), "%s/product_uuid", sub);
	setenv(HOSTID_DIR_ENV, dir, 1);
	setenv(HOSTID_DMI_UUID_ENV, dmi, 1);
	if (dmi_text) {
		FILE *f = fopen(dmi, "we");

		fputs(dmi_text, f);
		fclose(f);
	}
	free(TAKE_PTR(nqn));
	free(TAKE_PTR(id));
}

static char *path_of(const char *name)
{
	static char p[768];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f;

	mkdir(dir, 0755);
	f = fopen(path_of(name), "we");
	fputs(text, f);
	fclose(f);
}

/* The content of @name, or "" if unreadable; in one of four static
 * buffers, so that one expression may use it twice. */
static const char *content(const char *name)
{
	static char bufs[4][8192];
	static unsigned next;
	char *buf = bufs[next++ % ELEMENTSOF(bufs)];
	FILE *f = fopen(path_of(name), "re");
	size_t n = f ? fread(buf, 1, sizeof(bufs[0]) - 1, f) : 0;

	buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

/* hostid_get() into nqn/id, its messages in errs. */
static int get(void)
{
	struct capture c;
	int r;

	free(TAKE_PTR(nqn));
	free(TAKE_PTR(id));
	capture_begin(&c, STDERR_FILENO);
	r = hostid_get(&nqn, &id);
	capture_end(&c, errs, sizeof(errs));
	return r;
}

static int said(const char *text)
{
	int r = strstr(errs, text) != NULL;

	if (!r)
		printf("#   messages: %s\n#   wanted: %s\n", errs, text);
	return r;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? (mode_t)-1 : st.st_mode;
}

static void test_nqn_check(void)
{
	char longest[HOSTID_NQN_MAX + 2];

	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "nqn.", 4);
	longest[HOSTID_NQN_MAX] = 0;
	is_int(hostid_nqn_check(longest, NULL), 0, "host NQN of 223 bytes accepted");
	longest[HOSTID_NQN_MAX] = 'a';
	longest[HOSTID_NQN_MAX + 1] = 0;
	is_int(hostid_nqn_check(longest, NULL), -EINVAL, "host NQN of 224 bytes refused");
	is_int(hostid_nqn_check("nqn.host 1", NULL), 0, "non-standard host NQN with a space kept");
	is_int(hostid_nqn_check("nqn.a,b", NULL), -EINVAL, "',' refused");
	is_int(hostid_nqn_check("nqn.a\tb", NULL), -EINVAL, "control character refused");
	is_int(hostid_nqn_check("nqn.\xc3\xa9", NULL), -EINVAL, "non-ASCII refused");
	is_int(hostid_nqn_check("host-1", NULL), -EINVAL, "no \"nqn.\" refused");
	is_int(hostid_nqn_check("", NULL), -EINVAL, "empty refused");
}

static void test_existing(void)
{
	fresh(DMI_UUID "\n");
	put("hostnqn", "  " PLAIN_NQN " \t\nnqn.second.line:ignored\n");
	put("hostid", "0C468C4D-A385-47E0-8299-6E95051277DB\n");
	is_int(get(), 0, "existing files: read, nothing created");
	is_str(nqn, PLAIN_NQN, "  ... host NQN: first line, trimmed");
	is_str(id, ID_UUID, "  ... host ID in canonical lower case");
	is_str(content("hostnqn"), "  " PLAIN_NQN " \t\nnqn.second.line:ignored\n",
	       "  ... hostnqn untouched");
	ok(!strstr(errs, "Created"), "  ... nothing said about creating");
}

static void test_create_from_dmi(void)
{
	fresh("4C4C4544-0042-3510-8052-B4C04F384833\n");
	is_int(get(), 1, "no /etc/nvme: created");
	is_str(nqn, HOSTID_NQN_UUID_PREFIX DMI_UUID, "  ... host NQN from the DMI UUID, lower case");
	is_str(id, DMI_UUID, "  ... host ID the same UUID");
	is_str(content("hostnqn"), HOSTID_NQN_UUID_PREFIX DMI_UUID "\n", "  ... hostnqn written");
	is_str(content("hostid"), DMI_UUID "\n", "  ... hostid written");
	is_int(mode_of(path_of("hostnqn")), S_IFREG | 0644, "  ... hostnqn mode 0644");
	is_int(mode_of(path_of("hostid")), S_IFREG | 0644, "  ... hostid mode 0644");
	is_int(mode_of(dir), S_IFDIR | 0755, "  ... directory created 0755");
	ok(said("Created ") && said("/hostnqn (host NQN " HOSTID_NQN_UUID_PREFIX DMI_UUID
				    ", from the DMI system UUID)"),
	   "  ... journal: Created …/hostnqn (host NQN …, from the DMI system UUID)");
	ok(said("/hostid (host ID " DMI_UUID ", from the UUID in the host NQN)"),
	   "  ... journal: Created …/hostid, from the host NQN");
	is_int(get(), 0, "second call: nothing created");
	is_str(nqn, HOSTID_NQN_UUID_PREFIX DMI_UUID, "  ... same host NQN");
	is_str(id, DMI_UUID, "  ... same host ID");
	ok(!strstr(errs, "Created"), "  ... said nothing");
}

/* Identity made without a usable DMI UUID: from the machine ID, the same
 * in every fresh directory (else random). */
static void test_no_dmi(void)
{
	static const char *const bad[] = {
		"00000000-0000-0000-0000-000000000000\n",
		"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n",
		"Not Settable\n",
		"",
		NULL,
	};
	static const char *const what[] = { "nil", "all-FF", "garbage", "empty", "missing" };
	_cleanup_free_ char *first = NULL;
	sd_id128_t m;
	bool have_machine_id = sd_id128_get_machine(&m) >= 0;

	for (unsigned i = 0; i < ELEMENTSOF(what); i++) {
		char name[128];

		fresh(bad[i]);
		snprintf(name, sizeof(name), "%s DMI UUID: created", what[i]);
		is_int(get(), 1, name);
		ok(nqn && strlen(nqn) == STRLEN(HOSTID_NQN_UUID_PREFIX) + 36 &&
			   streq(nqn + STRLEN(HOSTID_NQN_UUID_PREFIX), id),
		   "  ... a uuid host NQN with the host ID's UUID");
		ok(id && !strstr(id, "00000000-0000") && !strstr(id, "ffffffff-ffff"),
		   "  ... not the placeholder");
		ok(said(have_machine_id ? "derived from the machine ID" : "random: no DMI"),
		   "  ... journal names the source");
		if (!have_machine_id)
			continue;
		if (!first) {
			sd_id128_t want;
			char w[37] = "";

			first = strdup(id);
			if (sd_id128_get_machine_app_specific(HOSTID_APP_ID, &want) == 0)
				vol_uuid_format(want.bytes, w);
			ok(streq(id, w), "  ... the machine ID's UUID for our application id");
		} else
			is_str(id, first, "  ... the same UUID as before: stable per machine");
	}
	if (!have_machine_id)
		printf("ok %d # SKIP no machine ID here: cannot check stability\n", ++tap_n);
}

static void test_missing_hostid(void)
{
	fresh(DMI_UUID "\n");
	put("hostnqn", HOSTID_NQN_UUID_PREFIX "9B2E5D10-7F3A-4C1E-8A55-3D6F0E2B7C41\n");
	is_int(get(), 1, "uuid host NQN, no hostid: created");
	is_str(id, NQN_UUID, "  ... host ID: the UUID of the host NQN, lower case");
	is_str(content("hostnqn"), HOSTID_NQN_UUID_PREFIX "9B2E5D10-7F3A-4C1E-8A55-3D6F0E2B7C41\n",
	       "  ... hostnqn untouched");
	is_str(content("hostid"), NQN_UUID "\n", "  ... hostid written");

	fresh(DMI_UUID "\n");
	put("hostnqn", PLAIN_NQN "\n");
	is_int(get(), 1, "other host NQN, no hostid: created");
	is_str(nqn, PLAIN_NQN, "  ... host NQN kept");
	is_str(id, DMI_UUID, "  ... host ID: the DMI UUID");
	ok(said("/hostid (host ID " DMI_UUID ", from the DMI system UUID)"), "  ... says so");

	fresh(DMI_UUID "\n");
	put("hostnqn", HOSTID_NQN_UUID_PREFIX "00000000-0000-0000-0000-000000000000\n");
	put("hostid", "\n");
	is_int(get(), 1, "nil uuid host NQN, empty hostid: created");
	is_str(id, DMI_UUID, "  ... host ID not nil: the DMI UUID");
}

static void test_missing_hostnqn(void)
{
	fresh(DMI_UUID "\n");
	put("hostid", ID_UUID "\n");
	put("hostnqn", " \n");
	is_int(get(), 1, "hostid, empty hostnqn: created");
	is_str(nqn, HOSTID_NQN_UUID_PREFIX ID_UUID, "  ... host NQN from the host ID, not DMI");
	is_str(content("hostnqn"), HOSTID_NQN_UUID_PREFIX ID_UUID "\n", "  ... written");
	ok(said("from the UUID of the host ID"), "  ... says so");
}

static void refused(const char *name, const char *text, const char *message, const char *what)
{
	fresh(DMI_UUID "\n");
	put("hostnqn", PLAIN_NQN "\n");
	put("hostid", ID_UUID "\n");
	put(name, text);
	is_int(get(), -EINVAL, what);
	ok(said(path_of(name)) && said(message), "  ... message names the file and why");
	ok(!nqn && !id, "  ... no result");
	is_str(content(name), text, "  ... file untouched");
}

static void test_invalid(void)
{
	char toolong[300];

	memset(toolong, 'x', sizeof(toolong));
	memcpy(toolong, "nqn.", 4);
	strcpy(toolong + 250, "\n");
	refused("hostnqn", "nqn.2024-01.com.example:a,b\n", ": not a valid host NQN: a ','",
		"host NQN with ',' refused");
	refused("hostnqn", "host-1\n", "does not start with \"nqn.\"", "host NQN without nqn. refused");
	refused("hostnqn", toolong, "longer than 223 bytes", "host NQN too long refused");
	refused("hostid", "not-a-uuid\n", ": not a valid host ID: not a UUID", "host ID no UUID refused");
	refused("hostid", ID_UUID "0\n", "not a UUID", "host ID one digit too many refused");
	{
		/* An identity below a blank first line is someone's: never
		 * replaced as if the file were empty. */
		fresh(DMI_UUID "\n");
		put("hostnqn", "\n" PLAIN_NQN "\n");
		put("hostid", ID_UUID "\n");
		is_int(get(), -EBADMSG, "host NQN below a blank first line: refused");
		ok(said(path_of("hostnqn")) && said("first line is blank"),
		   "  ... naming the file and why");
		is_str(content("hostnqn"), "\n" PLAIN_NQN "\n", "  ... file untouched");
	}
}

static void test_odd_files(void)
{
	char big[5000], target[512];

	fresh(DMI_UUID "\n");
	put("hostid", ID_UUID "\n");
	snprintf(target, sizeof(target), "%s/real-hostnqn", tmp);
	unlink(target);
	{
		FILE *f = fopen(target, "we");

		fputs(PLAIN_NQN "\n", f);
		fclose(f);
	}
	fixture(symlink(target, path_of("hostnqn")));
	is_int(get(), 0, "hostnqn a symlink to a file: followed, as nvme-cli does");
	is_str(nqn, PLAIN_NQN, "  ... its host NQN");

	unlink(path_of("hostnqn"));
	fixture(symlink("/nonexistent/nvmf-raid-test/hostnqn", path_of("hostnqn")));
	is_int(get(), -ELOOP, "dangling symlink hostnqn refused");
	ok(said("symbolic link that leads nowhere"), "  ... says why");
	ok(S_ISLNK(mode_of(path_of("hostnqn"))), "  ... and not replaced");

	unlink(path_of("hostnqn"));
	mkfifo(path_of("hostnqn"), 0644);
	is_int(get(), -EBADFD, "FIFO hostnqn refused without blocking");
	ok(said("not a regular file"), "  ... says why");

	unlink(path_of("hostnqn"));
	put("hostnqn", PLAIN_NQN "\n");
	unlink(path_of("hostid"));
	mkdir(path_of("hostid"), 0755);
	is_int(get(), -EBADFD, "directory hostid refused");

	rmdir(path_of("hostid"));
	memset(big, ' ', sizeof(big));
	big[sizeof(big) - 1] = 0;
	put("hostid", big);
	is_int(get(), -EFBIG, "hostid over 4096 bytes refused");
	ok(said("larger than 4096 bytes"), "  ... says why");
}

static void test_odd_dirs(void)
{
	char real[600], file[256];

	fresh(DMI_UUID "\n");
	snprintf(real, sizeof(real), "%s.real", dir);
	mkdir(real, 0755);
	fixture(symlink(real, dir));
	is_int(get(), -ENOTDIR, "directory a symlink: refused");
	ok(said("(a symbolic link, or not a directory)"), "  ... says why");

	fresh(DMI_UUID "\n");
	mkdir(dir, 0755);
	chmod(dir, 0777);
	is_int(get(), -EPERM, "world-writable directory refused");
	ok(said("writable by others"), "  ... says why");

	fresh(DMI_UUID "\n");
	snprintf(file, sizeof(file), "%s/plainfile", tmp);
	close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(dir, sizeof(dir), "%s/nvme", file);
	setenv(HOSTID_DIR_ENV, dir, 1);
	is_int(get(), -ENOTDIR, "parent not a directory: error");
	ok(said("Failed to open ") && said(dir), "  ... names it");
}

/* hostid_get() in a child that may not write files (RLIMIT_FSIZE 0, which
 * binds root too), its messages through a pipe into errs. */
static int get_unwritable(void)
{
	int p[2], st;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };

		dup2(p[1], STDERR_FILENO);
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		_exit(-hostid_get(&nqn, &id));
	}
	close(p[1]);
	while ((n = read(p[0], errs + len, sizeof(errs) - 1 - len)) > 0)
		len += (size_t)n;
	errs[len] = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -EIO;
	return -WEXITSTATUS(st);
}

static void test_unwritable(void)
{
	DIR *d;
	struct dirent *de;
	unsigned left = 0;

	fresh(DMI_UUID "\n");
	mkdir(dir, 0755);
	is_int(get_unwritable(), -EFBIG, "hostnqn cannot be written: error");
	ok(said("Failed to create ") && said(path_of("hostnqn")), "  ... names the file");
	d = opendir(dir);
	while (d && (de = readdir(d)))
		left += de->d_name[0] != '.' || strncmp(de->d_name, ".#", 2) == 0;
	if (d)
		closedir(d);
	is_int(left, 0, "  ... nothing left behind");
}

/* Children race to create the identity, each with a DMI UUID of its own
 * (so each would write a different one): all must end with one. */
#define RACERS 6

static void racer(int go, int out, unsigned i)
{
	char path[600], u[64], line[512], c;
	int n;

	snprintf(path, sizeof(path), "%s.%u", dmi, i);
	snprintf(u, sizeof(u), "4c4c4544-0042-3510-8052-0000000000%02u\n", i);
	{
		FILE *f = fopen(path, "we");

		fputs(u, f);
		fclose(f);
	}
	setenv(HOSTID_DMI_UUID_ENV, path, 1);
	if (read(go, &c, 1) < 0)
		_exit(2);
	if (hostid_get(&nqn, &id) < 0)
		_exit(1);
	n = snprintf(line, sizeof(line), "%s %s\n", nqn, id);
	if (write(out, line, (size_t)n) != n)
		_exit(3);
	free(nqn);
	free(id);
	_exit(0);
}

static void race(const char *what)
{
	int go[2], out[2], failed = 0;
	char buf[8192] = "", want[512];
	size_t len = 0;
	ssize_t n;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	for (unsigned i = 0; i < RACERS; i++)
		if (fork() == 0) {
			close(go[1]);
			close(out[0]);
			log_set_max_level(LOG_WARNING);
			racer(go[0], out[1], i);
		}
	close(go[0]);
	close(out[1]);
	close(go[1]); /* all go at once */
	while ((n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(out[0]);
	for (unsigned i = 0; i < RACERS; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	is_int(failed, 0, what);
	snprintf(want, sizeof(want), "%.*s %.*s\n", (int)strcspn(content("hostnqn"), "\n"),
		 content("hostnqn"), 36, content("hostid"));
	for (char *l = buf; *l; l += strcspn(l, "\n") + 1)
		if (strncmp(l, want, strlen(want)) != 0)
			failed++;
	is_int(failed, 0, "  ... every racer ended with the identity now in the files");
	printf("#   identity: %s", want);
}

static void test_concurrent(void)
{
	fresh(NULL);
	race("6 processes create hostnqn and hostid at once");
	ok(strstr(content("hostnqn"), HOSTID_NQN_UUID_PREFIX "4c4c4544-0042-3510-8052-0000000000") &&
		   strncmp(content("hostnqn") + STRLEN(HOSTID_NQN_UUID_PREFIX), content("hostid"), 36) == 0,
	   "  ... one racer's DMI UUID, in both files");

	fresh(NULL);
	put("hostnqn", PLAIN_NQN "\n");
	race("6 processes create hostid at once beside a hostnqn");
}

int main(void)
{
	log_setup("test-hostid");
	log_set_target(LOG_TARGET_CONSOLE);
	log_set_max_level(LOG_INFO);
	umask(022);
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %m\n");
		return 1;
	}
	chmod(tmp, 0755);

	test_nqn_check();
	test_existing();
	test_create_from_dmi();
	test_no_dmi();
	test_missing_hostid();
	test_missing_hostnqn();
	test_invalid();
	test_odd_files();
	test_odd_dirs();
	test_unwritable();
	test_concurrent();

	free(nqn);
	free(id);
	if (!getenv("NVMF_RAID_TEST_KEEP"))
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
