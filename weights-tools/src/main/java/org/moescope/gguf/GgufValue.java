package org.moescope.gguf;

import java.util.List;

/**
 * One metadata value of a GGUF file, as typed as the file stores it. {@code value} is a Long for the eight integer
 * types (u64 values above Long.MAX_VALUE keep their bits), a Float, a Double, a Boolean, a String, or for an array a
 * {@code List} of such objects (a nested array's elements are GgufValues) with {@code elementType} set.
 */
public record GgufValue(Type type, Type elementType, Object value) {

    /** GGUF's value types, numbered as the format numbers them. */
    public enum Type {
        UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(8), ARRAY(12),
        UINT64(8), INT64(8), FLOAT64(8);

        /** Fewest bytes one value of the type takes in a file (a string: its length; an array: type and count). */
        final int minBytes;

        Type(int minBytes) {
            this.minBytes = minBytes;
        }

        public boolean isInteger() {
            return switch (this) {
                case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
                default -> false;
            };
        }

        static Type byId(long id) {
            return id >= 0 && id < values().length ? values()[(int) id] : null;
        }
    }

    public static GgufValue of(String s) {
        return new GgufValue(Type.STRING, null, s);
    }

    public static GgufValue u32(long v) {
        return new GgufValue(Type.UINT32, null, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(Type.FLOAT32, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(Type.BOOL, null, v);
    }

    public static GgufValue array(Type elementType, List<?> values) {
        return new GgufValue(Type.ARRAY, elementType, List.copyOf(values));
    }

    @Override
    public String toString() {
        if (type == Type.ARRAY) {
            List<?> l = (List<?>) value;
            return "[" + elementType + " x " + l.size() + "]";
        }
        return String.valueOf(value);
    }
}
