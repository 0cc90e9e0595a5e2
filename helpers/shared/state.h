/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * state_: the life cycle of one replica (contract.md "Runtime files").  One
 * table in state.c says which changes are allowed; every helper that moves
 * a replica goes through state_transition(), so a replica can never go from
 * stale to in sync without a rebuild, whoever observes what.
 */

#include <errno.h>
#include <stdbool.h>

enum state {
	STATE_ABSENT,	  /* no namespace seen */
	STATE_PRESENT,	  /* namespace seen, not (yet) an array member */
	STATE_IN_SYNC,	  /* active array member, in sync */
	STATE_REBUILDING, /* array member being resynced/recovered */
	STATE_FAULTY,	  /* md failed it */
	STATE_OUTDATED,	  /* known stale; never assembled from */
	_STATE_MAX,
	_STATE_INVALID = -EINVAL,
};

/**
 * state_to_string() - the contract's spelling of @s
 * Return: "absent", "present", "in-sync", "rebuilding", "faulty" or
 * "outdated"; NULL for an invalid @s.
 */
const char *state_to_string(enum state s);

/**
 * state_from_string() - parse the contract's spelling (case-sensitive)
 * Return: the state, or -EINVAL (_STATE_INVALID) for anything else.
 */
enum state state_from_string(const char *s);

/**
 * state_transition_allowed() - whether a replica may go from @from to @to
 * Return: true if the table allows it; true for @from == @to (a no-op);
 * false for a forbidden change or an invalid state.
 */
bool state_transition_allowed(enum state from, enum state to);

/**
 * state_transition() - move *@cur to @to if the table allows it
 * @cur: the current state, updated only on a real change
 * @to: the new state
 *
 * Logs nothing: the caller knows which replica of which volume it moves.
 * Return: 1 if the state changed, 0 if it already was @to, -EINVAL for a
 * forbidden change or an invalid state (*@cur untouched).
 */
int state_transition(enum state *cur, enum state to);

/**
 * state_follow() - the state a replica at @cur takes when md and udev show
 * @seen (the monitor's observation of it)
 *
 * Only what the table allows: @seen if @cur may go there, else @cur kept
 * (a faulty or outdated replica that md shows "present" or even in sync
 * stays stale until a rebuild it went through ends: rebuilding -> in-sync).
 * An absent replica whose namespace is seen again went through present,
 * which udev told us; it goes on from there as the table allows.
 * Return: the new state; @cur for an invalid @seen.
 */
enum state state_follow(enum state cur, enum state seen);
