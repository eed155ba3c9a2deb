# Transfer learning: ResNet-18/34 against torchvision (golden from tests/gen_resnet_golden.py, run once
# and committed), their loading rules.
sgd_unit_test(test_resnet_parity test_resnet_parity.c)
target_compile_definitions(test_resnet_parity PRIVATE SGDLAB_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data"
                                                      SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
# Fine-tuning end to end on drawn bears, from a seeded "pretrained" file the test writes itself.
sgd_unit_test(test_transfer test_transfer.c sgdbears)
target_compile_definitions(test_transfer PRIVATE SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp/transfer")
# bears import fashion-mnist on a slice of Debian's dataset-fashion-mnist (scripts/deps.sh installs it).
sgd_script_test(transfer_import transfer/import.sh)
sgd_script_test(transfer_bad_input transfer/bad_input.sh)
