// cli.c — the flag parser behind every binary's --help and its strict value checks.
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void cli_usage_error(const Cli *cli, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli->program);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see %s --help)\n", cli->program);
    va_end(ap);
    exit(CLI_EXIT_USAGE);
}

// "a number > 0", "an integer in [1, 100000]", ... : said the same way in help and in errors.
static void describe_range(const Flag *f, char *buf, size_t size) {
    bool integer = f->kind == FLAG_INT;
    const char *what = integer ? "an integer" : "a number";
    bool has_min = isfinite(f->min), has_max = isfinite(f->max);
    char lo[32], hi[32]; // integers in full ("2147483647", not "2.14748e+09")
    snprintf(lo, sizeof lo, integer ? "%.0f" : "%g", f->min);
    snprintf(hi, sizeof hi, integer ? "%.0f" : "%g", f->max);
    if (has_min && has_max)
        snprintf(buf, size, "%s in %s%s, %s]", what, f->min_exclusive ? "(" : "[", lo, hi);
    else if (has_min)
        snprintf(buf, size, "%s %s %s", what, f->min_exclusive ? ">" : ">=", lo);
    else if (has_max)
        snprintf(buf, size, "%s <= %s", what, hi);
    else
        snprintf(buf, size, "%s", what);
}

static bool in_range(const Flag *f, double v) {
    if (isfinite(f->min) && (f->min_exclusive ? v <= f->min : v < f->min)) return false;
    if (isfinite(f->max) && v > f->max) return false;
    return true;
}

static bool choice_ok(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

static void print_default(const Flag *f) {
    switch (f->kind) {
    case FLAG_FLOAT:
        printf(" (default %g)", *(float *)f->value);
        break;
    case FLAG_INT:
        printf(" (default %d)", *(int *)f->value);
        break;
    case FLAG_STRING:
    case FLAG_CHOICE:
        if (*(const char **)f->value) printf(" (default %s)", *(const char **)f->value);
        break;
    case FLAG_FLOAT_LIST: {
        const FloatList *l = f->value;
        if (l->count) printf(" (default");
        for (int i = 0; i < l->count; i++) printf(" %g", l->values[i]);
        if (l->count) printf(")");
        break;
    }
    case FLAG_BOOL:
        break;
    }
}

static void print_help(const Cli *cli) {
    printf("%s — %s\n\n", cli->program, cli->purpose);
    printf("Lesson 2: %s\n\n", cli->lesson);
    printf("Usage: %s [flags]%s%s\n\nFlags:\n", cli->program, cli->usage ? " " : "",
           cli->usage ? cli->usage : "");
    for (int i = 0; i < cli->n_flags; i++) {
        const Flag *f = &cli->flags[i];
        char accepted[96] = "";
        if (f->kind == FLAG_FLOAT || f->kind == FLAG_INT || f->kind == FLAG_FLOAT_LIST)
            describe_range(f, accepted, sizeof accepted);
        else if (f->kind == FLAG_CHOICE)
            snprintf(accepted, sizeof accepted, "one of %s", f->choices);
        else if (f->kind == FLAG_STRING)
            snprintf(accepted, sizeof accepted, "a path or text");
        printf("  %-16s %s", f->name, f->help);
        print_default(f);
        if (accepted[0])
            printf("\n  %-16s accepts %s%s", "", accepted,
                   f->kind == FLAG_FLOAT_LIST ? "; repeat the flag for more" : "");
        printf("\n");
    }
    printf("  %-16s show this help and exit\n\nExample:\n  %s\n", "--help", cli->example);
}

static const Flag *find_flag(const Cli *cli, const char *name) {
    for (int i = 0; i < cli->n_flags; i++)
        if (strcmp(cli->flags[i].name, name) == 0) return &cli->flags[i];
    return NULL;
}

// Whole-string, finite number in range, or exit 2 naming the flag.
static double parse_number(const Cli *cli, const Flag *f, const char *text) {
    char accepted[96];
    describe_range(f, accepted, sizeof accepted);
    errno = 0;
    char *end = NULL;
    double v;
    if (f->kind == FLAG_INT) {
        long l = strtol(text, &end, 10);
        v = (double)l;
    } else {
        v = strtod(text, &end);
    }
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || !in_range(f, v))
        cli_usage_error(cli, "%s got '%s'; it accepts %s", f->name, text, accepted);
    return v;
}

int cli_parse(const Cli *cli, int argc, char **argv, const char **positional, int max_positional) {
    int n_positional = 0;
    bool list_seen[64] = {false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(cli);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (n_positional >= max_positional) cli_usage_error(cli, "unexpected argument '%s'", arg);
            positional[n_positional++] = arg;
            continue;
        }
        const Flag *f = find_flag(cli, arg);
        if (!f) cli_usage_error(cli, "unknown flag '%s'", arg);
        if (f->kind == FLAG_BOOL) {
            *(bool *)f->value = true;
            continue;
        }
        if (i + 1 >= argc) cli_usage_error(cli, "%s needs a value", arg);
        const char *text = argv[++i];
        switch (f->kind) {
        case FLAG_FLOAT:
            *(float *)f->value = (float)parse_number(cli, f, text);
            break;
        case FLAG_INT:
            *(int *)f->value = (int)parse_number(cli, f, text);
            break;
        case FLAG_STRING:
            if (!text[0]) cli_usage_error(cli, "%s got an empty value", f->name);
            *(const char **)f->value = text;
            break;
        case FLAG_CHOICE:
            if (!choice_ok(f->choices, text))
                cli_usage_error(cli, "%s got '%s'; it accepts one of %s", f->name, text, f->choices);
            *(const char **)f->value = text;
            break;
        case FLAG_FLOAT_LIST: {
            FloatList *l = f->value;
            int idx = (int)(f - cli->flags);
            if (idx < 64 && !list_seen[idx]) l->count = 0; // the first use replaces the defaults
            if (idx < 64) list_seen[idx] = true;
            if (l->count >= CLI_MAX_LIST)
                cli_usage_error(cli, "%s can be given at most %d times", f->name, CLI_MAX_LIST);
            l->values[l->count++] = (float)parse_number(cli, f, text);
            break;
        }
        case FLAG_BOOL:
            break;
        }
    }
    return n_positional;
}
