// lowering/bf16mem.c — bf16 values that are only moved go through memory as 16-bit integers.
//
// After translation to LLVM IR, bf16 tiles still appear as `load bfloat`/`store bfloat` and
// masked loads/stores of `<N x bfloat>` (the copies that pack and pad tiles). On CPUs without
// AVX512-BF16, LLVM's x86 back end promotes bfloat to float in registers, so each such copy
// became an extension and a call to __truncsfbf2 (1120 load/store pairs in attention_bf16 for
// x86-64-v3). Moving the same bits as i16 (a bitcast around an integer load or store, which
// InstCombine then folds away) keeps them plain moves; arithmetic on bf16 was already expanded
// to integer operations before (arith-expand{include-bf16}).
#include <string.h>

#include "llvm-c/Core.h"
#include "llvm-c/DebugInfo.h"

#include "lower.h"

// The integer type of bf16 type t (bfloat, or a fixed vector of it); NULL for other types.
static LLVMTypeRef as_int(LLVMTypeRef t) {
    LLVMContextRef c = LLVMGetTypeContext(t);
    if (LLVMGetTypeKind(t) == LLVMBFloatTypeKind)
        return LLVMInt16TypeInContext(c);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind &&
        LLVMGetTypeKind(LLVMGetElementType(t)) == LLVMBFloatTypeKind)
        return LLVMVectorType(LLVMInt16TypeInContext(c), LLVMGetVectorSize(t));
    return NULL;
}

// Whether `call` calls the intrinsic `name` (e.g. "llvm.masked.load", any overload).
static bool calls(LLVMValueRef call, const char *name) {
    LLVMValueRef f = LLVMGetCalledValue(call);
    if (!f || !LLVMIsAFunction(f))
        return false;
    size_t len, n = strlen(name);
    const char *s = LLVMGetValueName2(f, &len);
    return len > n && !strncmp(s, name, n) && s[n] == '.';
}

// `to` gets `from`'s metadata (alias scopes, nontemporal hints, ...) and debug location.
static void copy_metadata(LLVMValueRef from, LLVMValueRef to) {
    size_t n = 0;
    LLVMValueMetadataEntry *md = LLVMInstructionGetAllMetadataOtherThanDebugLoc(from, &n);
    LLVMContextRef c = LLVMGetTypeContext(LLVMTypeOf(from));
    for (unsigned k = 0; k < n; k++)
        LLVMSetMetadata(to, LLVMValueMetadataEntriesGetKind(md, k),
                        LLVMMetadataAsValue(c, LLVMValueMetadataEntriesGetMetadata(md, k)));
    if (md)
        LLVMDisposeValueMetadataEntries(md);
    LLVMInstructionSetDebugLoc(to, LLVMInstructionGetDebugLoc(from));
}

// The same masked load or store on the integer type: arguments as given, the pointer's
// attributes (its alignment) kept.
static LLVMValueRef masked_call(LLVMModuleRef m, LLVMBuilderRef b, LLVMValueRef old, const char *name,
                                LLVMTypeRef vec, LLVMValueRef *args, int ptr_arg) {
    LLVMTypeRef ptr = LLVMTypeOf(args[ptr_arg]);
    LLVMTypeRef over[2] = {vec, ptr};
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(m, id, over, 2);
    LLVMTypeRef ft = LLVMIntrinsicGetType(LLVMGetModuleContext(m), id, over, 2);
    LLVMValueRef call = LLVMBuildCall2(b, ft, f, args, 3, "");
    copy_metadata(old, call);
    unsigned idx = (unsigned)ptr_arg + 1;  // attribute indices: 0 the result, 1.. the arguments
    unsigned n = LLVMGetCallSiteAttributeCount(old, idx);
    if (n) {
        LLVMAttributeRef attrs[16];
        LLVMGetCallSiteAttributes(old, idx, attrs);
        for (unsigned i = 0; i < n && i < 16; i++)
            LLVMAddCallSiteAttribute(call, idx, attrs[i]);
    }
    return call;
}

void lower_bf16_memory(LLVMModuleRef m) {
    LLVMBuilderRef b = LLVMCreateBuilderInContext(LLVMGetModuleContext(m));
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
            for (LLVMValueRef i = LLVMGetFirstInstruction(bb), next; i; i = next) {
                next = LLVMGetNextInstruction(i);
                LLVMOpcode op = LLVMGetInstructionOpcode(i);
                LLVMValueRef done = NULL;
                LLVMPositionBuilderBefore(b, i);
                if (op == LLVMLoad) {
                    LLVMTypeRef t = LLVMTypeOf(i), it = as_int(t);
                    if (!it)
                        continue;
                    LLVMValueRef l = LLVMBuildLoad2(b, it, LLVMGetOperand(i, 0), "");
                    LLVMSetAlignment(l, LLVMGetAlignment(i));
                    LLVMSetVolatile(l, LLVMGetVolatile(i));
                    copy_metadata(i, l);
                    done = LLVMBuildBitCast(b, l, t, "");
                } else if (op == LLVMStore) {
                    LLVMValueRef v = LLVMGetOperand(i, 0);
                    LLVMTypeRef it = as_int(LLVMTypeOf(v));
                    if (!it)
                        continue;
                    LLVMValueRef s = LLVMBuildStore(b, LLVMBuildBitCast(b, v, it, ""), LLVMGetOperand(i, 1));
                    LLVMSetAlignment(s, LLVMGetAlignment(i));
                    LLVMSetVolatile(s, LLVMGetVolatile(i));
                    copy_metadata(i, s);
                    LLVMInstructionEraseFromParent(i);
                    continue;
                } else if (op == LLVMCall && calls(i, "llvm.masked.load")) {
                    LLVMTypeRef t = LLVMTypeOf(i), it = as_int(t);
                    if (!it || LLVMGetNumArgOperands(i) != 3)
                        continue;
                    LLVMValueRef args[3] = {LLVMGetOperand(i, 0), LLVMGetOperand(i, 1),
                                            LLVMBuildBitCast(b, LLVMGetOperand(i, 2), it, "")};
                    done = LLVMBuildBitCast(b, masked_call(m, b, i, "llvm.masked.load", it, args, 0), t, "");
                } else if (op == LLVMCall && calls(i, "llvm.masked.store")) {
                    LLVMValueRef v = LLVMGetOperand(i, 0);
                    LLVMTypeRef it = as_int(LLVMTypeOf(v));
                    if (!it || LLVMGetNumArgOperands(i) != 3)
                        continue;
                    LLVMValueRef args[3] = {LLVMBuildBitCast(b, v, it, ""), LLVMGetOperand(i, 1),
                                            LLVMGetOperand(i, 2)};
                    masked_call(m, b, i, "llvm.masked.store", it, args, 1);
                    LLVMInstructionEraseFromParent(i);
                    continue;
                }
                if (done) {
                    LLVMReplaceAllUsesWith(i, done);
                    LLVMInstructionEraseFromParent(i);
                }
            }
    LLVMDisposeBuilder(b);
}
