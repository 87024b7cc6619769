"""``prefetch(array, offset)``: a cache hint usable inside numba kernels.

The clutter generator reads 8 random 784-byte source images per scene out of ~110 MB of
sources, so nearly every one misses every cache. Plain loads issued early do not hide
that: the core stalls once the miss reaches the head of its reorder window. A prefetch
retires at once, so the next scene's images can be requested while this one is drawn.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, offset):
    """Ask for the cache line of element ``offset`` of the contiguous 1-D ``array`` (no effect on results)."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(offset, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.gep(data, [args[1]])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [address, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()

    return types.void(array, offset), codegen
