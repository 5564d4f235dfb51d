/* store_profile.c: sampled profiles in the store. A profile is kept as a
 * session holding one run of kind 'profile' (so that plumb runs lists it
 * like any other), its header, its threads and its aggregated stacks, one
 * row per distinct stack with its count, never one per sample. The schema
 * is store.c's, and so are the checks and messages every call goes through
 * (store.h); this file only knows what a profile is made of.
 */
#include "store.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *profile_mode_name(plumb_profile_mode_t mode)
{
    return mode == PLUMB_PROFILE_WALL ? "wall" : "cpu";
}

/* Splits a line of collapsed stacks, in place, into the thread, the frames
 * below it ("" when none) and the count. 0, or -1 for a line without a
 * count (which plumb_stack_collapsed never writes). */
static int split_collapsed(char *line, const char **thread, const char **frames,
                           uint64_t *count)
{
    char *space = strrchr(line, ' ');
    if (!space)
        return -1;
    *space = '\0';
    *count = strtoull(space + 1, NULL, 10);
    *thread = line;
    char *semi = strchr(line, ';');
    if (semi) {
        *semi = '\0';
        *frames = semi + 1;
    } else {
        *frames = "";
    }
    return 0;
}

int plumb_store_save_profile(plumb_store_t *st, const plumb_profile_t *p,
                             const plumb_env_t *env, const char *command,
                             const char *invocation, int64_t *run_id)
{
    sqlite3_stmt *ins_profile = NULL, *ins_thread = NULL, *ins_stack = NULL;
    char *collapsed = NULL, *name = NULL, *cmd = NULL, what[256];
    int in_transaction = 0, rc;
    int64_t id = 0;
    plumb_session_t s = {0};
    int err = plumb__store_begin_call(st);
    if (err)
        return err;
    if (!p || !p->stacks || (p->n_threads && !p->threads))
        return plumb__store_fail(st, PLUMB_EINVAL, "no profile to save");
    if (env)
        s.env = *env;
    s.invocation = (char *)invocation; /* only read */

    /* Allocations first: inside the transaction only SQLite can fail. */
    if ((err = plumb_stack_collapsed(p->stacks, &collapsed))) {
        plumb__store_fail(st, err, "cannot read the profile's stacks");
        goto out;
    }
    size_t size = (command ? strlen(command) : 32) + 32;
    name = malloc(size);
    cmd = malloc(size);
    if (!name || !cmd) {
        err = plumb__store_fail(st, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    if (command && *command)
        snprintf(cmd, size, "%s", command);
    else
        snprintf(cmd, size, "pid %d", p->pid);
    snprintf(name, size, "profile: %s", cmd);
    if ((err = plumb__store_prepare(
             st,
             "INSERT INTO profiles (run_id, pid, python, mode, "
             "rate_hz, achieved_hz, duration_ns, samples, dropped, "
             "thread_samples, idle, threads_seen, exit_status, "
             "exit_signal, processes) VALUES (?, ?, ?, ?, ?, ?, ?, "
             "?, ?, ?, ?, ?, ?, ?, ?)",
             &ins_profile)) ||
        (err = plumb__store_prepare(
             st,
             "INSERT INTO profile_threads (run_id, idx, label, "
             "stacks, gil_ticks, gil_known) VALUES (?, ?, ?, ?, "
             "?, ?)",
             &ins_thread)) ||
        (err = plumb__store_prepare(
             st,
             "INSERT INTO profile_stacks (run_id, thread, stack, "
             "count) VALUES (?, ?, ?, ?)",
             &ins_stack)))
        goto out;

    if (plumb__store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot start saving the profile");
        goto out;
    }
    in_transaction = 1;
    if ((err = plumb__store_insert_lone_run(
             st, &s, "profile", name, cmd, p->python, sizeof p->python,
             p->samples, "the profile", &id)))
        goto out;

    rc = sqlite3_bind_int64(ins_profile, 1, id);
    rc |= sqlite3_bind_int(ins_profile, 2, p->pid);
    rc |= plumb__store_bind_field(ins_profile, 3, p->python, sizeof p->python);
    rc |= plumb__store_bind_text(ins_profile, 4, profile_mode_name(p->mode));
    rc |= sqlite3_bind_double(ins_profile, 5, p->rate_hz);
    rc |= sqlite3_bind_double(ins_profile, 6, p->achieved_hz);
    rc |= sqlite3_bind_int64(ins_profile, 7, p->duration_ns);
    rc |= sqlite3_bind_int64(ins_profile, 8, (int64_t)p->samples);
    rc |= sqlite3_bind_int64(ins_profile, 9, (int64_t)p->dropped);
    rc |= sqlite3_bind_int64(ins_profile, 10, (int64_t)p->thread_samples);
    rc |= sqlite3_bind_int64(ins_profile, 11, (int64_t)p->idle);
    rc |= sqlite3_bind_int64(ins_profile, 12, (int64_t)p->threads_seen);
    rc |= sqlite3_bind_int(ins_profile, 13, p->exit_status);
    rc |= sqlite3_bind_int(ins_profile, 14, p->exit_signal);
    rc |= sqlite3_bind_int64(ins_profile, 15, (int64_t)p->processes);
    if (rc != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot save the profile's header");
        goto out;
    }
    if ((err = plumb__store_step_done(st, ins_profile,
                                      "cannot save the profile's header")))
        goto out;

    for (size_t i = 0; i < p->n_threads; i++) {
        const plumb_profile_thread_t *t = &p->threads[i];
        rc = sqlite3_bind_int64(ins_thread, 1, id);
        rc |= sqlite3_bind_int64(ins_thread, 2, (int64_t)i);
        rc |= plumb__store_bind_field(ins_thread, 3, t->label, sizeof t->label);
        rc |= sqlite3_bind_int64(ins_thread, 4, (int64_t)t->stacks);
        rc |= sqlite3_bind_int64(ins_thread, 5, (int64_t)t->gil_ticks);
        rc |= sqlite3_bind_int(ins_thread, 6, t->gil_known);
        if (rc != SQLITE_OK) {
            snprintf(what, sizeof what, "cannot save thread %zu of the profile",
                     i);
            err = plumb__store_fail_sqlite(st, what);
            goto out;
        }
        snprintf(what, sizeof what, "cannot save thread %zu of the profile", i);
        if ((err = plumb__store_step_done(st, ins_thread, what)))
            goto out;
    }

    for (char *line = collapsed, *end; *line; line = end + 1) {
        const char *thread, *frames;
        uint64_t count;
        end = strchr(line, '\n');
        assert(end);
        *end = '\0';
        if (split_collapsed(line, &thread, &frames, &count) != 0)
            continue;
        rc = sqlite3_bind_int64(ins_stack, 1, id);
        rc |= plumb__store_bind_text(ins_stack, 2, thread);
        rc |= plumb__store_bind_text(ins_stack, 3, frames);
        rc |= sqlite3_bind_int64(ins_stack, 4, (int64_t)count);
        if (rc != SQLITE_OK) {
            err = plumb__store_fail_sqlite(st,
                                           "cannot save the profile's stacks");
            goto out;
        }
        if ((err = plumb__store_step_done(st, ins_stack,
                                          "cannot save the profile's stacks")))
            goto out;
    }

    if (plumb__store_exec(st, "COMMIT") != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot commit the profile");
        goto out;
    }
    in_transaction = 0;
    if (run_id)
        *run_id = id;
out:
    if (in_transaction)
        plumb__store_rollback(st);
    sqlite3_finalize(ins_profile);
    sqlite3_finalize(ins_thread);
    sqlite3_finalize(ins_stack);
    free(collapsed);
    free(name);
    free(cmd);
    return err;
}

int plumb_store_load_profile(plumb_store_t *st, int64_t run_id,
                             plumb_profile_t **out)
{
    sqlite3_stmt *q_profile = NULL, *q_threads = NULL, *q_stacks = NULL;
    plumb_profile_t *p = NULL;
    char what[256];
    int in_transaction = 0, rc;
    if (out)
        *out = NULL;
    int err = plumb__store_begin_call(st);
    if (err)
        return err;
    if (!out)
        return plumb__store_fail(st, PLUMB_EINVAL,
                                 "nowhere to load the profile into");
    if ((err = plumb__store_prepare(
             st,
             "SELECT pid, python, mode, rate_hz, achieved_hz, "
             "duration_ns, samples, dropped, thread_samples, idle, "
             "threads_seen, exit_status, exit_signal, processes, "
             "(SELECT command FROM runs WHERE runs.id = run_id) "
             "FROM profiles "
             "WHERE run_id = ?",
             &q_profile)) ||
        (err = plumb__store_prepare(
             st,
             "SELECT label, stacks, gil_ticks, gil_known FROM "
             "profile_threads WHERE run_id = ? ORDER BY idx",
             &q_threads)) ||
        (err = plumb__store_prepare(
             st,
             "SELECT thread, stack, count FROM profile_stacks "
             "WHERE run_id = ? ORDER BY rowid",
             &q_stacks)))
        goto out;
    if (plumb__store_exec(st, "BEGIN") != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot read the store");
        goto out;
    }
    in_transaction = 1;
    if (!(p = calloc(1, sizeof *p)) || plumb_stack_new(&p->stacks) != 0) {
        err = plumb__store_fail(st, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    sqlite3_bind_int64(q_profile, 1, run_id);
    if ((err = plumb__store_step_head(st, q_profile, "profile", run_id)))
        goto out;
    p->pid = sqlite3_column_int(q_profile, 0);
    plumb__store_copy_field(p->python, sizeof p->python, q_profile, 1);
    p->mode = strcmp(plumb__store_column_text(q_profile, 2), "wall") == 0
                  ? PLUMB_PROFILE_WALL
                  : PLUMB_PROFILE_CPU;
    p->rate_hz = sqlite3_column_double(q_profile, 3);
    p->achieved_hz = sqlite3_column_double(q_profile, 4);
    p->duration_ns = sqlite3_column_int64(q_profile, 5);
    p->samples = (uint64_t)sqlite3_column_int64(q_profile, 6);
    p->dropped = (uint64_t)sqlite3_column_int64(q_profile, 7);
    p->thread_samples = (uint64_t)sqlite3_column_int64(q_profile, 8);
    p->idle = (uint64_t)sqlite3_column_int64(q_profile, 9);
    p->threads_seen = (size_t)sqlite3_column_int64(q_profile, 10);
    p->exit_status = sqlite3_column_int(q_profile, 11);
    p->exit_signal = sqlite3_column_int(q_profile, 12);
    p->processes = (size_t)sqlite3_column_int64(q_profile, 13);
    plumb__store_copy_field(p->command, sizeof p->command, q_profile, 14);

    sqlite3_bind_int64(q_threads, 1, run_id);
    size_t threads_cap = 0;
    while ((rc = sqlite3_step(q_threads)) == SQLITE_ROW) {
        if (p->n_threads == threads_cap) {
            size_t cap = threads_cap ? threads_cap * 2 : 8;
            plumb_profile_thread_t *grown =
                realloc(p->threads, cap * sizeof *grown);
            if (!grown) {
                err = plumb__store_fail(st, PLUMB_ENOMEM, "out of memory");
                goto out;
            }
            p->threads = grown;
            threads_cap = cap;
        }
        plumb_profile_thread_t *t = &p->threads[p->n_threads++];
        memset(t, 0, sizeof *t);
        plumb__store_copy_field(t->label, sizeof t->label, q_threads, 0);
        t->stacks = (uint64_t)sqlite3_column_int64(q_threads, 1);
        t->gil_ticks = (uint64_t)sqlite3_column_int64(q_threads, 2);
        t->gil_known = sqlite3_column_int(q_threads, 3);
    }
    if (rc != SQLITE_DONE) {
        snprintf(what, sizeof what, "cannot read the threads of profile %lld",
                 (long long)run_id);
        err = plumb__store_fail_sqlite(st, what);
        goto out;
    }

    sqlite3_bind_int64(q_stacks, 1, run_id);
    snprintf(what, sizeof what, "cannot read the stacks of profile %lld",
             (long long)run_id);
    if ((err = plumb__store_read_stacks(st, q_stacks, &p->stacks, 1, what)))
        goto out;
    *out = p;
    p = NULL;
out:
    sqlite3_finalize(q_profile);
    sqlite3_finalize(q_threads);
    sqlite3_finalize(q_stacks);
    if (in_transaction)
        plumb__store_rollback(st);
    plumb_profile_free(p);
    return err;
}
