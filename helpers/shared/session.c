/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "exit-status.h"
#include "fileio.h"
#include "log.h"
#include "session.h"

int vs_load(struct vs_session *s, bool cross)
{
	int r;

	s->failed = VS_STEP_NONE;
	vol_free(s->vol);
	s->vol = NULL;
	free(s->path);
	s->path = NULL;
	r = vol_find(s->name, &s->path);
	if (r < 0) {
		s->failed = VS_STEP_FIND;
		return r;
	}
	r = vol_load_collect(s->path, &s->problems, &s->vol);
	if (r < 0) {
		s->failed = VS_STEP_LOAD;
		return r;
	}
	if (cross) {
		r = vol_check_against_others(s->vol);
		if (r < 0) {
			s->failed = VS_STEP_CROSS;
			return r;
		}
	}
	return 0;
}

int vs_lock(struct vs_session *s, bool create)
{
	int r;

	s->failed = VS_STEP_NONE;
	if (s->lock_fd >= 0)
		return 0;
	if (s->run_fd < 0) {
		r = desc_open_runtime_dir(create, &s->run_fd);
		if (r < 0) {
			s->failed = VS_STEP_LOCK;
			return r;
		}
	}
	r = lock_volume_at(s->run_fd, s->name, true, &s->lock_fd);
	if (r < 0) {
		s->failed = VS_STEP_LOCK;
		return r;
	}
	return 0;
}

void vs_unlock(struct vs_session *s, bool remove)
{
	if (s->lock_fd >= 0)
		s->lock_fd = unlock_volume_at(s->run_fd, s->name, TAKE_FD(s->lock_fd), remove);
}

int vs_read_desc(struct vs_session *s)
{
	struct desc *d = NULL;
	int r;

	s->failed = VS_STEP_NONE;
	r = desc_read(s->name, &d);
	if (r < 0) {
		s->failed = VS_STEP_DESC;
		return r;
	}
	desc_free(s->desc);
	s->desc = d;
	return 0;
}

int vs_new_desc(struct vs_session *s)
{
	struct desc *d = NULL;
	int r;

	if (!s->vol)
		return -EINVAL;
	r = desc_from_volume(s->vol, &d);
	if (r < 0)
		return r;
	desc_free(s->desc);
	s->desc = d;
	return 0;
}

int vs_read_record(struct vs_session *s)
{
	int r = state_record_read(s->name, &s->record);

	s->have_record = r == 0;
	return r;
}

void vs_log_problems(const struct vs_session *s)
{
	vol_problems_log(&s->problems);
}

int vs_exit_status(const struct vs_session *s, int r)
{
	if (r >= 0)
		return EXIT_OK;
	if (r == -ENOPKG)
		return EXIT_MISSING;
	switch (s ? s->failed : VS_STEP_NONE) {
	case VS_STEP_FIND:
		return IN_SET(r, -ENOENT, -EINVAL) ? EXIT_USAGE : EXIT_FAILED;
	case VS_STEP_LOAD:
		return IN_SET(r, -EINVAL, -ELOOP, -EFBIG, -ENOENT) ? EXIT_USAGE : EXIT_FAILED;
	case VS_STEP_CROSS:
		return EXIT_USAGE;
	default:
		return EXIT_FAILED;
	}
}

int vs_open(const char *name, unsigned flags, struct vs_session **ret)
{
	struct vs_session *s;
	int r = 0;

	*ret = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return log_oom();
	s->run_fd = s->lock_fd = -EBADF;
	*ret = s;
	/* Checked (and reported) where the name was taken: helper_main(), the verbs. */
	if (!vol_name_is_valid(name)) {
		s->failed = VS_STEP_FIND;
		return -EINVAL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (flags & VS_FILE)
		r = vs_load(s, flags & VS_CROSS);
	if (r >= 0 && (flags & VS_LOCK))
		r = vs_lock(s, flags & VS_CREATE);
	if (r >= 0 && (flags & VS_DESC))
		r = vs_read_desc(s);
	return r;
}

void vs_close(struct vs_session *s)
{
	if (!s)
		return;
	vs_unlock(s, false);
	safe_close(s->run_fd);
	desc_free(s->desc);
	vol_free(s->vol);
	vol_problems_clear(&s->problems);
	free(s->path);
	free(s);
}

static int volume_lock_name(const char *volume, char buf[static NAME_MAX + 1])
{
	return vs_file_name(VS_FILE_LOCK, volume, buf);
}

int lock_volume_at(int dir_fd, const char *volume, bool wait, int *ret_fd)
{
	char name[NAME_MAX + 1];
	int r;

	r = volume_lock_name(volume, name);
	if (r < 0)
		return r;
	return lock_file_at(dir_fd, name, wait, ret_fd);
}

int unlock_volume_at(int dir_fd, const char *volume, int fd, bool remove)
{
	char name[NAME_MAX + 1];

	if (volume_lock_name(volume, name) < 0)
		return safe_close(fd);
	return unlock_file_at(dir_fd, name, fd, remove);
}
