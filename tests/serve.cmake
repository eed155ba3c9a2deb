# bears serve (issue 10): a trained model shared by the tests (a ctest fixture), the HTTP cases with
# curl, and the upload page driven in headless Chromium. Everything on 127.0.0.1.
sgd_script_test(serve_model serve/model.sh)
sgd_script_test(serve_http serve/http.sh)

set_tests_properties(serve_model PROPERTIES FIXTURES_SETUP serve_model)
set_tests_properties(serve_http PROPERTIES FIXTURES_REQUIRED serve_model)
sgd_script_test(serve_page serve/page.sh)
set_tests_properties(serve_page PROPERTIES FIXTURES_REQUIRED serve_model)
