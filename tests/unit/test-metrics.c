/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * metrics_: event counters under a temporary runtime directory, the
 * block layer's stat parsed, and the exposition text: every sample line
 * well formed and preceded by its family's HELP and TYPE, names with the
 * nvmf_raid_ prefix, counters ending in _total, states as 0/1 per label.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descriptor.h"
#include "fileio.h"
#include "macro.h"
#include "metrics.h"
#include "state.h"
#include "tap.h"

static char run[] = "/tmp/test-metrics.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	(void)remove(path);
	return 0;
}

static void test_stat(void)
{
	struct metrics_io io;

	is_int(metrics_parse_stat("     120        3     9600       40      250        0     2000     1500"
				  "        0       90     1540        0        0        0        0\n",
				  &io),
	       0, "a kernel 6.1 stat line");
	ok(io.valid && io.reads == 120 && io.read_sectors == 9600 && io.read_ms == 40 &&
		   io.writes == 250 && io.write_sectors == 2000 && io.write_ms == 1500,
	   "  ... reads, sectors, ms; writes, sectors, ms (fields 1, 3, 4, 5, 7, 8)");
	is_int(metrics_parse_stat("1 2 3 4 5 6 7\n", &io), -EINVAL, "seven fields: refused");
	ok(!io.valid, "  ... and not valid");
	is_int(metrics_parse_stat("1 2 3 x 5 6 7 8\n", &io), -EINVAL, "a field that is no number");
	is_int(metrics_parse_stat("1 2 3 99999999999999999999 5 6 7 8\n", &io), -EINVAL,
	       "a field too large");
}

static void test_events(void)
{
	struct metrics_event_count *c = NULL;
	char *text = NULL;
	unsigned n = 0;

	is_int(metrics_parse_events("replica-lost r2 3\nstale-refused - 1\nno-such-event r1 4\n"
				    "replica-lost\nresync-finished r2 2",
				    &c, &n),
	       0, "counter file parsed");
	is_int(n, 3, "  ... three counts; an unknown event and a short line skipped");
	ok(n == 3 && c[0].event == EVENT_REPLICA_LOST && streq(c[0].replica, "r2") && c[0].count == 3,
	   "  ... replica-lost of r2: 3");
	ok(n == 3 && c[1].event == EVENT_STALE_REFUSED && c[1].replica[0] == 0 && c[1].count == 1,
	   "  ... stale-refused of the volume (\"-\"): 1");
	ok(n == 3 && c[2].event == EVENT_RESYNC_FINISHED && c[2].count == 2,
	   "  ... last line without newline");
	free(c);

	setenv(DESC_RUNTIME_DIR_ENV, run, 1);
	is_int(metrics_count_event("db1", "r2", EVENT_REPLICA_LOST), 0, "count replica-lost of db1 r2");
	is_int(metrics_count_event("db1", "r2", EVENT_REPLICA_LOST), 0, "  ... again");
	is_int(metrics_count_event("db1", NULL, EVENT_DEGRADED_START), 0, "count degraded-start of db1");
	is_int(metrics_count_event("../x", NULL, EVENT_DEGRADED_START), -EINVAL,
	       "invalid volume name refused");
	is_int(metrics_count_event("db1", NULL, _EVENT_MAX), -EINVAL, "invalid event refused");
	{
		char *path = xasprintf("%s/events", run);
		int dir = open(path, O_RDONLY | O_DIRECTORY);

		is_int(read_file_at(dir, "db1", 4096, &text, NULL), 0, "events/db1 written");
		is_str(text, "replica-lost r2 2\ndegraded-start - 1\n", "  ... two counts, one per line");
		free(text);
		close(dir);
		free(path);
	}
}

static struct status_volume *volume(void)
{
	struct status_volume *s = calloc(1, sizeof(*s));

	strcpy(s->name, "db1");
	s->attached = true;
	s->state = STATUS_REBUILDING;
	s->md = strdup("/dev/md127");
	s->running = true;
	s->size = 1073741824;
	s->md_degraded = 1;
	s->has_sync = true;
	s->sync_completed = 524288;
	s->sync_total = 2097152;
	s->n_replicas = 2;
	strcpy(s->replicas[0].name, "r1");
	s->replicas[0].state = STATE_IN_SYNC;
	s->replicas[0].reachable = true;
	s->replicas[0].device = strdup("/dev/nvme0n1");
	strcpy(s->replicas[1].name, "r2");
	s->replicas[1].state = STATE_REBUILDING;
	s->replicas[1].reachable = true;
	return s;
}

/* Every line a comment (HELP or TYPE of the family that follows) or a
 * sample of the family last typed. */
static void check_format(const char *text)
{
	regex_t sample;
	char family[128] = "";
	int bad = 0, samples = 0;

	if (regcomp(&sample,
		    "^(nvmf_raid_[a-z_]+)\\{([a-z]+=\"[^\"\\\\]*\")(,[a-z]+=\"[^\"\\\\]*\")*\\} "
		    "[0-9]+(\\.[0-9]+)?$",
		    REG_EXTENDED) != 0)
		abort();
	for (const char *l = text; *l;) {
		const char *end = strchrnul(l, '\n');
		char line[512];
		regmatch_t m[2];

		snprintf(line, sizeof(line), "%.*s", (int)(end - l), l);
		if (sscanf(line, "# TYPE %127s", family) == 1) {
			size_t n = strlen(family);
			bool counter = strstr(line, " counter") != NULL;

			if (counter != (n > 6 && streq(family + n - 6, "_total")))
				bad++, printf("#   counter and _total disagree: %s\n", line);
		} else if (strncmp(line, "# HELP nvmf_raid_", 17) != 0) {
			if (regexec(&sample, line, 2, m, 0) != 0 ||
			    strncmp(line, family, (size_t)(m[1].rm_eo - m[1].rm_so)) != 0 ||
			    strlen(family) != (size_t)(m[1].rm_eo - m[1].rm_so))
				bad++, printf("#   bad line: %s\n", line);
			samples++;
		}
		l = *end ? end + 1 : end;
	}
	regfree(&sample);
	ok(bad == 0 && samples > 0, "%d sample lines, each of its family, well formed", samples);
}

static void test_render(void)
{
	struct metrics_volume *v = calloc(1, sizeof(*v));
	char *text = NULL;

	v->status = volume();
	v->sync_speed_kib = 95000;
	v->io[0] = (struct metrics_io){ .valid = true,
					.reads = 10,
					.read_sectors = 80,
					.read_ms = 1234,
					.writes = 7,
					.write_sectors = 56,
					.write_ms = 5 };
	fixture(metrics_parse_events("replica-lost r2 2\n", &v->events, &v->n_events));
	is_int(metrics_render(v, 1, &text), 0, "rendered");
	check_format(text);
	ok(strstr(text, "nvmf_raid_volume_state{volume=\"db1\",state=\"rebuilding\"} 1\n") &&
		   strstr(text, "nvmf_raid_volume_state{volume=\"db1\",state=\"optimal\"} 0\n"),
	   "volume state: 1 for rebuilding, 0 for optimal");
	ok(strstr(text, "nvmf_raid_replica_state{volume=\"db1\",replica=\"r2\",state=\"rebuilding\"} 1\n") &&
		   strstr(text, "nvmf_raid_replica_in_sync{volume=\"db1\",replica=\"r1\"} 1\n") &&
		   strstr(text, "nvmf_raid_replica_in_sync{volume=\"db1\",replica=\"r2\"} 0\n"),
	   "replica state and in-sync flag");
	ok(strstr(text, "nvmf_raid_rebuild_progress_ratio{volume=\"db1\"} 0.2500\n") &&
		   strstr(text, "nvmf_raid_rebuild_rate_bytes_per_second{volume=\"db1\"} 97280000\n"),
	   "rebuild progress (524288 of 2097152 sectors) and rate (95000 KiB/s in bytes)");
	ok(strstr(text, "nvmf_raid_md_degraded{volume=\"db1\"} 1\n"), "md degraded");
	ok(strstr(text, "nvmf_raid_replica_read_bytes_total{volume=\"db1\",replica=\"r1\"} 40960\n") &&
		   strstr(text,
			  "nvmf_raid_replica_read_time_seconds_total{volume=\"db1\",replica=\"r1\"} 1.234\n"),
	   "r1's I/O: sectors as bytes, ms as seconds");
	ok(!strstr(text, "nvmf_raid_replica_reads_completed_total{volume=\"db1\",replica=\"r2\"}"),
	   "r2 without a device: no I/O counters");
	ok(strstr(text, "nvmf_raid_events_total{volume=\"db1\",replica=\"r2\",event=\"replica-lost\"} 2\n"),
	   "event counter");
	free(text);
	v->status->state = (enum status_state)99;
	is_int(metrics_render(v, 1, &text), -EINVAL, "an invalid state refused");
	metrics_volumes_free(v, 1);
}

/* metrics_gather() of a runtime directory with only an event counter:
 * nothing attached, and the volume (no descriptor, no volume file) not
 * exported. */
static void test_gather_empty(void)
{
	struct metrics_volume *v = NULL;
	unsigned n = 99, attached = 99;

	setenv(DESC_RUNTIME_DIR_ENV, run, 1);
	setenv(VOL_ETC_DIR_ENV, run, 1);
	setenv(VOL_RUN_DIR_ENV, run, 1);
	is_int(metrics_gather(&v, &n, &attached), 0, "gathered");
	ok(attached == 0, "  ... nothing attached");
	metrics_volumes_free(v, n);
}

static struct metrics_volume fake(const char *name, bool attached)
{
	struct metrics_volume m = { .status = calloc(1, sizeof(struct status_volume)) };

	if (!m.status)
		abort();
	snprintf(m.status->name, sizeof(m.status->name), "%s", name);
	m.status->attached = attached;
	return m;
}

/* metrics_regather(): only the volumes named are looked at again; one
 * with neither descriptor nor counter is dropped, the others stay. */
static void test_regather(void)
{
	struct metrics_volume *v = calloc(3, sizeof(*v));
	char *names[] = { (char *)"gone", (char *)"bad/name", (char *)"new" };
	unsigned n = 3, attached = 99;

	if (!v)
		abort();
	v[0] = fake("a-kept", true);
	v[1] = fake("gone", true);
	v[2] = fake("z-kept", false);
	setenv(DESC_RUNTIME_DIR_ENV, run, 1);
	is_int(metrics_regather(&v, &n, names, ELEMENTSOF(names), &attached), 0, "regathered");
	is_int(n, 2, "  ... the volume without descriptor or counter dropped, none added");
	ok(n == 2 && streq(v[0].status->name, "a-kept") && streq(v[1].status->name, "z-kept"),
	   "  ... the others untouched, in order");
	is_int(attached, 1, "  ... attached counted over all of them");
	is_int(metrics_regather(&v, &n, NULL, 0, &attached), 0, "nothing named: nothing gathered");
	is_int(n, 2, "  ... all kept");
	metrics_volumes_free(v, n);
}

int main(void)
{
	if (!mkdtemp(run))
		abort();
	test_stat();
	test_events();
	test_render();
	test_gather_empty();
	test_regather();
	nftw(run, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
