#!/usr/bin/env bash
# Installs llama.cpp for tools/bench/llamacpp_compare.sh into a cache folder outside the repository (never
# committed): node-llama-cpp (npm; its prebuilt CPU backends for several x86 generations) and, with --llama-bench,
# llama.cpp's own llama-bench built from the llama.cpp source node-llama-cpp ships (its git bundle), -march=native.
# Idempotent: what is already there is kept; concurrent runs wait for each other (flock on the folder).
#
# Usage: tools/bench/llamacpp/install.sh [--llama-bench]
#   env: MOESCOPE_CACHE=~/.cache/moescope      the cache root
#        LLAMACPP_DIR=$MOESCOPE_CACHE/llamacpp  the folder (node_modules/node-llama-cpp, llama.cpp/, bin/llama-bench)
#        NODE_LLAMA_CPP_VERSION=3.22.1
#        BUILD_JOBS=2                           parallel compile jobs for llama-bench (it takes minutes)
# Prints the folder on stdout; progress goes to stderr.
set -euo pipefail
version="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
dir="${LLAMACPP_DIR:-${MOESCOPE_CACHE:-$HOME/.cache/moescope}/llamacpp}"
bench=0
for arg in "$@"; do
  case "$arg" in
    --llama-bench) bench=1;;
    *) echo "install.sh: unknown argument $arg (usage: install.sh [--llama-bench])" >&2; exit 2;;
  esac
done
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "install.sh: $tool is not on PATH (Node.js 20 or newer)" >&2; exit 1; }
done
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

nlc="$dir/node_modules/node-llama-cpp/package.json"
installed="$(node -p "try { require('$nlc').version } catch { '' }" 2>/dev/null || true)"
if [[ "$installed" != "$version" ]]; then
  echo "install.sh: npm install node-llama-cpp@$version into $dir" >&2
  [[ -f "$dir/package.json" ]] || echo '{"private": true}' > "$dir/package.json"
  # Only this platform's CPU binaries: --omit=optional leaves out the CUDA/Vulkan/other-OS packages (≈ 600 MB) that
  # node-llama-cpp lists as optional, and the platform package is asked for by name. No install scripts: the
  # prebuilt binaries are used as they are (llamacpp_bench.mjs loads them with build: "never").
  platform="$(node -p 'process.platform + "-" + process.arch')"
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --omit=optional --save-exact \
    "node-llama-cpp@$version" "@node-llama-cpp/$platform@$version") >&2
fi

if [[ "$bench" == 1 && ! -x "$dir/bin/llama-bench" ]]; then
  for tool in git cmake c++; do
    command -v "$tool" >/dev/null || { echo "install.sh: --llama-bench needs $tool" >&2; exit 1; }
  done
  src="$dir/llama.cpp"
  if [[ ! -d "$src/.git" ]]; then
    rm -rf "$src"
    git clone -q "$dir/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$src" >&2
  fi
  echo "install.sh: building llama-bench ($(git -C "$src" rev-parse --short HEAD), GGML_NATIVE=ON, ${BUILD_JOBS:-2} jobs)" >&2
  cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >&2
  cmake --build "$src/build" --target llama-bench -j "${BUILD_JOBS:-2}" >&2
  mkdir -p "$dir/bin"
  cp "$src/build/bin/llama-bench" "$dir/bin/llama-bench.tmp" && mv "$dir/bin/llama-bench.tmp" "$dir/bin/llama-bench"
fi
echo "$dir"
