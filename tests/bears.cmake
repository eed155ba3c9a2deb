# bears: training, interpretation and prediction end to end, and their refusals of bad input.
sgd_script_test(bears_e2e bears/e2e.sh)
sgd_script_test(bears_bad_input bears/bad_input.sh)
sgd_script_test(bears_split_and_curves bears/split_and_curves.sh)
