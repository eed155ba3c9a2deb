// cli.h — strict command-line flags shared by every sgdlab binary.
//
// A program lists its flags in a table (name, type, where the value goes, accepted range, help);
// cli_parse() fills the variables, prints --help (purpose, lesson moment, flags with defaults,
// an example) and rejects anything it cannot use. A learner's typo must never crash a lab, so:
//   * numbers are parsed whole ("0.1x" is refused), must be finite and inside the range;
//   * a bad value or an unknown flag prints one line naming the flag and what it accepts, exit 2.
#ifndef SGDLAB_CLI_H
#define SGDLAB_CLI_H

#include <stdbool.h>
#include <stddef.h>

// CLI_MAX_ARG: the longest path or text accepted (buffers elsewhere are 4096 with room for suffixes).
enum { CLI_EXIT_USAGE = 2, CLI_MAX_LIST = 16, CLI_MAX_ARG = 3000, CLI_HELP = -2 };

typedef enum {
    FLAG_FLOAT,      // float *
    FLAG_INT,        // int *
    FLAG_STRING,     // const char ** (points into argv)
    FLAG_CHOICE,     // const char ** restricted to the '|'-separated list in `choices`
    FLAG_BOOL,       // bool *, set to true by the bare flag (e.g. --no-zero-grad)
    FLAG_FLOAT_LIST, // FloatList *, the flag may be repeated (e.g. --lr 0.01 --lr 0.1)
} FlagKind;

typedef struct {
    float values[CLI_MAX_LIST];
    int count;
} FloatList;

typedef struct {
    const char *name; // "--lr"
    FlagKind kind;
    void *value;
    double min, max;    // accepted range for numbers, inclusive ...
    bool min_exclusive; // ... except the lower end when this is set (lr > 0, not >= 0)
    const char *choices;
    const char *help;
} Flag;

typedef struct {
    const char *program; // "lab01-linear"
    const char *purpose; // one line: what it does
    const char *lesson;  // the moment of lesson 2 it belongs to
    const char *usage;   // positional arguments, e.g. "DIR" (NULL when none)
    const char *example; // a full command line to copy
    Flag *flags;
    int n_flags;
} Cli;

// Parse argv. Positional arguments go to positional[0..max_positional); the count is returned.
// --help prints the help and exits 0; any error prints a message and exits 2.
int cli_parse(const Cli *cli, int argc, char **argv, const char **positional, int max_positional);
// The same without printing or exiting: the count, CLI_HELP for --help, or -1 with err saying why.
int cli_parse_args(const Cli *cli, int argc, char **argv, const char **positional, int max_positional,
                   char *err, size_t err_size);
// Print "program: message" and exit 2: for checks that involve several flags together.
_Noreturn void cli_usage_error(const Cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
