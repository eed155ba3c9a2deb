# Plot helpers that can be checked without drawing: the labels of a log axis.
sgd_unit_test(test_plot test_plot.c sgdviz)
