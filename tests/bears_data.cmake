# The data half of the bears: image codecs, the dataset loader, synth / verify / show end to end.
sgd_unit_test(test_image test_image.c sgdviz)
target_compile_definitions(test_image PRIVATE SGDLAB_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
sgd_unit_test(test_dataset test_dataset.c sgdbears)
sgd_script_test(bears_data_cli bears_data/cli.sh)
sgd_unit_test(test_csv test_csv.c sgdbears)
