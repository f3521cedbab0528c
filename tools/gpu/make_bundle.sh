#!/usr/bin/env bash
# Packs what tools/gpu/device_check.sh needs on a GPU machine that has no JDK into .gpu-bundle/bundle.tar.xz
# (ignored by git, never committed): a jlink'd JDK 25, the TornadoVM SDKs given (only the jars their runtime loads),
# moescope's jars, and the OpenCL ICD loader. Jars are re-stored uncompressed so that xz compresses the classes.
#
# Usage: tools/gpu/make_bundle.sh SDK_DIR...   (TornadoVM SDKs the user built or downloaded, each with a
#        tornado-argfile; e.g. one OpenCL and one PTX build). Builds the jars first:
#        ./mvnw -Ptornado -DskipTests -pl cli,tornado -am package
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/java-home.sh"
(( $# > 0 )) || { echo "usage: make_bundle.sh TORNADOVM_SDK_DIR..." >&2; exit 2; }
out="$root/.gpu-bundle"
work="$(mktemp -d -t moescope-bundle-XXXXXX)"
trap 'rm -rf "$work"' EXIT
stage="$work/bundle"
mkdir -p "$stage/app" "$stage/ocl" "$out"

# Jars with every entry stored, same order and names (module-info and manifests untouched).
restore() {
  python3 - "$1" "$2" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        with zin.open(info) as f:
            f._expected_crc = None  # the shade plugin writes some manifests with a CRC Java ignores
            data = f.read()
        info.compress_type = zipfile.ZIP_STORED
        zout.writestr(info, data)
PY
}

restore "$root/cli/target/moescope.jar" "$stage/app/moescope.jar"
restore "$root/tornado/target/backend-tornado.jar" "$stage/app/backend-tornado.jar"

# Modules: TornadoVM's (JVMCI, management, logging, unsupported; the PTX driver requires java.desktop) and
# moescope's (Vector API).
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.desktop,java.logging,java.management,jdk.management,jdk.unsupported,jdk.internal.vm.ci,jdk.incubator.vector \
  --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$stage/jdk"

for sdk in "$@"; do
  sdk="$(cd "$sdk" && pwd)"
  backends="$(sed -n 's/^tornado.backends=//p' "$sdk/etc/tornado.backend" | sed 's/-backend//g; s/,/-/g')"
  d="$stage/sdk-$backends"
  mkdir -p "$d/share/java/tornado" "$stage/graalJars"
  ln -s ../../../graalJars "$d/share/java/graalJars" # one copy of Graal for every SDK
  cp -r "$sdk/etc" "$sdk/lib" "$d/"
  # The runtime's module graph: tornado.{api,runtime,annotation,drivers.common,drivers.<backend>} and what they require.
  for j in "$sdk"/share/java/tornado/{tornado-api,tornado-runtime,tornado-annotation,tornado-drivers-common,tornado-drivers-opencl,tornado-drivers-ptx,asm,commons-math3,snmp4j,collections,word}-[0-9]*.jar; do
    [[ -f "$j" ]] && restore "$j" "$d/share/java/tornado/$(basename "$j")"
  done
  for j in "$sdk"/share/java/graalJars/{compiler,collections,word,truffle-compiler}-[0-9]*.jar; do
    [[ -f "$stage/graalJars/$(basename "$j")" ]] || restore "$j" "$stage/graalJars/$(basename "$j")"
  done
  sed "s#$sdk#@SDK@#g" "$sdk/tornado-argfile" > "$d/tornado-argfile.template"
done
cp -L /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 "$stage/ocl/"
tar -C "$work" -cf - bundle | xz -T2 -9 > "$out/bundle.tar.xz.tmp"
mv "$out/bundle.tar.xz.tmp" "$out/bundle.tar.xz"
ls -la "$out/bundle.tar.xz" >&2
