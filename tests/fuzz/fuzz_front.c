// tests/fuzz/fuzz_front.c — libFuzzer entry point over the front end: each input is one .tile
// file, loaded (lexed, parsed, imports followed) and, when it parses, checked by sema for its
// default configurations. Diagnostics are discarded; the arena is freed after every input, so
// LeakSanitizer sees any allocation that escapes it.
//
// Built by CMake as bin/tilec-fuzz (clang -fsanitize=fuzzer,address,undefined); run by
// tests/fuzz/run-fuzz.sh. Imports in an input resolve relative to the current directory.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../lang/ast.h"
#include "../../lang/diag.h"
#include "../../lang/sema.h"
#include "../../parser/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    diag_init((DiagOptions){.out = NULL, .error_limit = 20});
    SourceFile *file = source_from_memory("fuzz.tile", (const char *)data, size);
    if (file) {
        SourceFile *files[1] = {file};
        Program prog = {0};
        if (load_program(&prog, files, 1, NULL)) {
            SemaOptions opts = {.defines = NULL, .ndefines = 0, .all_configs = false};
            sema_check_program(&prog, &opts);
        }
    }
    ast_arena_reset();
    return 0;
}
