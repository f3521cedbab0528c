// llama.cpp (through node-llama-cpp) on one GGUF file, CPU only, fed token ids (no tokenizer, so both engines see the
// same ids), printing one JSON object: the counterpart of `moescope bench --prefill-mode generate` and of
// `moescope generate --tokens` (tools/bench/llamacpp_compare.sh runs both).
//
// Usage: UV_THREADPOOL_SIZE=1 node llamacpp_bench.mjs --model FILE.gguf [options]
//   --nlc DIR            folder whose node_modules holds node-llama-cpp (default: $NODE_LLAMA_CPP_DIR, made by
//                        tools/bench/llamacpp/install.sh)
//   --threads 2          llama.cpp's threads
//   --mode bench         bench: warm-up, then steady-state prefill and decode, as `moescope bench`;
//                        generate: one job (load, prefill --prompt-ids, decode), as `moescope generate --tokens`
//   --samples 16 --sample-tokens 256   bench prefill: N prompts of L random ids, each in an empty context,
//                        logits of the last position only (what generation needs)
//   --prompt-tokens 16 --decode-tokens 512   bench decode: greedy tokens after a random prompt
//   --prompt-ids 1,2,3   generate: the prompt; --decode-tokens new tokens
//   --margins            generate: also the top-2 logit margin (log p1 - log p2) at every new token
//   --warmup 1 --seed 1
// Run it with UV_THREADPOOL_SIZE=1: node-llama-cpp evaluates on libuv's worker pool, whose default 4 threads
// compete with llama.cpp's own 2 on a 2-core machine (2-thread decode halves).
import {readFileSync} from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const t0 = performance.now();
const args = parseArgs(process.argv.slice(2));
const nlcDir = args.nlc ?? process.env.NODE_LLAMA_CPP_DIR;
if (!args.model) fail("--model FILE.gguf is required");
if (!nlcDir) fail("--nlc DIR (or NODE_LLAMA_CPP_DIR) must name the folder node-llama-cpp is installed in");
const entry = path.join(nlcDir, "node_modules", "node-llama-cpp", "dist", "index.js");
let nlc;
try {
    nlc = await import(pathToFileURL(entry).href);
} catch (e) {
    fail(`${entry}: cannot load node-llama-cpp (run tools/bench/llamacpp/install.sh): ${e.message}`);
}
const threads = int("threads", 2);
const mode = args.mode ?? "bench";
if (mode !== "bench" && mode !== "generate") fail(`--mode ${mode}: bench or generate`);

// gpu: false and gpuLayers: 0: llama.cpp's CPU backend only; build: "never": the prebuilt binaries, never a local
// compile behind our back.
const llama = await nlc.getLlama({gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error, maxThreads: threads});
let model;
try {
    model = await llama.loadModel({modelPath: args.model, gpuLayers: 0, useMmap: true});
} catch (e) {
    await new Promise(resolve => setTimeout(resolve, 200)); // llama.cpp's own reason reaches stderr through the logger
    fail(`${args.model}: llama.cpp refused the file: ${e.message}`);
}
const loadSeconds = (performance.now() - t0) / 1e3;
// The vocabulary size from the embedding's shape (ggml order: hidden, vocab); the file may carry no tokenizer.
const nVocab = Number(model.fileInfo.tensorInfo?.find(t => t.name === "token_embd.weight")?.dimensions?.[1]);

const out = {
    engine: "llama.cpp (node-llama-cpp " + readJson(path.join(nlcDir, "node_modules", "node-llama-cpp", "package.json")).version + ")",
    llama_cpp_release: readJson(path.join(nlcDir, "node_modules", "node-llama-cpp", "llama", "llama.cpp.info.json")).tag,
    model: args.model,
    threads,
    build_type: llama.buildType,
    cpu_variant: cpuVariant(),
    system_info: llama.systemInfo,
    load_seconds: loadSeconds,
};

if (mode === "bench") {
    const samples = int("samples", 16), sampleTokens = int("sample-tokens", 256);
    const promptTokens = int("prompt-tokens", 16), decodeTokens = int("decode-tokens", 512);
    const warmup = int("warmup", 1);
    const rnd = splitMix(BigInt(int("seed", 1)));
    const V = nVocab;
    const prompts = Array.from({length: samples}, () => Array.from({length: sampleTokens}, () => rnd(V)));
    const prompt = Array.from({length: promptTokens}, () => rnd(V));
    const context = await model.createContext({contextSize: Math.max(sampleTokens, promptTokens + decodeTokens) + 16,
        batchSize: Math.max(sampleTokens, 512), threads, sequences: 1});
    const seq = context.getSequence();
    for (let w = 0; w < warmup; w++) {
        await prefill(seq, prompts[0]);
        await decode(seq, prompt, Math.min(decodeTokens, 64));
    }
    let prefillSeconds = 0;
    for (const p of prompts) {
        const s = performance.now();
        await prefill(seq, p);
        prefillSeconds += (performance.now() - s) / 1e3;
    }
    out.prefill_tokens = samples * sampleTokens;
    out.prefill_seconds = prefillSeconds;
    out.prefill_tokens_per_second = out.prefill_tokens / prefillSeconds;
    const d = await decode(seq, prompt, decodeTokens);
    out.time_to_first_token_seconds = d.firstSeconds;
    out.decode_tokens = d.tokens.length - 1;
    out.decode_tokens_per_second = out.decode_tokens / d.decodeSeconds;
    out.decode_token_ids = d.tokens;
} else {
    if (!args["prompt-ids"]) fail("--mode generate needs --prompt-ids");
    const prompt = args["prompt-ids"].split(",").map(s => Number.parseInt(s, 10));
    if (prompt.some(x => !Number.isInteger(x) || x < 0)) fail(`--prompt-ids: comma-separated token ids`);
    const decodeTokens = int("decode-tokens", 32);
    const context = await model.createContext({contextSize: prompt.length + decodeTokens + 16,
        batchSize: Math.max(prompt.length, 512), threads, sequences: 1});
    const seq = context.getSequence();
    const d = args.margins !== undefined ? await decodeWithMargins(seq, prompt, decodeTokens)
        : await decode(seq, prompt, decodeTokens);
    out.time_to_first_token_seconds = d.firstSeconds;
    out.decode_tokens = d.tokens.length - 1;
    out.decode_tokens_per_second = out.decode_tokens / d.decodeSeconds;
    out.tokens = d.tokens;
    if (d.margins) out.margins = d.margins;
}
out.rss_anon_bytes = procStatus("RssAnon");
out.peak_rss_bytes = procStatus("VmHWM");
out.process_seconds = (performance.now() - t0) / 1e3;
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
await model.dispose();
await llama.dispose();

/** One prompt in an empty context; only its last position gets logits (and a greedy token), as generation needs. */
async function prefill(seq, tokens) {
    await seq.clearHistory();
    const input = tokens.map((t, i) => i < tokens.length - 1 ? t : [t, {generateNext: {token: true}}]);
    const res = await seq.controlledEvaluate(input, {});
    return res[tokens.length - 1].next.token;
}

/** Greedy decode of n tokens after prompt (an empty context first): the first token's time and the rest's. */
async function decode(seq, prompt, n) {
    await seq.clearHistory();
    const tokens = [];
    const s = performance.now();
    let first = 0;
    for await (const t of seq.evaluate(prompt, {temperature: 0})) {
        if (tokens.length === 0) first = performance.now();
        tokens.push(t);
        if (tokens.length === n) break;
    }
    const e = performance.now();
    return {tokens, firstSeconds: (first - s) / 1e3, decodeSeconds: (e - first) / 1e3};
}

/** As decode, one token per call, with the whole distribution: the top-2 logit margin of each greedy choice. */
async function decodeWithMargins(seq, prompt, n) {
    await seq.clearHistory();
    const tokens = [], margins = [];
    const s = performance.now();
    let first = 0;
    let input = prompt;
    while (tokens.length < n) {
        const last = input.length - 1;
        const res = await seq.controlledEvaluate(input.map((t, i) => i < last ? t
            : [t, {generateNext: {token: true, probabilities: true, options: {temperature: 0}}}]), {});
        const next = res[last].next;
        let p1 = -1, p2 = -1;
        for (const p of next.probabilities.values()) {
            if (p > p1) { p2 = p1; p1 = p; } else if (p > p2) p2 = p;
        }
        margins.push(Math.log(p1) - Math.log(p2));
        if (tokens.length === 0) first = performance.now();
        tokens.push(next.token);
        input = [next.token];
    }
    const e = performance.now();
    return {tokens, margins, firstSeconds: (first - s) / 1e3, decodeSeconds: (e - first) / 1e3};
}

/** Which of ggml's CPU backend builds the loader picked for this CPU: the libggml-cpu-*.so mapped into us. */
function cpuVariant() {
    const maps = readFileSync("/proc/self/maps", "utf8");
    const found = new Set([...maps.matchAll(/libggml-cpu-?([A-Za-z0-9_]*)\.so/g)].map(m => m[1] || "default"));
    return [...found].join(",") || "unknown";
}

function procStatus(key) {
    const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : -1;
}

/** SplitMix64: the prompts' random ids (not Java's SplittableRandom stream; speed does not depend on which ids). */
function splitMix(seed) {
    let x = seed;
    const mask = (1n << 64n) - 1n;
    return bound => {
        x = (x + 0x9e3779b97f4a7c15n) & mask;
        let z = x;
        z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
        z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
        z = z ^ (z >> 31n);
        return Number(z % BigInt(bound));
    };
}

function readJson(file) {
    return JSON.parse(readFileSync(file, "utf8"));
}

function parseArgs(argv) {
    const a = {};
    for (let i = 0; i < argv.length; i++) {
        if (!argv[i].startsWith("--")) fail(`unexpected argument ${argv[i]}`);
        const key = argv[i].slice(2);
        if (key === "margins") a[key] = true;
        else if (i + 1 < argv.length) a[key] = argv[++i];
        else fail(`${argv[i]} needs a value`);
    }
    return a;
}

function int(key, dflt) {
    if (args[key] === undefined) return dflt;
    const v = Number.parseInt(args[key], 10);
    if (!Number.isInteger(v) || v < 0 || String(v) !== args[key]) fail(`--${key} ${args[key]}: a non-negative integer`);
    return v;
}

function fail(message) {
    process.stderr.write(`llamacpp_bench: ${message}\n`);
    process.exit(2);
}
