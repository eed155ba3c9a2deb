# Batch-1 inference (issue 10): bearnet-s with its batchnorms folded into the convs answers as the
# layer-by-layer eval forward does, and follows every change of the weights.
sgd_unit_test(test_bearnet_folded test_bearnet_folded.c)
