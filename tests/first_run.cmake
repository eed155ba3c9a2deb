# A new user's first runs of issue 14 (transfer learning, real photos): the mistakes a try-out hit, each
# with the message that says what to do.
sgd_script_test(first_run_transfer first_run/transfer.sh)
# The LR finder's suggestion on curves with a known answer (it used to pick the noise of the first minibatches).
sgd_unit_test(test_lr_suggest test_lr_suggest.c)
# README's converter on a seeded torchvision ResNet-18 (skipped where python3-torchvision is missing).
sgd_script_test(first_run_convert first_run/convert.sh)
set_tests_properties(first_run_convert PROPERTIES SKIP_RETURN_CODE 77)
