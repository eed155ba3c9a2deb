# bears clean: ranking, export / apply / undo-all, the scripted window, and what it refuses.
sgd_script_test(bears_clean bears/clean.sh)
