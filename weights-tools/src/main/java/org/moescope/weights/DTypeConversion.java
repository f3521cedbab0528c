package org.moescope.weights;

import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;
import org.moescope.safetensors.SafetensorsWriter;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Locale;

import static org.moescope.weights.LittleEndian.F32;
import static org.moescope.weights.LittleEndian.F64;
import static org.moescope.weights.LittleEndian.I16;
import static org.moescope.weights.LittleEndian.I32;

/**
 * Element-wise dtype conversion between the floating-point formats, bit-identical to torch's {@code .to(dtype)}
 * on x86 (golden: tools/reference/make_dtype_golden.py). Narrowing rounds to nearest-even. F64 narrows through F32
 * as torch does (so it can round twice). Converting a tensor streams it through one bounded buffer.
 */
public final class DTypeConversion {
    /** Elements per chunk: 1 Mi elements, at most 4 MiB of output. */
    static final int CHUNK = 1 << 20;
    /** torch's scalar path writes this for a NaN narrowed from F16 or F64 to BF16. */
    private static final short BF16_CANONICAL_NAN = 0x7FC0;

    private DTypeConversion() {
    }

    /** The targets of {@code weights convert}: bf16, f16, f32 (torch names bfloat16, float16, float32 too). */
    public static DType parseTarget(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "fp16", "float16", "half" -> DType.F16;
            case "f32", "fp32", "float32", "float" -> DType.F32;
            default -> throw new BadInputException("--dtype " + name + ": expected bf16, f16, f32 or q8_0");
        };
    }

    public static boolean canConvert(DType from, DType to) {
        return from == to || (from.isFloatingPoint() && isTarget(to));
    }

    private static boolean isTarget(DType t) {
        return t == DType.BF16 || t == DType.F16 || t == DType.F32;
    }

    /**
     * Converts {@code count} elements starting at element {@code first} of {@code src} (dtype {@code from}) into
     * {@code dst} from byte 0 (dtype {@code to}).
     */
    public static void convert(MemorySegment src, DType from, long first, MemorySegment dst, DType to, int count) {
        if (from == to) {
            MemorySegment.copy(src, first * from.byteSize(), dst, 0, (long) count * from.byteSize());
            return;
        }
        switch (to) {
            case BF16 -> toBf16(src, from, first, dst, count);
            case F16 -> toF16(src, from, first, dst, count);
            case F32 -> toF32(src, from, first, dst, count);
            default -> throw new IllegalArgumentException("cannot convert to " + to);
        }
    }

    private static void toBf16(MemorySegment src, DType from, long first, MemorySegment dst, int n) {
        switch (from) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, 2L * i, Numbers.floatBitsToBf16(src.get(I32, 4 * (first + i))));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    float f = Numbers.f16ToFloat(src.get(I16, 2 * (first + i)));
                    dst.set(I16, 2L * i, f != f ? BF16_CANONICAL_NAN : Numbers.floatToBf16(f));
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, 2L * i, Numbers.floatToBf16(narrow(src.get(F64, 8 * (first + i)))));
                }
            }
            default -> throw unsupported(from, DType.BF16);
        }
    }

    private static void toF16(MemorySegment src, DType from, long first, MemorySegment dst, int n) {
        switch (from) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, 2L * i, Numbers.floatToF16(src.get(F32, 4 * (first + i))));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, 2L * i, Numbers.floatToF16(Numbers.bf16ToFloat(src.get(I16, 2 * (first + i)))));
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, 2L * i, Numbers.floatToF16(narrow(src.get(F64, 8 * (first + i)))));
                }
            }
            default -> throw unsupported(from, DType.F16);
        }
    }

    private static void toF32(MemorySegment src, DType from, long first, MemorySegment dst, int n) {
        switch (from) {
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I32, 4L * i, (src.get(I16, 2 * (first + i)) & 0xFFFF) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(F32, 4L * i, Numbers.f16ToFloat(src.get(I16, 2 * (first + i))));
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(F32, 4L * i, narrow(src.get(F64, 8 * (first + i))));
                }
            }
            default -> throw unsupported(from, DType.F32);
        }
    }

    /** double to float, round-to-nearest-even; a NaN keeps its sign and top payload bits and turns quiet (cvtsd2ss). */
    static float narrow(double d) {
        if (d == d) {
            return (float) d;
        }
        long bits = Double.doubleToRawLongBits(d);
        return Float.intBitsToFloat((int) (bits >>> 32) & 0x80000000 | 0x7FC00000 | (int) (bits >>> 29) & 0x7FFFFF);
    }

    private static IllegalArgumentException unsupported(DType from, DType to) {
        return new IllegalArgumentException("cannot convert " + from + " to " + to);
    }

    /**
     * A writer payload producing the whole tensor {@code src} ({@code count} elements of {@code from}) as {@code to},
     * chunk by chunk: memory use is one {@link #CHUNK}-element buffer whatever the tensor's size.
     */
    public static SafetensorsWriter.Payload payload(MemorySegment src, DType from, long count, DType to) {
        if (!canConvert(from, to)) {
            throw new IllegalArgumentException("cannot convert " + from + " to " + to);
        }
        return out -> {
            int chunk = (int) Math.min(CHUNK, Math.max(1, count));
            ByteBuffer buf = ByteBuffer.allocateDirect(chunk * to.byteSize());
            MemorySegment bufSeg = MemorySegment.ofBuffer(buf);
            for (long done = 0; done < count; done += chunk) {
                int n = (int) Math.min(chunk, count - done);
                convert(src, from, done, bufSeg, to, n);
                buf.clear().limit(n * to.byteSize());
                while (buf.hasRemaining()) {
                    out.write(buf);
                }
            }
        };
    }
}
