# the contact sheet behind bears show and interpret keeps pictures in shape
sgd_unit_test(test_draw test_draw.c sgdbears)
