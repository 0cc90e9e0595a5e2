/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exit statuses of every nvmf-raid program (contract.md). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,  /* the operation failed */
	EXIT_USAGE = 2,	  /* usage error or invalid volume file */
	EXIT_MISSING = 3, /* a required tool or kernel module is missing */
};
