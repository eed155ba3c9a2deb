# A new user's first runs of issue 14 (transfer learning, real photos): the mistakes a try-out hit, each
# with the message that says what to do.
sgd_script_test(first_run_transfer first_run/transfer.sh)
# The LR finder's suggestion on curves with a known answer (it used to pick the noise of the first minibatches).
sgd_unit_test(test_lr_suggest test_lr_suggest.c)
