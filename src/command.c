/* command.c: turns a command line as the user typed it into an argv, and
 * decides whether it needs a shell. It owns word splitting, quoting and
 * {name} substitution; it does not look anything up in PATH or run anything
 * (proc does). The rule for a shell is deliberately simple and errs towards
 * the shell: running text through `sh -c` is always correct, only slower,
 * while splitting shell syntax ourselves would silently change its meaning.
 */
#include "plumb.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct plumb_command {
    char **argv; /* NULL-terminated, each string owned */
    int uses_shell;
};

/* The words of a command line and whether it holds shell syntax. */
typedef struct {
    char **words;
    size_t n_words, cap;
    int shell_syntax;
} scan_t;

static void free_words(char **words, size_t n)
{
    if (!words)
        return;
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

static int push_word(scan_t *scan, const char *word, size_t len)
{
    /* +1 keeps room for the NULL that ends an argv. */
    if (scan->n_words + 1 >= scan->cap) {
        size_t cap = scan->cap ? scan->cap * 2 : 8;
        char **grown = realloc(scan->words, cap * sizeof *grown);
        if (!grown)
            return PLUMB_ENOMEM;
        scan->words = grown;
        scan->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return PLUMB_ENOMEM;
    memcpy(copy, word, len);
    copy[len] = '\0';
    scan->words[scan->n_words++] = copy;
    scan->words[scan->n_words] = NULL;
    return 0;
}

/* 1 when `p` starts an assignment such as `CC=gcc`: the shell would set a
 * variable rather than run a program of that name. Quoted names do not
 * count, as in sh. */
static int starts_assignment(const char *p)
{
    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return 0;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    return *p == '=';
}

/* Splits `text` into words, honouring '...' and "..." quoting, and notes
 * whether anything in it only a shell understands. Characters that are
 * shell syntax are kept literally in the words: those words are then only
 * used to check quoting, since the text goes to the shell. */
static int scan_words(const char *text, scan_t *scan)
{
    size_t len = strlen(text);
    char *word = malloc(len + 1); /* a word is never longer than the text */
    size_t word_len = 0;
    int in_word = 0, err = 0;
    const char *p = text;

    if (!word)
        return PLUMB_ENOMEM;
    while (*p) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\n') {
            if (c == '\n')
                scan->shell_syntax = 1; /* a second command */
            if (in_word && (err = push_word(scan, word, word_len)))
                goto out;
            in_word = 0;
            word_len = 0;
            p++;
            continue;
        }
        if (!in_word && scan->n_words == 0 && starts_assignment(p))
            scan->shell_syntax = 1;
        if (!in_word && c == '#') {
            /* A comment runs to the end of the line; skipping it keeps an
             * apostrophe in it from reading as an open quote. */
            scan->shell_syntax = 1;
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (!in_word && c == '~')
            scan->shell_syntax = 1;
        in_word = 1;
        if (c == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                err = PLUMB_EINVAL;
                goto out;
            }
            memcpy(word + word_len, p + 1, (size_t)(end - p - 1));
            word_len += (size_t)(end - p - 1);
            p = end + 1;
        } else if (c == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1] && strchr("\"\\$`", p[1])) {
                    word[word_len++] = p[1];
                    p += 2;
                    continue;
                }
                if (*p == '\\' && p[1] == '\n')
                    scan->shell_syntax = 1; /* line continuation */
                if (*p == '$' || *p == '`')
                    scan->shell_syntax = 1; /* expands inside "..." too */
                word[word_len++] = *p++;
            }
            if (*p != '"') {
                err = PLUMB_EINVAL;
                goto out;
            }
            p++;
        } else if (c == '\\') {
            /* Escapes are the shell's to interpret; we only step over the
             * escaped character so that \' is not read as a quote. */
            scan->shell_syntax = 1;
            word[word_len++] = c;
            p++;
            if (*p)
                word[word_len++] = *p++;
        } else {
            if (strchr("|&;<>()$`*?[]", c))
                scan->shell_syntax = 1;
            word[word_len++] = c;
            p++;
        }
    }
    if (in_word)
        err = push_word(scan, word, word_len);
out:
    free(word);
    return err;
}

static int is_blank(const char *text)
{
    for (; *text; text++)
        if (!isspace((unsigned char)*text))
            return 0;
    return 1;
}

int plumb_command_new(const char *text, plumb_shell_mode_t mode,
                      const char *shell, plumb_command_t **out)
{
    scan_t scan = {0};
    plumb_command_t *cmd = NULL;
    int err = 0;

    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!text || is_blank(text) || (shell && !*shell) ||
        (mode != PLUMB_SHELL_AUTO && mode != PLUMB_SHELL_NONE &&
         mode != PLUMB_SHELL_ALWAYS))
        return PLUMB_EINVAL;
    /* Even a command bound for the shell is scanned: an unbalanced quote
     * is reported here rather than as a shell error in every run. */
    if ((err = scan_words(text, &scan)))
        goto out;
    if (mode == PLUMB_SHELL_NONE && scan.shell_syntax) {
        err = PLUMB_EINVAL;
        goto out;
    }
    if (!(cmd = calloc(1, sizeof *cmd))) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    if (mode == PLUMB_SHELL_ALWAYS || scan.shell_syntax) {
        free_words(scan.words, scan.n_words);
        scan = (scan_t){0};
        const char *const shell_argv[] = {shell ? shell : "sh", "-c", text};
        for (size_t i = 0; i < 3; i++)
            if ((err = push_word(&scan, shell_argv[i], strlen(shell_argv[i]))))
                goto out;
        cmd->uses_shell = 1;
    }
    cmd->argv = scan.words;
    scan.words = NULL;
    *out = cmd;
    cmd = NULL;
out:
    free_words(scan.words, scan.n_words);
    plumb_command_free(cmd);
    return err;
}

void plumb_command_free(plumb_command_t *cmd)
{
    if (!cmd)
        return;
    if (cmd->argv)
        for (char **w = cmd->argv; *w; w++)
            free(*w);
    free(cmd->argv);
    free(cmd);
}

char *const *plumb_command_argv(const plumb_command_t *cmd)
{
    return cmd ? cmd->argv : NULL;
}

int plumb_command_uses_shell(const plumb_command_t *cmd)
{
    return cmd ? cmd->uses_shell : 0;
}

/* The value of the parameter named by name[0..len), or NULL. The first of
 * duplicate names wins. */
static const char *param_value(const char *name, size_t len, size_t n_params,
                               const char *const *names,
                               const char *const *values)
{
    for (size_t i = 0; i < n_params; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return values[i];
    return NULL;
}

/* Expands tmpl into dst, or only measures it when dst is NULL. Returns the
 * length of the expansion. */
static size_t expand(const char *tmpl, size_t n_params,
                     const char *const *names, const char *const *values,
                     char *dst)
{
    size_t len = 0;
    const char *p = tmpl;
    while (*p) {
        if (*p == '{') {
            /* A name ends at the first brace; in "{a{b}" only {b} can be a
             * parameter. */
            size_t name_len = strcspn(p + 1, "{}");
            const char *value = NULL;
            if (p[1 + name_len] == '}')
                value = param_value(p + 1, name_len, n_params, names, values);
            if (value) {
                size_t value_len = strlen(value);
                if (dst)
                    memcpy(dst + len, value, value_len);
                len += value_len;
                p += name_len + 2;
                continue;
            }
        }
        if (dst)
            dst[len] = *p;
        len++;
        p++;
    }
    if (dst)
        dst[len] = '\0';
    return len;
}

int plumb_command_substitute(const char *tmpl, size_t n_params,
                             const char *const *names,
                             const char *const *values, char **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!tmpl || (n_params && (!names || !values)))
        return PLUMB_EINVAL;
    for (size_t i = 0; i < n_params; i++)
        if (!names[i] || !values[i])
            return PLUMB_EINVAL;
    size_t len = expand(tmpl, n_params, names, values, NULL);
    char *result = malloc(len + 1);
    if (!result)
        return PLUMB_ENOMEM;
    expand(tmpl, n_params, names, values, result);
    *out = result;
    return 0;
}
