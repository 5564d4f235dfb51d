/* session.c: the data model of a measurement session: its runs and their
 * samples, held in growable arrays, and what one sample covers (one
 * execution of a command, or `loops` calls of an in-process loop). It owns
 * memory, not statistics (analysis) or persistence (store). */
#include "plumb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int plumb_set_string(char **field, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return PLUMB_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

/* Grows *items (of `size` bytes each) so one more fits. */
static int reserve(void **items, size_t size, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t new_cap = *cap ? *cap * 2 : 8;
    void *grown = realloc(*items, new_cap * size);
    if (!grown)
        return PLUMB_ENOMEM;
    *items = grown;
    *cap = new_cap;
    return 0;
}

plumb_session_t *plumb_session_new(void)
{
    plumb_session_t *s = calloc(1, sizeof *s);
    if (s)
        s->env.load_avg1 = -1;
    return s;
}

static void run_close(plumb_run_t *run)
{
    free(run->name);
    free(run->command);
    for (size_t i = 0; i < run->n_params; i++) {
        free(run->param_names[i]);
        free(run->param_values[i]);
    }
    free(run->param_names);
    free(run->param_values);
    free(run->python);
    free(run->series_name);
    free(run->samples);
}

void plumb_session_free(plumb_session_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_runs; i++)
        run_close(&s->runs[i]);
    free(s->runs);
    free(s->invocation);
    free(s->git_commit);
    free(s->scan_param);
    free(s->counters);
    free(s);
}

int plumb_session_add_run(plumb_session_t *s, const char *name,
                          const char *command, plumb_run_t **out)
{
    if (!s || !name || !command)
        return PLUMB_EINVAL;
    int err = reserve((void **)&s->runs, sizeof *s->runs, s->n_runs,
                      &s->runs_cap);
    if (err)
        return err;
    plumb_run_t *run = &s->runs[s->n_runs];
    memset(run, 0, sizeof *run);
    run->name = strdup(name);
    run->command = strdup(command);
    if (!run->name || !run->command) {
        run_close(run);
        return PLUMB_ENOMEM;
    }
    run->baseline = -1;
    run->series = (int)s->n_runs;
    run->x = NAN;
    s->n_runs++;
    if (out)
        *out = run;
    return 0;
}

int plumb_run_add_param(plumb_run_t *run, const char *name,
                        const char *value)
{
    char **names = realloc(run->param_names,
                           (run->n_params + 1) * sizeof *names);
    if (!names)
        return PLUMB_ENOMEM;
    run->param_names = names;
    char **values = realloc(run->param_values,
                            (run->n_params + 1) * sizeof *values);
    if (!values)
        return PLUMB_ENOMEM;
    run->param_values = values;
    char *name_copy = strdup(name), *value_copy = strdup(value);
    if (!name_copy || !value_copy) {
        free(name_copy);
        free(value_copy);
        return PLUMB_ENOMEM;
    }
    names[run->n_params] = name_copy;
    values[run->n_params] = value_copy;
    run->n_params++;
    return 0;
}

int plumb_run_add_sample(plumb_run_t *run, const plumb_sample_t *sample)
{
    int err = reserve((void **)&run->samples, sizeof *run->samples,
                      run->n_samples, &run->samples_cap);
    if (err)
        return err;
    run->samples[run->n_samples++] = *sample;
    return 0;
}

int plumb_session_copy_run(plumb_session_t *s, const plumb_run_t *src,
                           plumb_run_t **out)
{
    plumb_run_t *run;
    int err = plumb_session_add_run(s, src->name, src->command, &run);
    for (size_t i = 0; i < src->n_params && !err; i++)
        err = plumb_run_add_param(run, src->param_names[i],
                                  src->param_values[i]);
    for (size_t i = 0; i < src->n_samples && !err; i++)
        err = plumb_run_add_sample(run, &src->samples[i]);
    if (!err)
        err = plumb_set_string(&run->python, src->python);
    if (err)
        return err; /* the partial copy stays, owned and freed by s */
    run->id = src->id;
    run->loops = src->loops;
    run->shell = src->shell;
    run->shell_overhead_ns = src->shell_overhead_ns;
    run->x = src->x;
    if (out)
        *out = run;
    return 0;
}

int plumb_session_add_loop_run(plumb_session_t *s, const char *name,
                               const char *command,
                               const plumb_loop_subject_t *subject,
                               plumb_run_t **out)
{
    plumb_run_t *run;
    if (!s || !name || !command || !subject || subject->loops == 0 ||
        (subject->n_samples && !subject->loop_ns))
        return PLUMB_EINVAL;
    /* Checked first, so that a bad time adds no run at all. The total of a
     * sample must fit the int64 ns it is stored as. */
    for (size_t k = 0; k < subject->n_samples; k++) {
        double total = subject->loop_ns[k] * (double)subject->loops;
        if (!(total >= 0 && total < 9e18))
            return PLUMB_EINVAL;
    }
    int err = plumb_session_add_run(s, name, command, &run);
    if (err)
        return err;
    run->loops = subject->loops;
    for (size_t k = 0; k < subject->n_samples && !err; k++) {
        plumb_sample_t sample;
        plumb_sample_init(&sample);
        /* loop.c divided an integer count of ns by loops: multiplying back
         * and rounding gives that count again. */
        sample.metric[PLUMB_METRIC_WALL] =
            llround(subject->loop_ns[k] * (double)subject->loops);
        err = plumb_run_add_sample(run, &sample);
    }
    if (err)
        return err; /* the partial run stays, owned and freed by s */
    if (out)
        *out = run;
    return 0;
}

int plumb_run_values(const plumb_run_t *run, plumb_metric_t m,
                     double **values, size_t *n)
{
    *values = NULL;
    *n = 0;
    if (run->n_samples == 0)
        return 0;
    double *v = malloc(run->n_samples * sizeof *v);
    if (!v)
        return PLUMB_ENOMEM;
    /* A loop run's sample covers `loops` calls; a peak covers them all
     * at once and stays as it is. */
    double per = run->loops > 1 && m != PLUMB_METRIC_MAX_RSS
                     ? (double)run->loops
                     : 1.0;
    size_t count = 0;
    for (size_t i = 0; i < run->n_samples; i++) {
        int64_t x = run->samples[i].metric[m];
        if (x != PLUMB_UNAVAILABLE)
            v[count++] = (double)x / per;
    }
    if (count == 0) {
        free(v);
        return 0;
    }
    *values = v;
    *n = count;
    return 0;
}
