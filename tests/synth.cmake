# bears synth --hard: the painter's measured differences from the default set, and the command end to end
# (same seed same bytes, class folders and counts, --label-noise and its bad values).
sgd_unit_test(test_synth test_synth.c sgdbears)
sgd_script_test(synth_hard synth/hard.sh)
