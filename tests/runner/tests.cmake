# tests/runner/tests.cmake — the runner's model tests, node tests and model benchmark smoke run as
# ctest tests. include()d from the top-level CMakeLists.txt after tilec-run is defined:
#   include(${CMAKE_SOURCE_DIR}/tests/runner/tests.cmake)
# runner-models and bench-models-smoke download the models and onnxruntime-node once (npm; cached
# in $TILEC_MODELS_DIR, default build/models) and are skipped (exit 77) when that is impossible.
add_test(NAME runner-models
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/runner/models.sh ${TILEC_BIN_DIR}/tilec-run)
set_tests_properties(runner-models PROPERTIES TIMEOUT 1800 SKIP_RETURN_CODE 77 LABELS "slow;models"
                     RESOURCE_LOCK tilec-models)
add_test(NAME runner-node-tests
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/runner/node-tests.sh ${TILEC_BIN_DIR}/tilec-run
                 ${CMAKE_BINARY_DIR}/node-tests.txt 500)
set_tests_properties(runner-node-tests PROPERTIES TIMEOUT 1800 LABELS "slow;models")
add_test(NAME bench-models-smoke COMMAND bash ${CMAKE_SOURCE_DIR}/bench/models.sh --smoke)
set_tests_properties(bench-models-smoke PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 LABELS bench
                     RESOURCE_LOCK tilec-models)
# Edge cases of the shape/data-movement ops against numpy, and inputs they must refuse.
add_test(NAME runner-shape-cases
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/runner/shape_cases.py ${TILEC_BIN_DIR}/tilec-run)
set_tests_properties(runner-shape-cases PROPERTIES TIMEOUT 600 LABELS slow)
# The elementwise ops beyond the node tests: random broadcasts of rank 0-7 on every type, Cast
# between all types, unary ops on ints/f16/f64, against numpy, and errors that must be clean.
add_test(NAME runner-elementwise-cases
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/runner/elementwise_cases.py ${TILEC_BIN_DIR}/tilec-run)
set_tests_properties(runner-elementwise-cases PROPERTIES TIMEOUT 600 LABELS slow)
# Conv/ConvTranspose through every kernel path and the fusion passes, against torch in float64.
add_test(NAME runner-conv-cases
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/runner/conv_cases.py ${TILEC_BIN_DIR}/tilec-run)
set_tests_properties(runner-conv-cases PROPERTIES TIMEOUT 600 LABELS slow)
# Elementwise chains fused into generated kernels (runner/fuse_ew.c): fused vs unfused vs numpy
# at edge sizes and broadcasts, the kernel cache, a failing compiler, TILEC_FUSE=0.
add_test(NAME runner-fuse-ew-cases
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/runner/fuse_ew_cases.py ${TILEC_BIN_DIR}/tilec-run)
set_tests_properties(runner-fuse-ew-cases PROPERTIES TIMEOUT 600 LABELS quick)
