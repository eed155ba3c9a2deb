# Convnet tests: layers + gradient checks, safetensors I/O, bearnet-s against PyTorch.
sgd_unit_test(test_layers test_layers.c)
sgd_unit_test(test_safetensors test_safetensors.c)
target_compile_definitions(test_safetensors PRIVATE SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp/safetensors")
# A guard, not a speed test: the quadratic name check this replaced took minutes on 300,000 tensors.
set_tests_properties(test_safetensors PROPERTIES TIMEOUT 120)
# The golden file comes from tests/gen_bearnet_golden.py (PyTorch), run once and committed.
sgd_unit_test(test_bearnet_parity test_bearnet_parity.c)
target_compile_definitions(test_bearnet_parity PRIVATE SGDLAB_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data"
                                                       SGDLAB_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")

# bench-bearnet: training and inference speed of bearnet-s or a ResNet (a benchmark, not a test; see
# tests/bench/run_bench.sh for the comparison with PyTorch).
add_executable(bench-bearnet ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench-bearnet.c)
target_include_directories(bench-bearnet PRIVATE ${CBLAS_INCLUDE_DIR})
target_link_libraries(bench-bearnet PRIVATE sgdbears) # BearModel: every --arch bears train has

# bench-conv: GFLOP/s of one conv layer's three products on one thread (a measuring tool).
add_executable(bench-conv ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench-conv.c)
target_link_libraries(bench-conv PRIVATE sgdcore)
# The kernels' inner loops keep their accumulators in registers, checked on the compiled library. The
# check reads GCC's code at -O3, a Release build's (at -O2 or -O0, or from clang, the loops take other
# shapes), and needs kernels to read (core/CMakeLists.txt).
if(SGDLAB_IMPLICIT_KERNELS AND CMAKE_BUILD_TYPE STREQUAL "Release" AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
  sgd_script_test(kernel_registers convnet/kernel_registers.sh)
  set_property(TEST kernel_registers APPEND PROPERTY ENVIRONMENT "SGDLAB_KERNEL_LIB=$<TARGET_FILE:sgdcore>")
endif()
