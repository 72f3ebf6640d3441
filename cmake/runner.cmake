# cmake/runner.cmake — the ONNX graph runner (runner/, docs/runner.md): libtilec_runner.a and
# bin/tilec-run (what `tilec run` executes).
#
# The runner's arithmetic runs on kernels compiled by this build's tilec: every stdlib/*.tile
# and runner/kernels/*.tile file becomes FILE.o + FILE.h in build/runner/kernels, and the
# objects go into libtilec_runner.a. ONNX is read with protobuf-c, from C generated here from
# the onnx.proto that Debian's libonnx-dev ships.

find_program(TILEC_PROTOC_C NAMES protoc-c protoc-gen-c)
find_path(TILEC_ONNX_PROTO_DIR onnx/onnx.proto PATHS /usr/include /usr/local/include)
find_library(TILEC_PROTOBUF_C protobuf-c)
find_path(TILEC_PROTOBUF_C_INCLUDE protobuf-c/protobuf-c.h)
if(NOT TILEC_PROTOC_C OR NOT TILEC_ONNX_PROTO_DIR OR NOT TILEC_PROTOBUF_C OR NOT TILEC_PROTOBUF_C_INCLUDE)
  message(FATAL_ERROR "The runner needs protoc-c, libprotobuf-c and onnx/onnx.proto "
                      "(apt-get install protobuf-c-compiler libprotobuf-c-dev libonnx-dev, or tools/install-deps.sh)")
endif()

set(TILEC_RUNNER_GEN ${CMAKE_BINARY_DIR}/runner)
set(TILEC_RUNNER_KDIR ${TILEC_RUNNER_GEN}/kernels)
file(MAKE_DIRECTORY ${TILEC_RUNNER_GEN}/onnx ${TILEC_RUNNER_KDIR})

# onnx.pb-c.c/.h (the proto is copied so that protoc-c names the outputs onnx.pb-c.*).
add_custom_command(
  OUTPUT ${TILEC_RUNNER_GEN}/onnx.pb-c.c ${TILEC_RUNNER_GEN}/onnx.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E copy ${TILEC_ONNX_PROTO_DIR}/onnx/onnx.proto ${TILEC_RUNNER_GEN}/onnx.proto
  COMMAND ${TILEC_PROTOC_C} --c_out=${TILEC_RUNNER_GEN} --proto_path=${TILEC_RUNNER_GEN} ${TILEC_RUNNER_GEN}/onnx.proto
  DEPENDS ${TILEC_ONNX_PROTO_DIR}/onnx/onnx.proto
  COMMENT "protoc-c: onnx.proto"
  VERBATIM)

# The kernels: one object and header per .tile file.
file(GLOB TILEC_STDLIB_TILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/stdlib/*.tile)
file(GLOB TILEC_RUNNER_TILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runner/kernels/*.tile)

# A .tile file and the files it imports, transitively (`import "PATH";` lines, relative to the
# importing file): what its object depends on, so that editing one kernel file recompiles that
# file alone (each takes seconds to minutes), not every kernel.
function(tilec_tile_deps tile out)
  set(todo ${tile})
  set(seen "")
  while(todo)
    list(POP_FRONT todo f)
    if(f IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${f})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${f})
    file(STRINGS ${f} lines REGEX "^import[ \t]+\"[^\"]+\"")
    get_filename_component(dir ${f} DIRECTORY)
    foreach(line ${lines})
      string(REGEX REPLACE "^import[ \t]+\"([^\"]+)\".*" "\\1" rel "${line}")
      get_filename_component(abs ${rel} ABSOLUTE BASE_DIR ${dir})
      if(EXISTS ${abs})
        list(APPEND todo ${abs})
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

set(TILEC_RUNNER_KERNEL_OBJECTS "")
set(TILEC_RUNNER_KERNEL_HEADERS "")
foreach(tile ${TILEC_STDLIB_TILES} ${TILEC_RUNNER_TILES})
  get_filename_component(stem ${tile} NAME_WE)
  set(obj ${TILEC_RUNNER_KDIR}/${stem}.o)
  set(hdr ${TILEC_RUNNER_KDIR}/${stem}.h)
  tilec_tile_deps(${tile} deps)
  add_custom_command(
    OUTPUT ${obj} ${hdr}
    COMMAND ${TILEC_BIN_DIR}/tilec ${tile} -o ${obj}
    DEPENDS tilec ${deps}
    COMMENT "tilec ${stem}.tile (runner kernels)"
    VERBATIM)
  list(APPEND TILEC_RUNNER_KERNEL_OBJECTS ${obj})
  list(APPEND TILEC_RUNNER_KERNEL_HEADERS ${hdr})
endforeach()
set_source_files_properties(${TILEC_RUNNER_KERNEL_OBJECTS} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
add_custom_target(tilec_runner_kernels DEPENDS ${TILEC_RUNNER_KERNEL_OBJECTS} ${TILEC_RUNNER_KERNEL_HEADERS})

# The kernels' sources, embedded (runner/kcall.h): `tilec run --db` compiles tuned variants of
# them without the source tree.
add_custom_command(
  OUTPUT ${TILEC_RUNNER_GEN}/kcall_sources.c
  COMMAND ${CMAKE_COMMAND} -DROOT=${CMAKE_SOURCE_DIR} -DOUT=${TILEC_RUNNER_GEN}/kcall_sources.c
          "-DFILES=${TILEC_STDLIB_TILES};${TILEC_RUNNER_TILES}" -P ${CMAKE_SOURCE_DIR}/cmake/embed_sources.cmake
  DEPENDS ${TILEC_STDLIB_TILES} ${TILEC_RUNNER_TILES} ${CMAKE_SOURCE_DIR}/cmake/embed_sources.cmake
  COMMENT "embedding the runner kernels' sources"
  VERBATIM)

file(GLOB TILEC_RUNNER_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runner/*.c)
# The files that read ONNX (protobuf-c) or write ahead-of-time blobs; the rest, the runner's core,
# needs neither and is also what an ahead-of-time model object holds (docs/aot.md).
set(TILEC_RUNNER_LOADER_SOURCES ${CMAKE_SOURCE_DIR}/runner/onnx_load.c
    ${CMAKE_SOURCE_DIR}/runner/model_load.c ${CMAKE_SOURCE_DIR}/runner/tensor_io.c
    ${CMAKE_SOURCE_DIR}/runner/tensor_proto.c ${CMAKE_SOURCE_DIR}/runner/blob_write.c)
list(APPEND TILEC_RUNNER_SOURCES ${TILEC_RUNNER_GEN}/kcall_sources.c)
set(TILEC_RUNNER_CORE_SOURCES ${TILEC_RUNNER_SOURCES})
list(REMOVE_ITEM TILEC_RUNNER_CORE_SOURCES ${TILEC_RUNNER_LOADER_SOURCES})
add_library(tilec_runner_core OBJECT ${TILEC_RUNNER_CORE_SOURCES})
add_dependencies(tilec_runner_core tilec_runner_kernels)
target_compile_options(tilec_runner_core PRIVATE ${TILEC_WARNING_FLAGS})
target_include_directories(tilec_runner_core PRIVATE ${CMAKE_SOURCE_DIR}/runner ${TILEC_RUNNER_KDIR}
                           ${CMAKE_SOURCE_DIR}/runtime ${TILEC_XXHASH_INCLUDE})
add_library(tilec_runner STATIC $<TARGET_OBJECTS:tilec_runner_core> ${TILEC_RUNNER_LOADER_SOURCES}
            ${TILEC_RUNNER_GEN}/onnx.pb-c.c ${TILEC_RUNNER_KERNEL_OBJECTS})
add_dependencies(tilec_runner tilec_runner_kernels)
set_source_files_properties(${TILEC_RUNNER_GEN}/onnx.pb-c.c PROPERTIES COMPILE_OPTIONS "-Wno-unused-parameter")
target_compile_options(tilec_runner PRIVATE ${TILEC_WARNING_FLAGS})
target_include_directories(tilec_runner PUBLIC ${CMAKE_SOURCE_DIR}/runner
                           PRIVATE ${TILEC_RUNNER_GEN} ${TILEC_RUNNER_KDIR} ${TILEC_PROTOBUF_C_INCLUDE})
target_link_libraries(tilec_runner PUBLIC tilec_rt ${TILEC_PROTOBUF_C} Threads::Threads m)
set_target_properties(tilec_runner PROPERTIES ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

add_executable(tilec-run ${CMAKE_SOURCE_DIR}/tools/tilec_run.c ${CMAKE_SOURCE_DIR}/tools/tilec_run_tuned.c
               ${CMAKE_SOURCE_DIR}/tools/tilec_run_fused.c)
target_compile_options(tilec-run PRIVATE ${TILEC_WARNING_FLAGS})
target_include_directories(tilec-run PRIVATE ${CMAKE_SOURCE_DIR}/runner ${TILEC_XXHASH_INCLUDE})
# Tuned variants that `tilec run --db` loads take the runtime (thread pool, bf16 rounding) from
# the tilec-run process, as they do from tilec in `tilec tune`.
target_link_libraries(tilec-run PRIVATE -Wl,--whole-archive tilec_rt -Wl,--no-whole-archive tilec_runner m
                      ${CMAKE_DL_LIBS})
target_link_options(tilec-run PRIVATE ${TILEC_RT_EXPORTS})
set_target_properties(tilec-run PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${TILEC_BIN_DIR})
install(TARGETS tilec-run RUNTIME DESTINATION bin)

# Ahead-of-time models (docs/aot.md). lib/tilec/aot_rt.o: the runner's core, every kernel object,
# the runtime and runner/aot/entry.c partially linked into one relocatable object, which
# bin/tilec-aot (what `tilec MODEL.onnx -o NAME.o` runs) links with a model's blob into NAME.o.
find_program(TILEC_LD NAMES ld REQUIRED)
add_library(tilec_aot_entry OBJECT ${CMAKE_SOURCE_DIR}/runner/aot/entry.c)
target_compile_options(tilec_aot_entry PRIVATE ${TILEC_WARNING_FLAGS})
target_include_directories(tilec_aot_entry PRIVATE ${CMAKE_SOURCE_DIR}/runner
                           ${CMAKE_SOURCE_DIR}/runner/aot)
set(TILEC_AOT_RT ${CMAKE_BINARY_DIR}/lib/tilec/aot_rt.o)
add_custom_command(
  OUTPUT ${TILEC_AOT_RT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/lib/tilec
  COMMAND ${TILEC_LD} -r -o ${TILEC_AOT_RT} $<TARGET_OBJECTS:tilec_aot_entry>
          $<TARGET_OBJECTS:tilec_runner_core> ${TILEC_RUNNER_KERNEL_OBJECTS}
          --whole-archive $<TARGET_FILE:tilec_rt> --no-whole-archive
  DEPENDS tilec_aot_entry tilec_runner_core tilec_rt $<TARGET_OBJECTS:tilec_aot_entry>
          $<TARGET_OBJECTS:tilec_runner_core> ${TILEC_RUNNER_KERNEL_OBJECTS}
  COMMENT "ld -r: lib/tilec/aot_rt.o (ahead-of-time model runtime)"
  COMMAND_EXPAND_LISTS VERBATIM)
add_custom_target(tilec_aot_rt ALL DEPENDS ${TILEC_AOT_RT})
# With --db it asks tune-resolve for the model's tuned calls as tilec run --db does
# (tools/tilec_run_tuned.c) and links their variants, compiled by bin/tilec, into NAME.o.
add_executable(tilec-aot ${CMAKE_SOURCE_DIR}/tools/tilec_aot.c ${CMAKE_SOURCE_DIR}/tools/tilec_aot_spec.c
               ${CMAKE_SOURCE_DIR}/tools/tilec_run_tuned.c ${CMAKE_SOURCE_DIR}/tools/tilec_run_fused.c
               ${CMAKE_SOURCE_DIR}/tools/tilec_aot_fused.c)
target_compile_options(tilec-aot PRIVATE ${TILEC_WARNING_FLAGS})
target_include_directories(tilec-aot PRIVATE ${CMAKE_SOURCE_DIR}/runner ${CMAKE_SOURCE_DIR}/runner/aot
                           ${TILEC_XXHASH_INCLUDE})
# The fused kernels it compiles are loaded (the trial run uses them) and take the runtime from
# the process, as in tilec-run.
target_link_libraries(tilec-aot PRIVATE -Wl,--whole-archive tilec_rt -Wl,--no-whole-archive tilec_runner m
                      ${CMAKE_DL_LIBS})
target_link_options(tilec-aot PRIVATE ${TILEC_RT_EXPORTS})
set_target_properties(tilec-aot PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${TILEC_BIN_DIR})
add_dependencies(tilec-aot tilec_aot_rt)
install(TARGETS tilec-aot RUNTIME DESTINATION bin)
install(FILES ${TILEC_AOT_RT} DESTINATION lib/tilec)
install(TARGETS tilec_runner ARCHIVE DESTINATION lib)
install(FILES ${CMAKE_SOURCE_DIR}/runner/tilec_model.h DESTINATION include/tilec)

# The libFuzzer target over the loader (tests/fuzz/fuzz_runner.c), built by the clang that
# builds bin/tilec-fuzz, with the runner and runtime compiled under ASan and UBSan (the kernel
# objects are tilec's, uninstrumented).
if(TILEC_FUZZ)
  set(_runner_fuzz_sources ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_runner.c ${TILEC_RUNNER_SOURCES}
      ${TILEC_RUNNER_GEN}/onnx.pb-c.c ${TILEC_RT_SOURCES})
  file(GLOB _runner_headers ${CMAKE_SOURCE_DIR}/runner/*.h)
  add_custom_command(
    OUTPUT ${TILEC_BIN_DIR}/tilec-fuzz-runner
    COMMAND ${TILEC_FUZZ_CC} -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra
            -Wno-unused-parameter
            -I${CMAKE_SOURCE_DIR}/runner -I${TILEC_RUNNER_GEN} -I${TILEC_RUNNER_KDIR}
            -I${CMAKE_SOURCE_DIR}/runtime -I${TILEC_PROTOBUF_C_INCLUDE}
            ${_runner_fuzz_sources} ${TILEC_RUNNER_KERNEL_OBJECTS} ${TILEC_PROTOBUF_C} -lm -lpthread -ldl
            -o ${TILEC_BIN_DIR}/tilec-fuzz-runner
    DEPENDS ${_runner_fuzz_sources} ${_runner_headers} ${TILEC_RUNNER_KERNEL_OBJECTS}
            ${TILEC_RUNNER_GEN}/onnx.pb-c.h
    COMMENT "Building libFuzzer target bin/tilec-fuzz-runner with ${TILEC_FUZZ_CC}"
    VERBATIM)
  add_custom_target(tilec-fuzz-runner ALL DEPENDS ${TILEC_BIN_DIR}/tilec-fuzz-runner)
  add_dependencies(tilec-fuzz-runner tilec_runner_kernels)
  add_test(NAME fuzz-smoke-runner
           COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/run-fuzz-runner.sh ${TILEC_BIN_DIR}/tilec-fuzz-runner 60
                   ${CMAKE_BINARY_DIR}/fuzz-artifacts-runner)
  set_tests_properties(fuzz-smoke-runner PROPERTIES TIMEOUT 300 LABELS "slow;asan")
endif()

# ---------------------------------------------------------------- runner tests

# The C API example of docs/runner.md (examples/runner/run_model.c): four concurrent runs of one
# model must give identical outputs. Also built with ThreadSanitizer over the runner and runtime
# sources (the kernels themselves are tilec's objects, uninstrumented).
add_executable(runner-example ${CMAKE_SOURCE_DIR}/examples/runner/run_model.c)
target_compile_options(runner-example PRIVATE ${TILEC_WARNING_FLAGS})
target_link_libraries(runner-example PRIVATE tilec_runner)
set(TILEC_RUNNER_EXAMPLE_MODEL /usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/model.onnx)
add_test(NAME runner-example COMMAND runner-example ${TILEC_RUNNER_EXAMPLE_MODEL})
set_tests_properties(runner-example PROPERTIES LABELS quick)
add_test(NAME runner-doc-example
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/runner/doc-example.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(runner-doc-example PROPERTIES LABELS quick)

set(_runner_san_sources ${TILEC_RUNNER_SOURCES} ${TILEC_RUNNER_GEN}/onnx.pb-c.c ${TILEC_RT_SOURCES})
function(tilec_runner_sanitized exe main flags)
  add_executable(${exe} ${main} ${_runner_san_sources} ${TILEC_RUNNER_KERNEL_OBJECTS})
  add_dependencies(${exe} tilec_runner_kernels)
  target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/runner ${TILEC_RUNNER_GEN}
                             ${TILEC_RUNNER_KDIR} ${CMAKE_SOURCE_DIR}/runtime ${TILEC_PROTOBUF_C_INCLUDE})
  target_compile_options(${exe} PRIVATE ${TILEC_WARNING_FLAGS} ${flags} -g -O1 -UNDEBUG)
  target_link_options(${exe} PRIVATE ${flags})
  target_link_libraries(${exe} PRIVATE ${TILEC_PROTOBUF_C} Threads::Threads m ${CMAKE_DL_LIBS})
  set_source_files_properties(${TILEC_RUNNER_GEN}/onnx.pb-c.c TARGET_DIRECTORY ${exe}
                              PROPERTIES COMPILE_OPTIONS "-Wno-unused-parameter")
  set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${TILEC_BIN_DIR})
endfunction()
tilec_runner_sanitized(runner-example-tsan ${CMAKE_SOURCE_DIR}/examples/runner/run_model.c
                       "-fsanitize=thread")
add_test(NAME runner-example-tsan COMMAND ${TILEC_BIN_DIR}/runner-example-tsan ${TILEC_RUNNER_EXAMPLE_MODEL})
set_tests_properties(runner-example-tsan PROPERTIES ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1"
                     LABELS slow)

# Bad models and inputs (tests/runner/bad-inputs.sh): a message, exit 1, nothing written; also
# with tilec-run under ASan and UBSan.
add_test(NAME runner-bad-inputs
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/runner/bad-inputs.sh ${TILEC_BIN_DIR}/tilec-run)
set_tests_properties(runner-bad-inputs PROPERTIES LABELS quick)
if(TILEC_SANITIZE_VARIANT)
  tilec_runner_sanitized(tilec-run-asan
                         "${CMAKE_SOURCE_DIR}/tools/tilec_run.c;${CMAKE_SOURCE_DIR}/tools/tilec_run_tuned.c;${CMAKE_SOURCE_DIR}/tools/tilec_run_fused.c"
                         "-fsanitize=address,undefined;-fno-sanitize-recover=all;-fno-omit-frame-pointer")
  # fused chains' kernels (dlopen'ed) take the runtime from the process, as in tilec-run
  target_link_options(tilec-run-asan PRIVATE ${TILEC_RT_EXPORTS})
  add_test(NAME runner-bad-inputs-asan
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/runner/bad-inputs.sh ${TILEC_BIN_DIR}/tilec-run-asan)
  set_tests_properties(runner-bad-inputs-asan PROPERTIES ENVIRONMENT "${_asan_env}" LABELS asan)
endif()
include(${CMAKE_SOURCE_DIR}/tests/runner/tests.cmake)

# Ahead-of-time models (tests/aot/aot.sh): the example examples/aot/main.c against `tilec run`,
# symbols, two models in one program, errors; on small models made by tests/aot/make_model.py.
# tests/aot/models.sh: det, rec, cls and the super-resolution CNN where build/models has them.
add_test(NAME aot-example
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/aot/aot.sh ${TILEC_BIN_DIR} ${CMAKE_SOURCE_DIR}/examples)
set_tests_properties(aot-example PROPERTIES LABELS quick TIMEOUT 300)
# The blob on its own (tests/aot/blob_test.c): written and read back gives identical outputs;
# damaged blobs are refused. Also under ASan and UBSan when the sanitizer variant is built.
add_executable(aot-blob-test ${CMAKE_SOURCE_DIR}/tests/aot/blob_test.c)
target_compile_options(aot-blob-test PRIVATE ${TILEC_WARNING_FLAGS})
target_link_libraries(aot-blob-test PRIVATE tilec_runner)
set(_aot_models ${CMAKE_BINARY_DIR}/aot-test-models)
add_test(NAME aot-blob
         COMMAND sh -c "/usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/aot/make_model.py ${_aot_models} && $<TARGET_FILE:aot-blob-test> ${_aot_models}/tiny.onnx N=2 && $<TARGET_FILE:aot-blob-test> ${_aot_models}/branch.onnx")
set_tests_properties(aot-blob PROPERTIES LABELS quick)
if(TILEC_SANITIZE_VARIANT)
  tilec_runner_sanitized(aot-blob-test-asan ${CMAKE_SOURCE_DIR}/tests/aot/blob_test.c
                         "-fsanitize=address,undefined;-fno-sanitize-recover=all;-fno-omit-frame-pointer")
  add_test(NAME aot-blob-asan
           COMMAND sh -c "/usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/aot/make_model.py ${_aot_models}-asan && ${TILEC_BIN_DIR}/aot-blob-test-asan ${_aot_models}-asan/tiny.onnx N=2 && ${TILEC_BIN_DIR}/aot-blob-test-asan ${_aot_models}-asan/branch.onnx")
  set_tests_properties(aot-blob-asan PROPERTIES ENVIRONMENT "${_asan_env}" LABELS asan)
endif()
add_test(NAME aot-models
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/aot/models.sh ${TILEC_BIN_DIR} ${CMAKE_SOURCE_DIR}/examples)
set_tests_properties(aot-models PROPERTIES LABELS "slow;models" TIMEOUT 1800 SKIP_RETURN_CODE 77
                     RESOURCE_LOCK tilec-models)
