# Augmentation (bears/augment.c): each transform's geometry, TTA's views, label smoothing and mixup's
# targets, and the soft cross-entropy's gradient against finite differences.
sgd_unit_test(test_augment test_augment.c sgdbears)
sgd_script_test(augment_flags augment/flags.sh)
# bench-augment: what augmentation costs per epoch (a benchmark, not a test).
add_executable(bench-augment ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench-augment.c)
target_link_libraries(bench-augment PRIVATE sgdbears)
