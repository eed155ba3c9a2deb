# Batch-1 inference (issue 10): bearnet-s with its batchnorms folded into the convs answers as the
# layer-by-layer eval forward does, and follows every change of the weights.
sgd_unit_test(test_bearnet_folded test_bearnet_folded.c)
# The ResNets' passes without the tape (issue 14): folded inference against the tape's eval forward, the
# frozen body from packed weights against the tape's training forward, and both following every change.
sgd_unit_test(test_resnet_folded test_resnet_folded.c)
target_compile_definitions(test_resnet_folded PRIVATE SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
