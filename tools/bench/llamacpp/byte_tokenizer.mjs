// Prints a tokenizer.json of GPT-2's byte-level BPE with only the byte symbols (no merges): the tokenizer the
// random-weight bench checkpoints lack. node-llama-cpp tokenizes while it loads a model and aborts on a GGUF without
// a vocabulary (tokenizer.ggml.model "none", which llama.cpp itself accepts), so llamacpp_compare.sh puts this file
// beside each checkpoint before `moescope weights convert --to gguf`, which writes it as tokenizer.ggml.* and pads it
// to the embedding's rows. Both engines are then fed token ids, never text.
//
// Usage: node byte_tokenizer.mjs [SYMBOLS]   SYMBOLS: how many of the 256 byte symbols (default 256; fewer for a
//        model whose vocabulary is smaller, which our own tokenizer reader then refuses, but llama.cpp loads)
const n = process.argv[2] === undefined ? 256 : Number.parseInt(process.argv[2], 10);
if (!(n >= 1 && n <= 256)) {
    process.stderr.write(`byte_tokenizer: ${process.argv[2]}: expected 1..256\n`);
    process.exit(2);
}
const vocab = {};
for (let b = 0, extra = 0; b < 256; b++) { // GPT-2's bytes_to_unicode: token id b is byte b
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    const symbol = String.fromCodePoint(printable ? b : 256 + extra++);
    if (b < n) vocab[symbol] = b;
}
const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true},
    post_processor: null,
    decoder: {type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true},
    model: {type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: []},
};
process.stdout.write(JSON.stringify(tokenizer, null, 1) + "\n");
