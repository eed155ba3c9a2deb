# The exercises (issue 12): the checker grades each blank as wrong and each reference solution as
# right, in a copy of exercises/. The solutions also compile under this build's warnings.
add_library(exercise_solutions OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/exercises/solutions/ex1_linear.c
            ${CMAKE_CURRENT_SOURCE_DIR}/exercises/solutions/ex2_mse.c
            ${CMAKE_CURRENT_SOURCE_DIR}/exercises/solutions/ex3_matmul.c
            ${CMAKE_CURRENT_SOURCE_DIR}/exercises/solutions/ex4_relu_cross_entropy.c
            ${CMAKE_CURRENT_SOURCE_DIR}/exercises/solutions/ex5_minibatch.c
            ${CMAKE_CURRENT_SOURCE_DIR}/exercises/solutions/ex6_conv_weights.c)
target_include_directories(exercise_solutions PRIVATE ${PROJECT_SOURCE_DIR}/exercises)
target_link_libraries(exercise_solutions PRIVATE sgdcore)
sgd_script_test(exercises_both_ways exercises/both_ways.sh)
