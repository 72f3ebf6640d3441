#!/bin/bash
# tests/stdlib/Inputs/fix.sh TILEC STDLIB DIR CC RUNTIME M K N R C NA ACT — builds matmul,
# softmax and activation with --fix at those sizes (entries renamed fx_NAME, every other symbol
# local), links fix.c against them and the generic objects in DIR, and runs it.
set -euo pipefail
tilec=$1 stdlib=$2 dir=$3 cc=$4 rt=$5 M=$6 K=$7 N=$8 R=$9 C=${10} NA=${11} ACT=${12}
here=$(cd "$(dirname "$0")" && pwd)
tag=$M-$K-$N-$R-$C-$NA-$ACT
fix() {  # KERNEL FILE FIXES
    "$tilec" "$stdlib/$2" --kernel "$1" --fix "$3" -o "$dir/fx_$1-$tag.o"
    objcopy --redefine-sym "$1=fx_$1" --keep-global-symbol="fx_$1" "$dir/fx_$1-$tag.o"
}
fix matmul matmul.tile "M=$M,K=$K,N=$N"
fix softmax softmax.tile "R=$R,C=$C"
fix activation activations.tile "N=$NA,act=$ACT"
$cc -I"$here" -I"$here/../../lowering/Inputs" -DM_="$M" -DK_="$K" -DN_="$N" -DR_="$R" -DC_="$C" -DNA_="$NA" \
    -DACT_="$ACT" "$here/fix.c" "$dir/matmul.o" "$dir/softmax.o" "$dir/activation.o" "$dir/fx_matmul-$tag.o" \
    "$dir/fx_softmax-$tag.o" "$dir/fx_activation-$tag.o" $rt -lm -o "$dir/fix-$tag"
"$dir/fix-$tag"
