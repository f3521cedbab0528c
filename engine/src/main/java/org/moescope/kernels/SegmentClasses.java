package org.moescope.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Loads the JDK's MemorySegment implementation classes (one per heap array type, native, mapped) before any kernel
 * is compiled. While only the mapped segments of a model's weights are loaded, C2 compiles the kernels (and the JDK
 * code they inline) on the class-hierarchy assumption that these are the only segments there are; the first heap
 * segment the JDK makes for itself (the Vector API did, some 1.3 s into a GGUF generate's first prefill) then
 * invalidates that assumption, and every method compiled on it is thrown away: 50 methods in one pass, the block
 * decoders of the prefill tiles among them, which ran interpreted again until C2 had recompiled them
 * (docs/performance.md, "Where a one-shot job's time goes"). Loaded first, the hierarchy is never assumed to be one
 * class, and the kernels' calls are inlined behind a type check on their profile instead.
 */
final class SegmentClasses {
    private SegmentClasses() {
    }

    static void load() {
        MemorySegment.ofArray(new byte[0]);
        MemorySegment.ofArray(new char[0]);
        MemorySegment.ofArray(new short[0]);
        MemorySegment.ofArray(new int[0]);
        MemorySegment.ofArray(new float[0]);
        MemorySegment.ofArray(new long[0]);
        MemorySegment.ofArray(new double[0]);
        MemorySegment.ofAddress(0);
    }
}
