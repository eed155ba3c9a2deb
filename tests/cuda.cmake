# The CUDA backend (core/cuda/). test_cuda_parity compares every GPU op with its CPU twin; without a GPU,
# or in a build without CUDA, it exits 77 and ctest reports it skipped. test_cuda_math runs on the CPU the
# per-element functions the kernels are made of (core/cuda/math.cuh), so it runs wherever nvcc is.
# cuda_device_flag: --device cuda on a machine without a GPU says so clearly and exits 1.
sgd_unit_test(test_cuda_parity test_cuda_parity.c)
set_tests_properties(test_cuda_parity PROPERTIES SKIP_RETURN_CODE 77)
if(SGDLAB_HAVE_CUDA)
  sgd_unit_test(test_cuda_math cuda_math.cu)
  target_include_directories(test_cuda_math PRIVATE ${CMAKE_SOURCE_DIR}/core/cuda ${CBLAS_INCLUDE_DIR})
endif()
sgd_script_test(cuda_device_flag cuda/device_flag.sh)
