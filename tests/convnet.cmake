# Convnet tests: layers + gradient checks, safetensors I/O, bearnet-s against PyTorch.
sgd_unit_test(test_layers test_layers.c)
sgd_unit_test(test_safetensors test_safetensors.c)
target_compile_definitions(test_safetensors PRIVATE SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp/safetensors")
# The golden file comes from tests/gen_bearnet_golden.py (PyTorch), run once and committed.
sgd_unit_test(test_bearnet_parity test_bearnet_parity.c)
target_compile_definitions(test_bearnet_parity PRIVATE SGDLAB_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data"
                                                       SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
