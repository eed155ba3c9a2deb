# Convnet tests: layers + gradient checks, safetensors I/O, bearnet-s against PyTorch.
sgd_unit_test(test_layers test_layers.c)
sgd_unit_test(test_safetensors test_safetensors.c)
target_compile_definitions(test_safetensors PRIVATE SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp/safetensors")
