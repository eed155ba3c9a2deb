# bears download against a web server of our own on 127.0.0.1 (tests/bears/download_server.py), and
# the helper that makes the WEBP it serves.
add_executable(image_convert image_convert.c)
target_link_libraries(image_convert PRIVATE sgdviz)
set_target_properties(image_convert PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
sgd_script_test(bears_download bears/download.sh)
