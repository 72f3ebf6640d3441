// parser/hints.c — the raw-text helpers behind the hints for Triton and Python habits: dtype
// names, and the arguments of a call read back from the source line (to spell the .tile form).
#include <string.h>

#include "parse.h"

ElemType hint_dtype(const char *s, size_t n) {
    if (n > 3 && memcmp(s, "tl.", 3) == 0) {
        s += 3;
        n -= 3;
    }
    static const struct {
        const char *name;
        ElemType elem;
    } names[] = {
        {"float16", EL_F16}, {"half", EL_F16},    {"bfloat16", EL_BF16}, {"float32", EL_F32},
        {"float", EL_F32},   {"float64", EL_F64}, {"double", EL_F64},    {"int1", EL_I1},
        {"bool", EL_I1},     {"int8", EL_I8},     {"int16", EL_I16},     {"int32", EL_I32},
        {"int64", EL_I64},   {"uint8", EL_U8},    {"uint16", EL_U16},    {"uint32", EL_U32},
        {"uint64", EL_U64},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0)
            return names[i].elem;
    return elem_from_name(s, n);
}

uint32_t hint_matching_paren(const SourceFile *f, uint32_t open) {
    int depth = 0;
    for (uint32_t i = open; i < f->len && f->text[i] != '\n'; i++) {
        char c = f->text[i];
        if (c == '(' || c == '[')
            depth++;
        else if ((c == ')' || c == ']') && --depth == 0)
            return c == ')' ? i : 0;
    }
    return 0;
}

int hint_call_args(const SourceFile *f, uint32_t open, char args[][64], int max) {
    uint32_t close = hint_matching_paren(f, open);
    if (!close)
        return -1;
    int n = 0, depth = 0;
    uint32_t start = open + 1;
    for (uint32_t i = open + 1; i <= close; i++) {
        char c = f->text[i];
        if (c == '(' || c == '[')
            depth++;
        else if ((c == ')' || c == ']') && i < close)
            depth--;
        if ((c == ',' && depth == 0) || i == close) {
            uint32_t a = start, b = i;
            while (a < b && (f->text[a] == ' ' || f->text[a] == '\t'))
                a++;
            while (b > a && (f->text[b - 1] == ' ' || f->text[b - 1] == '\t'))
                b--;
            start = i + 1;
            if (a == b && i == close)  // a trailing comma: (16,)
                break;
            if (n == max || b - a >= 64)
                return -1;
            memcpy(args[n], f->text + a, b - a);
            args[n++][b - a] = '\0';
        }
    }
    return n;
}

bool hint_range(const SourceFile *f, uint32_t open, char *out, size_t size) {
    char a[3][64];
    int n = hint_call_args(f, open, a, 3);
    for (int i = 0; i < n; i++)
        if (!a[i][0] || strchr(a[i], '='))
            return false;
    if (n == 1)
        snprintf(out, size, "0 .. %s", a[0]);
    else if (n == 2)
        snprintf(out, size, "%s .. %s", a[0], a[1]);
    else if (n == 3)
        snprintf(out, size, "%s .. %s step %s", a[0], a[1], a[2]);
    return n >= 1 && n <= 3;
}
