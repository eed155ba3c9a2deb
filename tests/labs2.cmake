# Behaviour tests of labs 02-05 (issue 3): headless, quick, asserting what each lab must show.
pkg_check_modules(LABS2_PNG REQUIRED IMPORTED_TARGET libpng)
add_executable(png-probe ${CMAKE_CURRENT_SOURCE_DIR}/labs2/png_probe.c)
target_link_libraries(png-probe PRIVATE PkgConfig::LABS2_PNG ${MATH_LIBRARY})
set_target_properties(png-probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

sgd_script_test(labs2_lab02_frames labs2/lab02_frames.sh)
sgd_script_test(labs2_lab02_no_display labs2/lab02_no_display.sh)
sgd_script_test(labs2_lab03_learning_rate labs2/lab03_learning_rate.sh)
sgd_script_test(labs2_lab04_minibatch labs2/lab04_minibatch.sh)
sgd_script_test(labs2_lab05_overfitting labs2/lab05_overfitting.sh)
sgd_script_test(labs2_bad_flags labs2/bad_flags.sh)
