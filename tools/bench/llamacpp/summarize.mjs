// Summary of a tools/bench/llamacpp_compare.sh run as markdown: per (model, dtype) the medians over rounds of each
// engine, and moescope's ratio. Speed ratios are moescope / llama.cpp (> 1: moescope faster); for whole-process
// times the ratio is llama.cpp's time / moescope's (> 1: moescope faster); for memory moescope / llama.cpp (> 1:
// moescope uses more). Usage: node summarize.mjs OUT_DIR
import {readdirSync, readFileSync, existsSync} from "node:fs";
import path from "node:path";

const dir = process.argv[2];
if (!dir) {
    process.stderr.write("usage: summarize.mjs OUT_DIR\n");
    process.exit(2);
}
const files = readdirSync(dir);

function load(file) {
    const p = path.join(dir, file);
    if (!existsSync(p)) return null;
    const text = readFileSync(p, "utf8");
    const start = text.search(/[[{]/);
    if (start < 0) return null;
    try {
        return JSON.parse(text.slice(start));
    } catch {
        return null;
    }
}

/** Runs by kind ("moescope-bench", ...): key "model.dtype" -> [{json, proc, err}] over rounds. */
function runs(kind) {
    const byKey = new Map();
    for (const f of files) {
        const m = f.match(new RegExp(`^${kind}\\.(.+)\\.(\\d+)\\.json$`));
        if (!m) continue;
        const base = f.slice(0, -".json".length);
        const proc = load(base + ".proc");
        if (!proc || proc.exit !== 0) continue;
        const err = existsSync(path.join(dir, base + ".err")) ? readFileSync(path.join(dir, base + ".err"), "utf8") : "";
        if (!byKey.has(m[1])) byKey.set(m[1], []);
        byKey.get(m[1]).push({json: load(f), proc, err, round: Number(m[2])});
    }
    return byKey;
}

const median = xs => {
    const v = xs.filter(x => Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return null;
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const fmt = (x, d = 1) => x === null || x === undefined ? "-" : x.toFixed(d);
const ratio = (a, b) => a === null || b === null || b === 0 ? "-" : `**${(a / b).toFixed(2)}×**`;
const spread = xs => {
    const v = xs.filter(x => Number.isFinite(x));
    if (v.length < 2) return fmt(median(v));
    return `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`;
};
const mb = b => b === null ? "-" : (b / 1e6).toFixed(0);

const mBench = runs("moescope-bench"), lBench = runs("llamacpp-bench"), lcBench = runs("llama-bench");
const mOne = runs("moescope-oneshot"), lOne = runs("llamacpp-oneshot"), mWarm = runs("moescope-warm");
const keys = [...new Set([...mBench.keys(), ...lBench.keys(), ...mOne.keys(), ...lOne.keys(), ...mWarm.keys()])].sort();
const lines = [];
const say = s => lines.push(s);

const machine = existsSync(path.join(dir, "machine.txt")) ? readFileSync(path.join(dir, "machine.txt"), "utf8") : "";
say("```");
say(machine.trim());
const variant = [...lBench.values(), ...lOne.values()].flat().map(r => r.json?.cpu_variant).find(v => v);
if (variant) say(`llama.cpp CPU backend picked by node-llama-cpp: ggml-cpu-${variant}`);
say("```");
say("");
say("Steady state (medians over rounds, min–max in brackets; ratio = moescope / llama.cpp, > 1: moescope faster):");
say("");
say("| model | dtype | prefill tok/s moescope | llama.cpp | ratio | decode tok/s moescope | llama.cpp | ratio | llama-bench pp | ratio | llama-bench tg | ratio |");
say("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const k of keys) {
    const [model, dtype] = split(k);
    const m = mBench.get(k) ?? [], l = lBench.get(k) ?? [], b = lcBench.get(k) ?? [];
    const mp = m.map(r => r.json?.prefill_tokens_per_second), lp = l.map(r => r.json?.prefill_tokens_per_second);
    const md = m.map(r => r.json?.decode_tokens_per_second), ld = l.map(r => r.json?.decode_tokens_per_second);
    const bp = b.map(r => (r.json ?? []).find(x => x.n_prompt > 0 && x.n_gen === 0)?.avg_ts);
    const bt = b.map(r => (r.json ?? []).find(x => x.n_gen > 0 && x.n_prompt === 0)?.avg_ts);
    say(`| ${model} | ${dtype} | ${spread(mp)} | ${spread(lp)} | ${ratio(median(mp), median(lp))} | ${spread(md)} | `
        + `${spread(ld)} | ${ratio(median(md), median(ld))} | ${spread(bp)} | ${ratio(median(mp), median(bp))} | `
        + `${spread(bt)} | ${ratio(median(md), median(bt))} |`);
}
say("");
say("Whole process, one job (load, prefill of the prompt, greedy decode), and anonymous memory (peak RssAnon, MB:"
    + " heap and native memory, the mapped weights excluded). Time ratio = llama.cpp / moescope (> 1: moescope"
    + " faster); memory ratio = moescope / llama.cpp. \"warm\": the same job's command run a second time in one"
    + " JVM (tools/bench/WarmJob.java), its kernels compiled: what the job costs without the JIT's warm-up and the JVM's"
    + " start:");
say("");
say("| model | dtype | job wall s moescope | llama.cpp | ratio | moescope warm s | ratio | moescope load s | llama.cpp load s | RssAnon MB moescope job | llama.cpp job | ratio | RssAnon MB moescope bench | llama.cpp bench |");
say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const k of keys) {
    const [model, dtype] = split(k);
    const m = mOne.get(k) ?? [], l = lOne.get(k) ?? [];
    const mw = median(m.map(r => r.proc.wall_seconds)), lw = median(l.map(r => r.proc.wall_seconds));
    const mr = median(m.map(r => r.proc.peak_rss_anon_bytes)), lr = median(l.map(r => r.proc.peak_rss_anon_bytes));
    const mbr = median((mBench.get(k) ?? []).map(r => r.proc.peak_rss_anon_bytes));
    const lbr = median((lBench.get(k) ?? []).map(r => r.proc.peak_rss_anon_bytes));
    const mww = median((mWarm.get(k) ?? []).map(r => r.json?.run_seconds?.[1]));
    const ml = median((mBench.get(k) ?? []).map(r => r.json?.load_seconds));
    const ll = median((lBench.get(k) ?? []).map(r => r.json?.load_seconds));
    say(`| ${model} | ${dtype} | ${fmt(mw, 2)} | ${fmt(lw, 2)} | ${ratio(lw, mw)} | ${fmt(mww, 2)} | ${ratio(lw, mww)} | `
        + `${fmt(ml, 2)} | ${fmt(ll, 2)} | `
        + `${mb(mr)} | ${mb(lr)} | ${ratio(mr, lr)} | ${mb(mbr)} | ${mb(lbr)} |`);
}
say("");
say("Greedy tokens, the same prompt ids on the same file (one-shot jobs: the tokens of round 1; checks: CHECK_TOKENS "
    + "tokens, with llama.cpp's top-2 logit margin (log p1 - log p2) where the engines part, and its smallest before):");
say("");
say("| model | dtype | tokens equal | first difference at | llama.cpp's top-2 margin there | smallest margin before |");
say("|---|---|---|---|---|---|");
for (const k of keys) {
    const [model, dtype] = split(k);
    const m = (mOne.get(k) ?? []).find(r => r.round === 1)?.json, l = (lOne.get(k) ?? []).find(r => r.round === 1)?.json;
    if (Array.isArray(m) && l?.tokens) say(tokenRow(`${model} (one-shot)`, dtype, m, l.tokens, null));
}
const mCheck = checks("moescope-check"), lCheck = checks("llamacpp-check");
for (const [k, l] of [...lCheck.entries()].sort()) {
    const [fixture, dtype] = split(k);
    const m = mCheck.get(k);
    const name = fixture.replace(/^fixture-/, "fixture ");
    if (!l?.tokens) {
        say(`| ${name} | ${dtype} | llama.cpp failed: ${errLine("llamacpp-check." + k)} | | | |`);
    } else if (!Array.isArray(m)) {
        say(`| ${name} | ${dtype} | moescope failed: ${errLine("moescope-check." + k)} | | | |`);
    } else {
        say(tokenRow(name, dtype, m, l.tokens, l.margins));
    }
}
process.stdout.write(lines.join("\n") + "\n");

function errLine(base) {
    const p = path.join(dir, base + ".err");
    if (!existsSync(p)) return "";
    const l = readFileSync(p, "utf8").split("\n").filter(x => x.trim() && !x.startsWith("WARNING")).slice(-1)[0] ?? "";
    return l.replaceAll("|", "/").slice(0, 120);
}

function checks(kind) {
    const byKey = new Map();
    for (const f of files) {
        const m = f.match(new RegExp(`^${kind}\\.(.+)\\.json$`));
        if (m) byKey.set(m[1], load(f));
    }
    return byKey;
}

function split(k) {
    const i = k.lastIndexOf(".");
    return [k.slice(0, i), k.slice(i + 1)];
}

function tokenRow(model, dtype, ours, theirs, margins) {
    const n = Math.min(ours.length, theirs.length);
    let first = -1;
    for (let i = 0; i < n; i++) {
        if (ours[i] !== theirs[i]) {
            first = i;
            break;
        }
    }
    const equal = first < 0 ? n : first;
    const where = first < 0 ? "-" : `${first}`;
    const at = first < 0 || !margins ? "-" : margins[first].toFixed(4);
    const before = !margins || equal === 0 ? "-" : Math.min(...margins.slice(0, equal)).toFixed(4);
    return `| ${model} | ${dtype} | ${equal}/${n} | ${where} | ${at} | ${before} |`;
}
