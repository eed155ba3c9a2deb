# Convnet tests: layers + gradient checks, safetensors I/O, bearnet-s against PyTorch.
sgd_unit_test(test_layers test_layers.c)
