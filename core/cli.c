// cli.c — the flag parser behind every binary's --help and its strict value checks.
// Read first: nothing; every binary uses it.
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
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

// The bounds in the flag's own type: 0.01 as a float is 0.0099999998, and "--valid-pct 0.01" must still
// pass a range that starts at 0.01.
static bool in_range(const Flag *f, double v) {
    bool is_float = f->kind != FLAG_INT;
    double lo = is_float ? (float)f->min : f->min, hi = is_float ? (float)f->max : f->max;
    if (isfinite(f->min) && (f->min_exclusive ? v <= lo : v < lo)) return false;
    if (isfinite(f->max) && v > hi) return false;
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

// A number whose default lies outside its own range is a placeholder ("decided later", e.g. from a
// model file); the flag's help says what it stands for, so no number is printed.
static void print_default(const Flag *f) {
    switch (f->kind) {
    case FLAG_FLOAT:
        if (in_range(f, *(float *)f->value)) printf(" (default %g)", *(float *)f->value);
        break;
    case FLAG_INT:
        if (in_range(f, *(int *)f->value)) printf(" (default %d)", *(int *)f->value);
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

// The flag named by the first len characters of name.
static const Flag *find_flag(const Cli *cli, const char *name, size_t len) {
    for (int i = 0; i < cli->n_flags; i++)
        if (strlen(cli->flags[i].name) == len && strncmp(cli->flags[i].name, name, len) == 0)
            return &cli->flags[i];
    return NULL;
}

// Edit distance (insertions, deletions, substitutions) between a and b, for "did you mean".
static size_t edit_distance(const char *a, size_t la, const char *b) {
    enum { LONGEST = 64 };
    size_t lb = strlen(b), row[LONGEST + 1];
    if (la > LONGEST || lb > LONGEST) return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diagonal + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best, diagonal = up;
        }
    }
    return row[lb];
}

// The flag a typo most likely meant (--epoch -> --epochs), or NULL when none is close: at most 2 edits,
// and fewer than a third of the name, so --x does not "mean" --lr.
static const Flag *nearest_flag(const Cli *cli, const char *name, size_t len) {
    const Flag *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (int i = 0; i < cli->n_flags; i++) {
        size_t d = edit_distance(name, len, cli->flags[i].name);
        if (d < best_distance) best_distance = d, best = &cli->flags[i];
    }
    return best && best_distance <= 2 && 3 * best_distance < len ? best : NULL;
}

__attribute__((format(printf, 3, 4))) static bool say(char *err, size_t err_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

// Whole-string, finite number in range, or false with a message naming the flag. The range is checked
// on the value the program will use: a float flag on the float (1e-50 is 0 as a float, not > 0), an int
// flag on the int, so nothing passes the check and then changes when it is narrowed.
static bool parse_number(const Flag *f, const char *text, double *out, char *err, size_t err_size) {
    char accepted[96];
    describe_range(f, accepted, sizeof accepted);
    errno = 0;
    char *end = NULL;
    double v;
    const char *why = "";
    if (f->kind == FLAG_INT) {
        long l = strtol(text, &end, 10);
        v = l < INT_MIN || l > INT_MAX ? NAN : (double)l;
    } else {
        double d = strtod(text, &end);
        float narrowed = (float)d;
        if (d != 0 && (narrowed == 0 || fpclassify(narrowed) == FP_SUBNORMAL))
            v = NAN, why = " (too small for a 32-bit float: it would be 0)";
        else
            v = narrowed;
    }
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || !in_range(f, v))
        return say(err, err_size, "%s got '%s'%s; it accepts %s", f->name, text, why, accepted);
    *out = v;
    return true;
}

// Paths are copied into fixed buffers with room for a suffix (".trash/...", ".tmp-..."): a longer one is
// refused here, whole, instead of being cut short somewhere deep inside.
static bool length_ok(const char *what, const char *text, char *err, size_t err_size) {
    size_t n = strlen(text);
    if (n <= CLI_MAX_ARG) return true;
    return say(err, err_size, "%s is %zu characters long; sgdlab accepts at most %d (is it a path?)", what, n,
               CLI_MAX_ARG);
}

int cli_parse_args(const Cli *cli, int argc, char **argv, const char **positional, int max_positional,
                   char *err, size_t err_size) {
    int n_positional = 0;
    bool list_seen[64] = {false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return CLI_HELP;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (n_positional >= max_positional)
                return say(err, err_size, "unexpected argument '%.80s'", arg), -1;
            if (!length_ok("an argument", arg, err, err_size)) return -1;
            positional[n_positional++] = arg;
            continue;
        }
        // --lr=0.1 is --lr 0.1 (the GNU convention): the name ends at the first '='.
        const char *equals = strchr(arg, '=');
        size_t name_len = equals ? (size_t)(equals - arg) : strlen(arg);
        const Flag *f = find_flag(cli, arg, name_len);
        if (!f) {
            const Flag *near = nearest_flag(cli, arg, name_len);
            if (near)
                return say(err, err_size, "unknown flag '%.*s'; did you mean %s?",
                           (int)(name_len < 80 ? name_len : 80), arg, near->name),
                       -1;
            return say(err, err_size, "unknown flag '%.*s'", (int)(name_len < 80 ? name_len : 80), arg), -1;
        }
        if (f->kind == FLAG_BOOL) {
            if (equals) return say(err, err_size, "%s takes no value (got '%.80s')", f->name, equals + 1), -1;
            *(bool *)f->value = true;
            continue;
        }
        if (!equals && i + 1 >= argc) return say(err, err_size, "%s needs a value", arg), -1;
        const char *text = equals ? equals + 1 : argv[++i];
        // `--pretrained --epochs 1`: the value was forgotten, and taking the next flag as it would
        // blame the '1' left over. A value that is itself one of the flags is that mistake.
        if (!equals && strncmp(text, "--", 2) == 0) {
            const char *eq = strchr(text, '=');
            if (find_flag(cli, text, eq ? (size_t)(eq - text) : strlen(text)) || strcmp(text, "--help") == 0)
                return say(err, err_size, "%s needs a value (got the flag %.80s)", f->name, text), -1;
        }
        double v = 0;
        switch (f->kind) {
        case FLAG_FLOAT:
            if (!parse_number(f, text, &v, err, err_size)) return -1;
            *(float *)f->value = (float)v;
            break;
        case FLAG_INT:
            if (!parse_number(f, text, &v, err, err_size)) return -1;
            *(int *)f->value = (int)v;
            break;
        case FLAG_STRING:
            if (!text[0]) return say(err, err_size, "%s got an empty value", f->name), -1;
            if (!length_ok(f->name, text, err, err_size)) return -1;
            *(const char **)f->value = text;
            break;
        case FLAG_CHOICE:
            if (!choice_ok(f->choices, text))
                return say(err, err_size, "%s got '%.80s'; it accepts one of %s", f->name, text, f->choices),
                       -1;
            *(const char **)f->value = text;
            break;
        case FLAG_FLOAT_LIST: {
            FloatList *l = f->value;
            int idx = (int)(f - cli->flags);
            if (idx < 64 && !list_seen[idx]) l->count = 0; // the first use replaces the defaults
            if (idx < 64) list_seen[idx] = true;
            if (l->count >= CLI_MAX_LIST)
                return say(err, err_size, "%s can be given at most %d times", f->name, CLI_MAX_LIST), -1;
            if (!parse_number(f, text, &v, err, err_size)) return -1;
            l->values[l->count++] = (float)v;
            break;
        }
        case FLAG_BOOL:
            break;
        }
    }
    return n_positional;
}

int cli_parse(const Cli *cli, int argc, char **argv, const char **positional, int max_positional) {
    char err[512];
    int n = cli_parse_args(cli, argc, argv, positional, max_positional, err, sizeof err);
    if (n == CLI_HELP) {
        print_help(cli);
        exit(0);
    }
    if (n < 0) cli_usage_error(cli, "%s", err);
    return n;
}
