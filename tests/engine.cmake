# Engine tests: recording ops (gradchecks), the tape, optimisers and schedules, and lab06.

# One ctest case per op and broadcasting form, so a failure names the op.
add_executable(test_grad_ops ${CMAKE_CURRENT_SOURCE_DIR}/test_grad_ops.c)
target_include_directories(test_grad_ops PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_grad_ops PRIVATE sgdcore)
set_target_properties(test_grad_ops PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
foreach(op add sub mul)
  foreach(form same scalar row trailing channel)
    list(APPEND GRAD_OPS_CASES ${op}_${form})
  endforeach()
endforeach()
list(APPEND GRAD_OPS_CASES add_self mul_self scale matmul matmul_vector sum mean mse
     broken_backward broadcast_forward matmul_reference)
foreach(case ${GRAD_OPS_CASES})
  add_test(NAME grad_ops.${case} COMMAND test_grad_ops ${case})
endforeach()

sgd_unit_test(test_autograd test_autograd.c)
sgd_unit_test(test_optim test_optim.c)
sgd_script_test(lab06_autograd engine/lab06.sh)
