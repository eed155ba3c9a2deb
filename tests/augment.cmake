# Augmentation (bears/augment.c): each transform's geometry, TTA's views, label smoothing and mixup's
# targets, and the soft cross-entropy's gradient against finite differences.
sgd_unit_test(test_augment test_augment.c sgdbears)
sgd_script_test(augment_flags augment/flags.sh)
