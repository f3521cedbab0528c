#!/usr/bin/env bash
# A Spark standalone cluster on this machine from the Spark jars Maven resolved for the spark module (no Spark
# distribution needed): one master and N workers, each a plain JVM started from Spark's main classes, as
# sbin/start-master.sh and sbin/start-worker.sh would. Workers start executors through SPARK_HOME/jars, so a
# SPARK_HOME of links to those jars is made first. See docs/scale-out.md.
#
#   tools/spark/local-cluster.sh start [WORKERS] [CORES_PER_WORKER] [MEMORY_PER_WORKER]   (default 2 1 3g)
#   tools/spark/local-cluster.sh stop
# Needs `./mvnw -pl spark -am package` first (spark/target/spark-classpath.txt, spark-jvm.args).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/java-home.sh"
state="${MOESCOPE_SPARK_CLUSTER:-${TMPDIR:-/tmp}/moescope-spark-cluster}"
cp_file="$root/spark/target/spark-classpath.txt"
args_file="$root/spark/target/spark-jvm.args"
case "${1:-}" in
  start)
    workers="${2:-2}" cores="${3:-1}" memory="${4:-3g}"
    [[ -f "$cp_file" && -f "$args_file" ]] || { echo "build the spark module first: ./mvnw -pl spark -am package" >&2; exit 2; }
    mkdir -p "$state/spark-home/jars" "$state/logs"
    for j in $(tr ':' ' ' < "$cp_file"); do ln -sf "$j" "$state/spark-home/jars/"; done
    echo "Spark jars from Maven Central" > "$state/spark-home/RELEASE"
    export SPARK_HOME="$state/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
    cp="$(cat "$cp_file")"
    java @"$args_file" -Xmx512m -cp "$cp" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port 7077 --webui-port 8080 > "$state/logs/master.log" 2>&1 &
    echo $! > "$state/master.pid"
    sleep 3
    for i in $(seq 1 "$workers"); do
      mkdir -p "$state/work-$i"
      java @"$args_file" -Xmx512m -cp "$cp" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
        --cores "$cores" --memory "$memory" --work-dir "$state/work-$i" --webui-port $((8080 + i)) \
        spark://127.0.0.1:7077 > "$state/logs/worker-$i.log" 2>&1 &
      echo $! > "$state/worker-$i.pid"
    done
    sleep 3
    echo "master spark://127.0.0.1:7077 (UI http://127.0.0.1:8080), $workers worker(s) x $cores core(s), $memory; logs in $state/logs"
    ;;
  stop)
    for p in "$state"/*.pid; do
      [[ -f "$p" ]] || continue
      kill "$(cat "$p")" 2>/dev/null || true
      rm -f "$p"
    done
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
