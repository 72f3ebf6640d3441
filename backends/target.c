// backends/target.c — targets (target.h): parsing --target, --cpu and --schedule into a Target,
// which stages each kind of target has, and the host code's last step for both.
#include <stdio.h>
#include <string.h>

#include "target.h"

static bool x86_name(const char *name) { return !strcmp(name, "x86-64") || !strcmp(name, "x86_64"); }

bool target_known(const char *name) {
    GpuArch arch;
    return x86_name(name) || gpu_arch_parse(name, &arch);
}

bool target_known_cpu(const char *cpu) { return schedule_known_cpu(cpu); }

bool target_init(Target *t, const char *name, const char *cpu, const char *schedule, char *why,
                 int why_size) {
    memset(t, 0, sizeof *t);
    t->cpu = cpu;
    schedule_default(cpu, &t->cpu_schedule);
    if (name && !x86_name(name)) {
        t->kind = TARGET_NVIDIA;
        if (!gpu_arch_parse(name, &t->gpu)) {
            snprintf(why, (size_t)why_size, "unknown target '%s'", name);
            return false;
        }
        snprintf(t->name, sizeof t->name, "%s", t->gpu.name);
        gpu_schedule_default(&t->gpu, &t->gpu_schedule);
        t->lower = gpu_lower_module;
        return !schedule || gpu_schedule_parse(schedule, &t->gpu_schedule, why, why_size);
    }
    t->kind = TARGET_X86;
    snprintf(t->name, sizeof t->name, "x86-64");
    t->lower = x86_lower_module;
    return !schedule || schedule_parse(schedule, &t->cpu_schedule, why, why_size);
}

bool target_has_stage(TargetKind kind, LowerStage stage) {
    switch (stage) {
    case LOWER_MLIR:
    case LOWER_LLVM:
    case LOWER_ASM:
    case LOWER_OBJ: return true;
    case LOWER_SCHEDULED:
    case LOWER_BUFFERIZED:
    case LOWER_LLVM_DIALECT: return kind == TARGET_X86;
    case LOWER_GPU:
    case LOWER_NVVM:
    case LOWER_PTX:
    case LOWER_PTXAS: return kind == TARGET_NVIDIA;
    }
    return false;
}

bool target_finish_llvm(const Target *t, LLVMModuleRef m, const CompileOptions *o, FILE *out) {
    LowerHost host = {
        .cpu = t->cpu, .vector_bits = t->cpu_schedule.vector_bits, .stage = o->stage, .output = o->output};
    return lower_finish_llvm(m, &host, out);
}
