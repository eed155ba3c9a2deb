// commands.h — the `bears` subcommands. Each lives in its own file and is called by bears/main.c with
// argv starting at the command name, so argv[0] is "synth", "verify", ... and cli_parse works as usual.
// Each returns the process exit code: 0 success, 1 runtime failure, 2 usage error (cli.h exits itself).
#ifndef SGDLAB_BEARS_COMMANDS_H
#define SGDLAB_BEARS_COMMANDS_H

int cmd_synth(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_lr_find(int argc, char **argv);
int cmd_interpret(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
