# bears synth paints the same bytes whether GCC or clang built it (builds bears with the other compiler).
sgd_script_test(synth_compilers synth/compilers.sh)
