package org.moescope.explore;

import org.moescope.pathways.Pathway;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The per-sample detail of the explorer, one binary record per chosen sample, decoded by the page only when the sample
 * is shown (explorer.js, {@code decodeRecord}). Little-endian:
 * <pre>
 * u32 sample index, u32 n (tokens), i32 ids[n]
 * per checkpoint: f32 loss
 *                 ids of the top-k experts [n, L, k]       (u8 when E ≤ 256, else u16: "w" bytes)
 *                 their weights [n, L, k] as u8             (round(255 · weight), clamped to [0, 1])
 *                 pathway: per layer, (kept − 1) then the kept ids in rank order (w bytes each)
 * zero bytes up to a multiple of 3
 * </pre>
 * The padding makes every record start on a base64 quantum, so the page can decode one record from its slice of the
 * embedded base64 text without touching the rest.
 */
final class DetailRecords {
    private DetailRecords() {
    }

    /** Bytes per expert id: one while ids fit in a byte. */
    static int idBytes(int experts) {
        return experts <= 256 ? 1 : 2;
    }

    /** Size of one sample's record before padding. */
    static long unpadded(int tokens, int layers, int topK, int experts, long[] keptPerCheckpoint) {
        int w = idBytes(experts);
        long size = 8 + 4L * tokens;
        for (long kept : keptPerCheckpoint) {
            size += 4 + (long) tokens * layers * topK * (w + 1) + (long) w * (layers + kept);
        }
        return size;
    }

    static long padded(long unpadded) {
        return (unpadded + 2) / 3 * 3;
    }

    /** Writes the header and ids of a record at the buffer's position. */
    static void header(ByteBuffer b, int sample, int[] ids) {
        b.order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(sample).putInt(ids.length);
        for (int id : ids) b.putInt(id);
    }

    /** Writes one checkpoint's part of a record at the buffer's position. */
    static void checkpoint(ByteBuffer b, int experts, float loss, int[] topkIds, float[] topkWeights, Pathway pathway) {
        b.order(ByteOrder.LITTLE_ENDIAN);
        int w = idBytes(experts);
        b.putFloat(loss);
        for (int id : topkIds) putId(b, w, id);
        for (float x : topkWeights) {
            float c = Float.isNaN(x) ? 0f : Math.max(0f, Math.min(1f, x));
            b.put((byte) Math.round(c * 255f));
        }
        for (int l = 0; l < pathway.layers(); l++) {
            int[] kept = pathway.layer(l);
            putId(b, w, kept.length - 1);
            for (int id : kept) putId(b, w, id);
        }
    }

    private static void putId(ByteBuffer b, int w, int v) {
        if (w == 1) b.put((byte) v);
        else b.putShort((short) v);
    }
}
