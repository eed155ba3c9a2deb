# The data half of the bears: image codecs, the dataset loader, synth / verify / show end to end.
sgd_unit_test(test_image test_image.c sgdviz)
