# Foundation: core tensors/rng/ops, lab00, lab01 and every binary's flag handling.
sgd_unit_test(test_core test_core.c)
sgd_script_test(lab00_tour foundation/lab00.sh)
sgd_script_test(lab01_behaviour foundation/lab01.sh)
sgd_script_test(lab01_bad_flags foundation/lab01_bad_flags.sh)
add_test(NAME clang_format COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/format.sh)
set_tests_properties(clang_format PROPERTIES SKIP_RETURN_CODE 77)
