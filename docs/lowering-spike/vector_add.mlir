!M = memref<?xf32, strided<[?], offset: ?>>
!D = !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// vector_add program instance, tile level: Z[i:i+B] = X[i:i+B] + Y[i:i+B], B = 8
func.func @vector_add__program(%X: !M, %Y: !M, %Z: !M, %N: i64, %pid: i64) attributes {llvm.emit_c_interface} {
  %c8 = arith.constant 8 : i64
  %i = arith.muli %pid, %c8 : i64
  %zero = arith.constant 0 : i64
  // valid = clamp(N - i, 0, 8)
  %rem = arith.subi %N, %i : i64
  %r1 = arith.maxsi %rem, %zero : i64
  %valid = arith.minsi %r1, %c8 : i64
  %hi = arith.subi %c8, %valid : i64
  %vi = arith.index_cast %valid : i64 to index
  %ii = arith.index_cast %i : i64 to index
  %hii = arith.index_cast %hi : i64 to index
  %pad = arith.constant 0.0 : f32
  %xt = bufferization.to_tensor %X restrict : !M to tensor<?xf32>
  %xs = tensor.extract_slice %xt[%ii][%vi][1] : tensor<?xf32> to tensor<?xf32>
  %xp = tensor.pad %xs low[0] high[%hii] { ^bb0(%a: index): tensor.yield %pad : f32 } : tensor<?xf32> to tensor<8xf32>
  %yt = bufferization.to_tensor %Y restrict : !M to tensor<?xf32>
  %ys = tensor.extract_slice %yt[%ii][%vi][1] : tensor<?xf32> to tensor<?xf32>
  %yp = tensor.pad %ys low[0] high[%hii] { ^bb0(%a: index): tensor.yield %pad : f32 } : tensor<?xf32> to tensor<8xf32>
  %s = arith.addf %xp, %yp : tensor<8xf32>
  %part = tensor.extract_slice %s[0][%vi][1] : tensor<8xf32> to tensor<?xf32>
  %dst = memref.subview %Z[%ii][%vi][1] : !M to memref<?xf32, strided<[?], offset: ?>>
  bufferization.materialize_in_destination %part in writable %dst : (tensor<?xf32>, memref<?xf32, strided<[?], offset: ?>>) -> ()
  return
}

// int vector_add(const float *X, const float *Y, float *Z, int64_t N)
func.func @vector_add(%x: !llvm.ptr, %y: !llvm.ptr, %z: !llvm.ptr, %N: i64) -> i32 {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %neg = arith.cmpi slt, %N, %c0 : i64
  %r = scf.if %neg -> i32 {
    %e = arith.constant 1 : i32
    scf.yield %e : i32
  } else {
    %X = func.call @make_desc(%x, %N) : (!llvm.ptr, i64) -> !M
    %Y = func.call @make_desc(%y, %N) : (!llvm.ptr, i64) -> !M
    %Z = func.call @make_desc(%z, %N) : (!llvm.ptr, i64) -> !M
    %c8 = arith.constant 8 : i64
    %g0 = arith.ceildivsi %N, %c8 : i64
    scf.for %p = %c0 to %g0 step %c1 : i64 {
      func.call @vector_add__program(%X, %Y, %Z, %N, %p) : (!M, !M, !M, i64, i64) -> ()
    }
    %ok = arith.constant 0 : i32
    scf.yield %ok : i32
  }
  return %r : i32
}

func.func private @make_desc(%p: !llvm.ptr, %n: i64) -> !M {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %u = llvm.mlir.undef : !D
  %d0 = llvm.insertvalue %p, %u[0] : !D
  %d1 = llvm.insertvalue %p, %d0[1] : !D
  %d2 = llvm.insertvalue %c0, %d1[2] : !D
  %d3 = llvm.insertvalue %n, %d2[3, 0] : !D
  %d4 = llvm.insertvalue %c1, %d3[4, 0] : !D
  %m = builtin.unrealized_conversion_cast %d4 : !D to !M
  return %m : !M
}
