# The docs' runnable command blocks, run as written (tests/docs/runnable.sh says how to mark one).
sgd_script_test(docs_runnable docs/runnable.sh)
set_tests_properties(docs_runnable PROPERTIES TIMEOUT 600)
