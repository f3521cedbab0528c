package org.moescope.safetensors;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The committed corpus of broken checkpoints under src/test/resources/hostile/ and what each must be rejected for.
 * HostileCorpusTest fails when the committed files differ from what this class generates; after changing it,
 * regenerate the corpus with
 * <pre>./mvnw -q -o -pl weights-tools test -Dtest=HostileCorpusTest -Dhostile.regenerate=true</pre>
 *
 * <p>Files named {@code *.safetensors} are single broken files; every command gets them inside a checkpoint
 * directory with a valid tiny config.json ({@link #TINY_CONFIG}) as model.safetensors. Directories under
 * {@code dirs/} are whole broken checkpoints. {@code expected.tsv} maps each case to a fragment its one-line error
 * must contain.
 */
public final class HostileCorpus {
    /** A valid OLMoE config.json for 1 layer, hidden 8, 2 experts: small enough for every command to run. */
    public static final String TINY_CONFIG = """
            {
              "model_type": "olmoe",
              "vocab_size": 16,
              "hidden_size": 8,
              "intermediate_size": 4,
              "num_hidden_layers": 1,
              "num_attention_heads": 2,
              "num_key_value_heads": 2,
              "num_experts": 2,
              "num_experts_per_tok": 1,
              "max_position_embeddings": 32,
              "torch_dtype": "float32"
            }
            """;

    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final Map<String, String> expected = new LinkedHashMap<>();

    private HostileCorpus() {
    }

    /** Relative path -> bytes, including expected.tsv. */
    public static Map<String, byte[]> files() {
        HostileCorpus c = new HostileCorpus();
        c.build();
        StringBuilder tsv = new StringBuilder("# case\tfragment of the one-line error every command must print\n");
        c.expected.forEach((k, v) -> tsv.append(k).append('\t').append(v).append('\n'));
        c.files.put("expected.tsv", tsv.toString().getBytes(StandardCharsets.UTF_8));
        return c.files;
    }

    private void file(String name, byte[] bytes, String expectedFragment) {
        files.put(name + ".safetensors", bytes);
        expected.put(name + ".safetensors", expectedFragment);
    }

    private void dir(String name, Map<String, byte[]> content, String expectedFragment) {
        content.forEach((file, bytes) -> files.put("dirs/" + name + "/" + file, bytes));
        expected.put("dirs/" + name, expectedFragment);
    }

    private static final String T = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private void build() {
        file("empty", new byte[0], "need at least 8");
        file("too-short", new byte[] {1, 2, 3, 4, 5}, "need at least 8");
        file("header-length-past-end", withLength(100, "{}".getBytes(StandardCharsets.UTF_8)), "runs past the end");
        file("header-length-over-cap", withLength(200L << 20, "{}".getBytes(StandardCharsets.UTF_8)), "outside [2,");
        file("header-length-negative", withLength(-1, "{}".getBytes(StandardCharsets.UTF_8)), "outside [2,");
        file("header-length-zero", withLength(0, new byte[0]), "outside [2,");
        file("header-not-json", st("this is not json at all", 0), "not valid JSON");
        file("header-not-utf8", concat(le(8), new byte[] {'{', '"', (byte) 0xFF, (byte) 0xFE, '"', ':', '1', '}'}),
                "not valid UTF-8");
        file("header-json-array", st("[1,2,3]", 0), "not a JSON object");
        file("header-json-trailing", st("{} {}", 0), "not valid JSON");
        file("header-nested-million", st("[".repeat(1_000_000), 0), "not valid JSON");
        file("entry-nested-deep", st("{\"t\":{\"dtype\":\"F32\",\"shape\":" + "[".repeat(100_000) + "}}", 0),
                "not valid JSON");
        file("truncated-data", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
                "reach past the data section");
        file("unknown-dtype", st("{\"t\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "unknown dtype \"F33\"");
        file("dtype-not-string", st("{\"t\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "non-string dtype");
        file("negative-offset", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4),
                "not a non-negative integer");
        file("reversed-offsets", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8),
                "begin after end");
        file("huge-offset", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,100000000000000000000000]}}", 4),
                "not a non-negative integer");
        file("out-of-range-offsets", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1000,1008]}}", 8),
                "reach past the data section");
        file("overlapping-offsets", st("{\"a\":" + T + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
                "overlaps tensor");
        file("gapped-offsets", st("{\"a\":" + T + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20),
                "gap of 4 bytes");
        file("trailing-bytes", st("{\"a\":" + T + "}", 16), "bytes after the last tensor");
        file("shape-dtype-mismatch", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                "needs 12 bytes");
        file("shape-overflow", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", 8),
                "overflows");
        file("negative-shape", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
                "not a non-negative integer");
        file("fractional-shape", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8),
                "not a non-negative integer");
        file("duplicate-names", st("{\"a\":" + T + ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16),
                "Duplicate field 'a'");
        file("missing-offsets", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "data_offsets must be");
        file("unexpected-field", st("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8),
                "unexpected field");
        file("metadata-not-strings", st("{\"__metadata__\":{\"format\":1},\"a\":" + T + "}", 8), "is not a string");

        byte[] config = TINY_CONFIG.getBytes(StandardCharsets.UTF_8);
        byte[] shard1 = st("{\"__metadata__\":{\"format\":\"pt\"},\"a\":" + T + "}", 8);
        dir("index-missing-shard", Map.of("config.json", config,
                "model-00001-of-00002.safetensors", shard1,
                "model.safetensors.index.json", json("{\"metadata\":{\"total_size\":16},\"weight_map\":{"
                        + "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}")),
                "does not exist");
        dir("index-not-json", Map.of("config.json", config, "model-00001-of-00001.safetensors", shard1,
                "model.safetensors.index.json", json("{\"weight_map\": {")), "not valid JSON");
        dir("index-escapes-directory", Map.of("config.json", config,
                "model.safetensors.index.json", json("{\"weight_map\":{\"a\":\"../hostile-outside.safetensors\"}}")),
                "leaves the checkpoint directory");
        dir("index-weight-map-missing", Map.of("config.json", config, "model-00001-of-00001.safetensors", shard1,
                "model.safetensors.index.json", json("{\"metadata\":{}}")), "missing \"weight_map\"");
        dir("index-names-absent-tensor", Map.of("config.json", config, "model-00001-of-00001.safetensors", shard1,
                "model.safetensors.index.json", json("{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\","
                        + "\"zzz\":\"model-00001-of-00001.safetensors\"}}")), "is not in shard");
        dir("shard-tensor-not-in-index", Map.of("config.json", config, "model-00001-of-00001.safetensors",
                st("{\"a\":" + T + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16),
                "model.safetensors.index.json", json("{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\"}}")),
                "missing from weight_map");
        dir("index-shard-is-broken", Map.of("config.json", config, "model-00001-of-00001.safetensors",
                st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
                "model.safetensors.index.json", json("{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\"}}")),
                "reach past the data section");
        dir("config-not-json", Map.of("config.json", json("model_type: olmoe"), "model.safetensors", shard1),
                "not valid JSON");
        dir("config-nested-deep", Map.of("config.json", json("[".repeat(100_000)), "model.safetensors", shard1),
                "config.json");
        dir("config-missing", Map.of("model.safetensors", shard1), "config.json: no such file");
        dir("no-weights", Map.of("config.json", config), "no model.safetensors");
    }

    /** A safetensors file: header text and {@code dataBytes} bytes of data (a counting pattern). */
    static byte[] st(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] data = new byte[dataBytes];
        for (int i = 0; i < dataBytes; i++) data[i] = (byte) (i * 37 + 1);
        return concat(le(h.length), h, data);
    }

    private static byte[] withLength(long length, byte[] rest) {
        return concat(le(length), rest);
    }

    private static byte[] le(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** Writes the corpus under {@code args[0]} (default src/test/resources/hostile). */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "src/test/resources/hostile");
        for (Map.Entry<String, byte[]> e : files().entrySet()) {
            Path p = root.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
        System.out.println("wrote " + files().size() + " files under " + root);
    }
}
