"""LLVM operations that numba does not expose, for use inside numba kernels.

* ``prefetch(array, offset)``: a cache hint. The clutter generator reads 8 random 784-byte
  source images per scene out of ~110 MB of sources, so nearly every one misses every
  cache. Plain loads issued early do not hide that: the core stalls once the miss reaches
  the head of its reorder window. A prefetch retires at once, so the next scene's images
  can be requested while this one is drawn.
* ``trailing_zeros(x)``: the index of the lowest set bit of an unsigned integer (its
  width if none), one instruction; walking the set bits of a mask with it replaces a
  loop over the positions.
* ``copy16(dst, dst_offset, src, src_offset)``: copies 16 bytes between uint8 arrays as one
  unaligned vector load and store; short copies in 16-byte steps avoid the per-byte loop
  (and its mispredicted exit) that numba generates for a variable-length slice copy. The
  caller keeps both ranges inside their arrays.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _contiguous_1d(array, dtype=None):
    return (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and (dtype is None or array.dtype == dtype))


def _element_pointer(context, builder, array_type, array, offset):
    return builder.gep(context.make_array(array_type)(context, builder, array).data, [offset])


@intrinsic
def prefetch(typingctx, array, offset):
    """Ask for the cache line of element ``offset`` of the contiguous 1-D ``array`` (no effect on results)."""
    if not (_contiguous_1d(array) and isinstance(offset, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        address = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [address, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()

    return types.void(array, offset), codegen


@intrinsic
def trailing_zeros(typingctx, x):
    """Number of trailing zero bits of the unsigned integer ``x`` (its bit width for 0)."""
    if not (isinstance(x, types.Integer) and not x.signed):
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty, ir.IntType(1)]),
                                            f"llvm.cttz.i{ty.width}")
        return builder.call(fn, [args[0], ir.IntType(1)(0)])  # 0 is defined: gives the width

    return x(x), codegen


@intrinsic
def copy16(typingctx, dst, dst_offset, src, src_offset):
    """dst[dst_offset:dst_offset + 16] = src[src_offset:src_offset + 16] (uint8, no bounds check)."""
    if not (_contiguous_1d(dst, types.uint8) and _contiguous_1d(src, types.uint8)
            and isinstance(dst_offset, types.Integer) and isinstance(src_offset, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        vector = ir.VectorType(ir.IntType(8), 16).as_pointer()
        source = builder.bitcast(_element_pointer(context, builder, signature.args[2], args[2], args[3]), vector)
        target = builder.bitcast(_element_pointer(context, builder, signature.args[0], args[0], args[1]), vector)
        builder.store(builder.load(source, align=1), target, align=1)
        return context.get_dummy_value()

    return types.void(dst, dst_offset, src, src_offset), codegen
