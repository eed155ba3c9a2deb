# Hardening: the bad-input table of issue 13 (every binary, every case a probe broke and the ones it found
# fine). The fuzzers (tests/fuzz/run.sh) run from .ci/run, not from ctest: they need clang.
sgd_script_test(bad_inputs hardening/bad_inputs.sh)
