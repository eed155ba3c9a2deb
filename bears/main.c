// bears — the lesson's bear notebook as one command line tool: `bears <command> [flags]`.
//
// The notebook goes: get pictures (synth, or download), throw out the broken ones (verify), look at
// them (show), train, interpret, clean, predict. Each step is a command here; `bears <command> --help`
// explains its flags.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} Command;

static const Command commands[] = {
    {"synth", cmd_synth,
     "draw the default data set: black bears, grizzlies, teddies (with planted problems)"},
    {"download", cmd_download, "fetch the pictures of a URL list (the browser snippet's file) into a folder"},
    {"verify", cmd_verify, "decode every picture, report the broken ones, --delete moves them to DIR/.trash"},
    {"import", cmd_import, "Fashion-MNIST (real photos, offline) as DIR/train + DIR/valid class folders"},
    {"show", cmd_show, "a labelled grid of random pictures, written as a PNG"},
    {"data", cmd_data, "load the folder as training will: classes, train/valid split, normalisation"},
    {"lr-find", cmd_lr_find, "LR range test: plots loss against lr and suggests a learning rate"},
    {"train", cmd_train,
     "train (bearnet-s, or fine-tune a resnet) with one-cycle; the epoch table; saves it"},
    {"interpret", cmd_interpret, "confusion matrix, most confused pairs, top losses (--list: every picture)"},
    {"clean", cmd_clean, "the FileDeleter: keep, delete (to DIR/.trash) or relabel the top losses; undo"},
    {"predict", cmd_predict, "class and probabilities for pictures, with a trained model"},
    {"serve", cmd_serve, "the model behind HTTP: an upload page, POST /predict -> JSON, /healthz, /model"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(void) {
    printf(
        "bears — the black bear / grizzly / teddy classifier of fast.ai lesson 2, from folder to model\n\n");
    printf("Usage: bears <command> [flags]   (bears <command> --help for its flags)\n\nCommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) printf("  %-10s %s\n", commands[i].name, commands[i].what);
    printf("\nExample:\n  bears synth data/bears && bears verify data/bears --delete && bears show "
           "data/bears\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help();
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_help();
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bears: unknown command '%s'; the commands are:", argv[1]);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "\n(see bears --help)\n");
    return CLI_EXIT_USAGE;
}
