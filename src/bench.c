/* bench.c: measuring commands. It expands commands over their parameters,
 * decides which run is compared with which, schedules warm-ups and measured
 * runs (interleaved so drift hits every command alike), and collects the
 * samples into a session. How one run is measured is proc's business; what
 * the samples mean is analysis's. */
#include "plumb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Spawns of an empty command used to price the shell's start-up. */
#define SHELL_CALIBRATION_RUNS 20
/* Spawns used to price the harness's own cost. */
#define OVERHEAD_RUNS 50

typedef struct {
    char *name;     /* NULL: labelled by its command */
    char *template; /* with {param} placeholders */
} bench_command_t;

typedef struct {
    char *name;
    char **values;
    size_t n_values;
} bench_param_t;

/* One thing to measure: a command with its parameters substituted. */
typedef struct {
    size_t command;          /* index into b->commands */
    size_t *value_of;        /* per parameter, the index of its value */
    char *text;              /* the command line */
    plumb_command_t *parsed;
    char **argv;             /* parsed argv with argv[0] resolved */
    char *setup, *cleanup;   /* substituted, or NULL */
    int64_t measured_ns;     /* sum of wall times so far */
} bench_case_t;

struct plumb_bench {
    plumb_bench_opts_t opts;
    bench_command_t *commands;
    size_t n_commands;
    bench_param_t *params;
    size_t n_params;
    bench_case_t *cases;
    size_t n_cases;
    plumb_counters_t *counters;
    char *prepare_text;
    plumb_command_t *prepare;
    char **prepare_argv;
    plumb_bench_failure_t failure;
    size_t runs_done, runs_total;
    int64_t started_ns;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void plumb_bench_opts_init(plumb_bench_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->warmup = 1;
    o->min_runs = 10;
    o->budget_s = 3.0;
    o->schedule = PLUMB_SCHEDULE_BLOCKS;
    o->seed = UINT64_C(0x706c756d62);
    o->shell_mode = PLUMB_SHELL_AUTO;
}

static void free_opts_strings(plumb_bench_opts_t *o)
{
    free((char *)o->shell);
    free((char *)o->prepare);
    free((char *)o->setup);
    free((char *)o->cleanup);
    free((char *)o->compare_param);
    free((char *)o->baseline);
    free((char *)o->invocation);
}

static void free_cases(plumb_bench_t *b)
{
    for (size_t i = 0; i < b->n_cases; i++) {
        bench_case_t *c = &b->cases[i];
        free(c->value_of);
        free(c->text);
        plumb_command_free(c->parsed);
        if (c->argv)
            free(c->argv[0]);
        free(c->argv);
        free(c->setup);
        free(c->cleanup);
    }
    free(b->cases);
    b->cases = NULL;
    b->n_cases = 0;
}

void plumb_bench_free(plumb_bench_t *b)
{
    if (!b)
        return;
    free_cases(b);
    for (size_t i = 0; i < b->n_commands; i++) {
        free(b->commands[i].name);
        free(b->commands[i].template);
    }
    free(b->commands);
    for (size_t i = 0; i < b->n_params; i++) {
        free(b->params[i].name);
        for (size_t j = 0; j < b->params[i].n_values; j++)
            free(b->params[i].values[j]);
        free(b->params[i].values);
    }
    free(b->params);
    plumb_counters_free(b->counters);
    free(b->prepare_text);
    plumb_command_free(b->prepare);
    if (b->prepare_argv)
        free(b->prepare_argv[0]);
    free(b->prepare_argv);
    free(b->failure.run_name);
    free(b->failure.command);
    free(b->failure.program);
    free_opts_strings(&b->opts);
    free(b);
}

int plumb_bench_new(const plumb_bench_opts_t *opts, plumb_bench_t **out)
{
    plumb_bench_t *b = calloc(1, sizeof *b);
    if (!b)
        return PLUMB_ENOMEM;
    if (opts)
        b->opts = *opts;
    else
        plumb_bench_opts_init(&b->opts);
    plumb_bench_opts_t *o = &b->opts;
    /* own every string so the caller's may go away */
    const char *given[] = {o->shell,         o->prepare,  o->setup,
                           o->cleanup,       o->compare_param,
                           o->baseline,      o->invocation};
    o->shell = dup_or_null(given[0]);
    o->prepare = dup_or_null(given[1]);
    o->setup = dup_or_null(given[2]);
    o->cleanup = dup_or_null(given[3]);
    o->compare_param = dup_or_null(given[4]);
    o->baseline = dup_or_null(given[5]);
    o->invocation = dup_or_null(given[6]);
    for (size_t i = 0; i < sizeof given / sizeof *given; i++) {
        const char *copies[] = {o->shell,         o->prepare,  o->setup,
                                o->cleanup,       o->compare_param,
                                o->baseline,      o->invocation};
        if (given[i] && !copies[i]) {
            plumb_bench_free(b);
            return PLUMB_ENOMEM;
        }
    }
    if (o->min_runs < 2)
        o->min_runs = 2;
    *out = b;
    return 0;
}

const plumb_bench_failure_t *plumb_bench_failure(const plumb_bench_t *b)
{
    return &b->failure;
}

int plumb_bench_add_command(plumb_bench_t *b, const char *name,
                            const char *command)
{
    if (!command || !*command)
        return PLUMB_EINVAL;
    bench_command_t *grown =
        realloc(b->commands, (b->n_commands + 1) * sizeof *grown);
    if (!grown)
        return PLUMB_ENOMEM;
    b->commands = grown;
    bench_command_t *c = &b->commands[b->n_commands];
    c->name = dup_or_null(name);
    c->template = strdup(command);
    if ((name && !c->name) || !c->template) {
        free(c->name);
        free(c->template);
        return PLUMB_ENOMEM;
    }
    b->n_commands++;
    return 0;
}

int plumb_bench_add_param(plumb_bench_t *b, const char *name,
                          size_t n_values, const char *const *values)
{
    if (!name || !*name || n_values == 0)
        return PLUMB_EINVAL;
    for (size_t i = 0; i < b->n_params; i++)
        if (strcmp(b->params[i].name, name) == 0)
            return PLUMB_EINVAL;
    bench_param_t *grown =
        realloc(b->params, (b->n_params + 1) * sizeof *grown);
    if (!grown)
        return PLUMB_ENOMEM;
    b->params = grown;
    bench_param_t *p = &b->params[b->n_params];
    p->name = strdup(name);
    p->values = calloc(n_values, sizeof *p->values);
    p->n_values = 0;
    if (!p->name || !p->values)
        goto nomem;
    for (size_t i = 0; i < n_values; i++) {
        if (!(p->values[i] = strdup(values[i])))
            goto nomem;
        p->n_values++;
    }
    b->n_params++;
    return 0;
nomem:
    for (size_t i = 0; i < p->n_values; i++)
        free(p->values[i]);
    free(p->values);
    free(p->name);
    return PLUMB_ENOMEM;
}

/* Records what failed, for the caller to tell the user. */
static int fail(plumb_bench_t *b, int err, const char *phase,
                const char *run_name, const char *command,
                const plumb_sample_t *sample, const char *tail)
{
    plumb_bench_failure_t *f = &b->failure;
    f->err = err;
    f->phase = phase;
    plumb_set_string(&f->run_name, run_name);
    plumb_set_string(&f->command, command);
    if (sample) {
        f->exit_code = sample->exit_code;
        f->term_signal = sample->term_signal;
        f->timed_out = sample->timed_out;
    }
    snprintf(f->stderr_tail, sizeof f->stderr_tail, "%s", tail ? tail : "");
    return err;
}

/* Parses text and resolves its program once, so runs do not search PATH.
 * A program that cannot be found is named in the failure. */
static int prepare_command(plumb_bench_t *b, const char *text,
                           plumb_command_t **parsed, char ***argv_out)
{
    int err = plumb_command_new(text, b->opts.shell_mode, b->opts.shell,
                                parsed);
    if (err)
        return err;
    char *const *argv = plumb_command_argv(*parsed);
    size_t argc = 0;
    while (argv[argc])
        argc++;
    char **copy = calloc(argc + 1, sizeof *copy);
    if (!copy)
        return PLUMB_ENOMEM;
    if ((err = plumb_proc_which(argv[0], &copy[0])) != 0) {
        free(copy);
        plumb_set_string(&b->failure.program, argv[0]);
        return err;
    }
    for (size_t i = 1; i < argc; i++)
        copy[i] = argv[i];
    *argv_out = copy;
    return 0;
}

static int substitute(plumb_bench_t *b, const bench_case_t *c,
                      const char *tmpl, char **out)
{
    const char **names = calloc(b->n_params + 1, sizeof *names);
    const char **values = calloc(b->n_params + 1, sizeof *values);
    int err = PLUMB_ENOMEM;
    if (names && values) {
        for (size_t p = 0; p < b->n_params; p++) {
            names[p] = b->params[p].name;
            values[p] = b->params[p].values[c->value_of[p]];
        }
        err = plumb_command_substitute(tmpl, b->n_params, names, values, out);
    }
    free(names);
    free(values);
    return err;
}

/* Cases in order: for each command, every combination of parameter values,
 * the first parameter varying slowest. */
static int expand_cases(plumb_bench_t *b)
{
    size_t combos = 1;
    for (size_t p = 0; p < b->n_params; p++)
        combos *= b->params[p].n_values;
    b->cases = calloc(b->n_commands * combos, sizeof *b->cases);
    if (!b->cases)
        return PLUMB_ENOMEM;
    for (size_t cmd = 0; cmd < b->n_commands; cmd++) {
        for (size_t k = 0; k < combos; k++) {
            bench_case_t *c = &b->cases[b->n_cases++];
            c->command = cmd;
            if (!(c->value_of = calloc(b->n_params + 1, sizeof *c->value_of)))
                return PLUMB_ENOMEM;
            size_t rest = k;
            for (size_t p = b->n_params; p-- > 0;) {
                c->value_of[p] = rest % b->params[p].n_values;
                rest /= b->params[p].n_values;
            }
            int err = substitute(b, c, b->commands[cmd].template, &c->text);
            if (!err && b->opts.setup)
                err = substitute(b, c, b->opts.setup, &c->setup);
            if (!err && b->opts.cleanup)
                err = substitute(b, c, b->opts.cleanup, &c->cleanup);
            if (err)
                return err;
        }
    }
    return 0;
}

static int is_number(const char *s)
{
    char *end;
    if (!*s)
        return 0;
    double v = strtod(s, &end);
    return *end == '\0' && isfinite(v);
}

/* The parameter a complexity fit runs over: the only one, numeric, with at
 * least three values, and not one being compared across its values. */
static const bench_param_t *scan_param(const plumb_bench_t *b)
{
    if (b->n_params != 1 || b->opts.compare_param)
        return NULL;
    const bench_param_t *p = &b->params[0];
    if (p->n_values < 3)
        return NULL;
    for (size_t i = 0; i < p->n_values; i++)
        if (!is_number(p->values[i]))
            return NULL;
    return p;
}

static int find_param(const plumb_bench_t *b, const char *name)
{
    for (size_t p = 0; p < b->n_params; p++)
        if (strcmp(b->params[p].name, name) == 0)
            return (int)p;
    return -1;
}

/* Which case each case is compared with: the baseline command at the same
 * parameter values, or with --compare-param the same command at the
 * baseline value of that parameter. */
static int assign_baselines(plumb_bench_t *b, plumb_session_t *s)
{
    int cp = -1;
    size_t base_cmd = 0, base_value = 0;
    if (b->opts.compare_param) {
        if ((cp = find_param(b, b->opts.compare_param)) < 0)
            return fail(b, PLUMB_EINVAL, "options", NULL,
                        b->opts.compare_param, NULL,
                        "--compare-param names no --param");
        if (b->opts.baseline) {
            const bench_param_t *p = &b->params[cp];
            size_t v = 0;
            while (v < p->n_values && strcmp(p->values[v], b->opts.baseline))
                v++;
            if (v == p->n_values)
                return fail(b, PLUMB_EINVAL, "options", NULL,
                            b->opts.baseline, NULL,
                            "--baseline is not a value of --compare-param");
            base_value = v;
        }
    } else if (b->opts.baseline) {
        size_t i = 0;
        while (i < b->n_commands &&
               !(b->commands[i].name &&
                 strcmp(b->commands[i].name, b->opts.baseline) == 0) &&
               strcmp(b->commands[i].template, b->opts.baseline) != 0)
            i++;
        if (i == b->n_commands)
            return fail(b, PLUMB_EINVAL, "options", NULL, b->opts.baseline,
                        NULL, "--baseline names no command");
        base_cmd = i;
    }
    for (size_t i = 0; i < b->n_cases; i++) {
        const bench_case_t *c = &b->cases[i];
        plumb_run_t *run = &s->runs[i];
        for (size_t j = 0; j < b->n_cases; j++) {
            const bench_case_t *d = &b->cases[j];
            int same = 1;
            for (size_t p = 0; p < b->n_params; p++) {
                size_t want = (int)p == cp ? base_value : c->value_of[p];
                if (d->value_of[p] != want)
                    same = 0;
            }
            size_t want_cmd = cp >= 0 ? c->command : base_cmd;
            if (same && d->command == want_cmd && j != i) {
                run->baseline = (int)j;
                break;
            }
        }
        /* a series is one command across a scan; with --compare-param the
         * compared values are separate series */
        run->series = (int)c->command;
        if (cp >= 0)
            run->series = (int)i;
    }
    return 0;
}

/* Names a case: the user's label or the command, with its parameters. */
static int case_name(const plumb_bench_t *b, const bench_case_t *c,
                     char **out)
{
    const char *label = b->commands[c->command].name;
    if (!label)
        return (*out = strdup(c->text)) ? 0 : PLUMB_ENOMEM;
    size_t len = strlen(label) + 3;
    for (size_t p = 0; p < b->n_params; p++)
        len += strlen(b->params[p].name) +
               strlen(b->params[p].values[c->value_of[p]]) + 3;
    char *name = malloc(len);
    if (!name)
        return PLUMB_ENOMEM;
    size_t at = (size_t)snprintf(name, len, "%s", label);
    for (size_t p = 0; p < b->n_params; p++)
        at += (size_t)snprintf(name + at, len - at, "%s%s=%s",
                               p == 0 ? " " : ",", b->params[p].name,
                               b->params[p].values[c->value_of[p]]);
    *out = name;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "CPython 3.11.7" when the case runs a Python interpreter directly. */
static void detect_python(const bench_case_t *c, plumb_run_t *run)
{
    if (plumb_command_uses_shell(c->parsed))
        return;
    const char *prog = base_name(c->argv[0]);
    if (strncmp(prog, "python", 6) != 0 && strncmp(prog, "pypy", 4) != 0)
        return;
    char *argv[] = {c->argv[0], "-c",
                    "import platform;print(platform.python_implementation(),"
                    " platform.python_version())",
                    NULL};
    char version[128];
    if (plumb_proc_capture(argv, version, sizeof version) == 0 && version[0])
        plumb_set_string(&run->python, version);
}

static int build_session(plumb_bench_t *b, plumb_session_t *s)
{
    const bench_param_t *scan = scan_param(b);
    int err = 0;
    for (size_t i = 0; i < b->n_cases && !err; i++) {
        bench_case_t *c = &b->cases[i];
        char *name = NULL;
        plumb_run_t *run;
        if ((err = case_name(b, c, &name)) == 0)
            err = plumb_session_add_run(s, name, c->text, &run);
        free(name);
        for (size_t p = 0; p < b->n_params && !err; p++)
            err = plumb_run_add_param(run, b->params[p].name,
                                      b->params[p].values[c->value_of[p]]);
        if (err)
            break;
        run->shell = plumb_command_uses_shell(c->parsed);
        const bench_command_t *cmd = &b->commands[c->command];
        if (b->n_params &&
            (err = plumb_set_string(&run->series_name,
                                    cmd->name ? cmd->name : cmd->template)))
            break;
        if (scan)
            run->x = strtod(scan->values[c->value_of[0]], NULL);
        detect_python(c, run);
    }
    if (!err && scan)
        err = plumb_set_string(&s->scan_param, scan->name);
    if (!err)
        err = assign_baselines(b, s);
    return err;
}

static void report_progress(plumb_bench_t *b, const char *current)
{
    if (!b->opts.progress)
        return;
    plumb_progress_t p;
    p.runs_done = b->runs_done;
    p.runs_total = b->runs_total;
    p.elapsed_ns = plumb_clock_now_ns() - b->started_ns;
    p.eta_ns = -1;
    if (b->runs_done > 0 && b->runs_total >= b->runs_done)
        p.eta_ns = (int64_t)((double)p.elapsed_ns / (double)b->runs_done *
                             (double)(b->runs_total - b->runs_done));
    p.current = current;
    b->opts.progress(&p, b->opts.progress_data);
}

/* Runs an auxiliary command (prepare, setup, cleanup); it must succeed. */
static int run_aux(plumb_bench_t *b, const char *phase, const char *text,
                   const char *run_name)
{
    plumb_command_t *parsed = NULL;
    char **argv = NULL;
    char tail[2048] = "";
    plumb_sample_t sample;
    int err = prepare_command(b, text, &parsed, &argv);
    if (err) {
        fail(b, err, phase, run_name, text, NULL, NULL);
        goto out;
    }
    plumb_proc_opts_t po = {.argv = argv,
                            .show_output = b->opts.show_output,
                            .timeout_ns = b->opts.timeout_ns,
                            .cancel = b->opts.cancel,
                            .stderr_tail = tail,
                            .stderr_tail_size = sizeof tail};
    err = plumb_proc_run(&po, &sample);
    if (err)
        fail(b, err, phase, run_name, text, NULL, NULL);
    else if (!plumb_sample_ok(&sample))
        err = fail(b, sample.timed_out ? PLUMB_ETIMEDOUT : PLUMB_EFAILED,
                   phase, run_name, text, &sample, tail);
out:
    if (argv)
        free(argv[0]);
    free(argv);
    plumb_command_free(parsed);
    return err;
}

/* One run of a case: prepare, measure, check. Warm-ups are not recorded. */
static int run_case(plumb_bench_t *b, plumb_session_t *s, size_t i,
                    int warmup)
{
    bench_case_t *c = &b->cases[i];
    plumb_run_t *run = &s->runs[i];
    char tail[2048] = "";
    plumb_sample_t sample;
    int err;
    if (b->prepare_argv &&
        (err = run_aux(b, "prepare", b->prepare_text, run->name)) != 0)
        return err;
    plumb_proc_opts_t po = {.argv = c->argv,
                            .show_output = b->opts.show_output,
                            .timeout_ns = b->opts.timeout_ns,
                            .cancel = b->opts.cancel,
                            .counters = b->counters,
                            .stderr_tail = tail,
                            .stderr_tail_size = sizeof tail};
    err = plumb_proc_run(&po, &sample);
    if (err)
        return fail(b, err, warmup ? "warmup" : "run", run->name, c->text,
                    NULL, NULL);
    if (!plumb_sample_ok(&sample) && !b->opts.ignore_failure)
        return fail(b, sample.timed_out ? PLUMB_ETIMEDOUT : PLUMB_EFAILED,
                    warmup ? "warmup" : "run", run->name, c->text, &sample,
                    tail);
    if (run->shell_overhead_ns > 0) {
        int64_t *wall = &sample.metric[PLUMB_METRIC_WALL];
        *wall = *wall > run->shell_overhead_ns ? *wall - run->shell_overhead_ns
                                               : 0;
    }
    b->runs_done++;
    report_progress(b, run->name);
    if (warmup)
        return 0;
    c->measured_ns += sample.metric[PLUMB_METRIC_WALL];
    return plumb_run_add_sample(run, &sample);
}

/* The median wall time of `shell -c ''`: what a shell adds to a command. */
static int price_shell(plumb_bench_t *b, int64_t *cost_ns)
{
    const char *shell = b->opts.shell ? b->opts.shell : "sh";
    char *path = NULL;
    int64_t walls[SHELL_CALIBRATION_RUNS];
    int err = plumb_proc_which(shell, &path);
    if (err)
        return fail(b, err, "shell", NULL, shell, NULL, NULL);
    char *argv[] = {path, "-c", "", NULL};
    plumb_proc_opts_t po = {.argv = argv, .cancel = b->opts.cancel};
    for (int i = 0; i < SHELL_CALIBRATION_RUNS && !err; i++) {
        plumb_sample_t sample;
        err = plumb_proc_run(&po, &sample);
        walls[i] = sample.metric[PLUMB_METRIC_WALL];
    }
    free(path);
    if (err)
        return fail(b, err, "shell", NULL, shell, NULL, NULL);
    /* insertion sort: twenty values */
    for (int i = 1; i < SHELL_CALIBRATION_RUNS; i++)
        for (int j = i; j > 0 && walls[j - 1] > walls[j]; j--) {
            int64_t t = walls[j];
            walls[j] = walls[j - 1];
            walls[j - 1] = t;
        }
    *cost_ns = (walls[SHELL_CALIBRATION_RUNS / 2 - 1] +
                walls[SHELL_CALIBRATION_RUNS / 2]) / 2;
    return 0;
}

static int setup_cases(plumb_bench_t *b, plumb_session_t *s)
{
    int64_t shell_cost = -1;
    int err = 0;
    for (size_t i = 0; i < b->n_cases && !err; i++) {
        bench_case_t *c = &b->cases[i];
        err = prepare_command(b, c->text, &c->parsed, &c->argv);
        if (err)
            return fail(b, err, "run", NULL, c->text, NULL, NULL);
    }
    if ((err = build_session(b, s)) != 0)
        return err;
    for (size_t i = 0; i < b->n_cases && !err; i++) {
        if (!s->runs[i].shell)
            continue;
        if (shell_cost < 0 && (err = price_shell(b, &shell_cost)) != 0)
            return err;
        s->runs[i].shell_overhead_ns = shell_cost;
    }
    if (b->opts.prepare) {
        if (!(b->prepare_text = strdup(b->opts.prepare)))
            return PLUMB_ENOMEM;
        err = prepare_command(b, b->prepare_text, &b->prepare,
                              &b->prepare_argv);
        if (err)
            return fail(b, err, "prepare", NULL, b->prepare_text, NULL,
                        NULL);
    }
    return 0;
}

static void shuffle(size_t *order, size_t n, plumb_rng_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)plumb_rng_below(rng, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

static int enough(const plumb_bench_t *b, unsigned rounds, int64_t spent_ns,
                  size_t n_cases)
{
    const plumb_bench_opts_t *o = &b->opts;
    if (o->runs)
        return rounds >= o->runs;
    if (o->max_runs && rounds >= o->max_runs)
        return 1;
    return rounds >= o->min_runs &&
           (double)spent_ns >= o->budget_s * 1e9 * (double)n_cases;
}

/* Rounds a measuring pass will take, from the time spent so far. */
static size_t estimate_rounds(const plumb_bench_t *b, unsigned rounds,
                              int64_t spent_ns, size_t n_cases)
{
    const plumb_bench_opts_t *o = &b->opts;
    if (o->runs)
        return o->runs;
    double est = o->min_runs;
    if (rounds > 0 && spent_ns > 0) {
        double per_round = (double)spent_ns / rounds;
        est = fmax(est, ceil(o->budget_s * 1e9 * (double)n_cases / per_round));
    }
    if (o->max_runs && est > o->max_runs)
        est = o->max_runs;
    return (size_t)est;
}

/* Measures the n cases in order[] together, round after round; cases_after
 * more will be measured the same way afterwards (for the estimate). */
static int measure(plumb_bench_t *b, plumb_session_t *s, size_t *order,
                   size_t n, size_t cases_after, plumb_rng_t *rng)
{
    unsigned rounds = 0;
    int64_t spent = 0;
    size_t done_before = b->runs_done;
    int err = 0;
    while (!err && !enough(b, rounds, spent, n)) {
        if (b->opts.schedule == PLUMB_SCHEDULE_BLOCKS)
            shuffle(order, n, rng);
        for (size_t k = 0; k < n && !err; k++) {
            if (b->opts.cancel && *b->opts.cancel)
                return PLUMB_ECANCELED;
            err = run_case(b, s, order[k], 0);
        }
        if (err)
            break;
        rounds++;
        spent = 0;
        for (size_t k = 0; k < n; k++)
            spent += b->cases[order[k]].measured_ns;
        size_t est = estimate_rounds(b, rounds, spent, n);
        if (est < rounds + 1)
            est = rounds + 1;
        b->runs_total = done_before + est * (n + cases_after);
    }
    return err;
}

static int measure_all(plumb_bench_t *b, plumb_session_t *s)
{
    plumb_rng_t rng;
    int err = 0;
    size_t *order = malloc(b->n_cases * sizeof *order);
    if (!order)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < b->n_cases; i++)
        order[i] = i;
    plumb_rng_seed(&rng, b->opts.seed);
    b->runs_total = b->runs_done +
                    b->n_cases * estimate_rounds(b, 0, 0, b->n_cases);
    if (b->opts.schedule == PLUMB_SCHEDULE_SEQUENTIAL) {
        for (size_t i = 0; i < b->n_cases && !err; i++)
            err = measure(b, s, &order[i], 1, b->n_cases - i - 1, &rng);
    } else {
        err = measure(b, s, order, b->n_cases, 0, &rng);
    }
    free(order);
    return err;
}

static void fill_session(plumb_bench_t *b, plumb_session_t *s,
                         const char *counters_reason)
{
    plumb_env_collect(&s->env);
    char commit[64];
    if (plumb_env_git_commit(".", commit, sizeof commit) == 0)
        plumb_set_string(&s->git_commit, commit);
    plumb_set_string(&s->invocation, b->opts.invocation);
    plumb_set_string(&s->counters,
                     b->counters ? "hardware counters: instructions, cycles"
                                 : counters_reason);
    s->seed = b->opts.seed;
}

int plumb_bench_run(plumb_bench_t *b, plumb_session_t **out)
{
    plumb_session_t *s = NULL;
    const char *reason = "hardware counters unavailable";
    int err;
    if (!b || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (b->n_commands == 0)
        return fail(b, PLUMB_EINVAL, "options", NULL, NULL, NULL,
                    "no command to measure");
    if (!(s = plumb_session_new()))
        return PLUMB_ENOMEM;
    b->started_ns = plumb_clock_now_ns();
    if ((err = expand_cases(b)) != 0 || (err = setup_cases(b, s)) != 0)
        goto out;
    if (plumb_counters_new(&b->counters, &reason) != 0)
        b->counters = NULL;
    fill_session(b, s, reason);
    if ((err = plumb_proc_overhead(OVERHEAD_RUNS, &s->overhead_ns)) != 0)
        goto out;
    for (size_t i = 0; i < b->n_cases && !err; i++)
        if (b->cases[i].setup)
            err = run_aux(b, "setup", b->cases[i].setup, s->runs[i].name);
    b->runs_total = b->n_cases * b->opts.warmup;
    for (unsigned w = 0; w < b->opts.warmup && !err; w++)
        for (size_t i = 0; i < b->n_cases && !err; i++)
            err = run_case(b, s, i, 1);
    if (!err)
        err = measure_all(b, s);
    if (err != PLUMB_ECANCELED)
        for (size_t i = 0; i < b->n_cases && !err; i++)
            if (b->cases[i].cleanup)
                err = run_aux(b, "cleanup", b->cases[i].cleanup,
                              s->runs[i].name);
out:
    if (err == PLUMB_ECANCELED) {
        s->partial = 1;
        *out = s;
        return err;
    }
    if (err) {
        if (!b->failure.err)
            fail(b, err, "run", NULL, NULL, NULL, NULL);
        plumb_session_free(s);
        return err;
    }
    *out = s;
    return 0;
}
