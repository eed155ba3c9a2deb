# Flags as people type them: --flag=value, and "did you mean" for typos (core/cli.c).
sgd_script_test(cli_gnu_flags cli/gnu_flags.sh)
