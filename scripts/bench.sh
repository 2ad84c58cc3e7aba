#!/usr/bin/env bash
# The performance bench (docs/performance.md): builds the server and the load generator in
# release mode, pins the server to one core and the load to the other, seeds the databases,
# runs every scenario and writes the results between the bench markers of docs/performance.md.
#
#   scripts/bench.sh                          # everything (about 15 minutes on 2 cores)
#   scripts/bench.sh --only sqlite --duration 3   # options go to `loadgen bench`
#   scripts/bench.sh --only services --duration 3 # Introspect and ext_authz Check (issue #14)
#   scripts/bench.sh --only web --duration 3      # GetProfile over REST and gRPC-Web (issue #12)
#   scripts/bench.sh --only peer --duration 3     # beside better-auth (issue #13; needs node)
#
# Environment:
#   BENCH_PG_URL     PostgreSQL URL whose user may create databases
#                    (default postgres://postgres@127.0.0.1:5432/postgres; "none" skips it)
#   BENCH_DIR        scratch folder for databases and logs (default /tmp/phone-auth-bench)
#   MEMORY_ENTRIES   sessions and pending codes for the memory row (default 1000000)
#   BENCH_PROFILE=1  also record a perf profile of the server in every peak run
#                    (BENCH_DIR/perf/*.txt)
#   BENCH_SERVER_ENV extra server settings, e.g. "DB_MAX_CONNECTIONS=4"
#   BENCH_SERVER_BIN another server binary to measure (e.g. a build with a proposed change)
#   CARGO_TARGET_DIR as for cargo (default ./target)
#   BENCH_PEER_DIR   the peer's harness (default ../shared/peers/better-auth); its section runs
#                    where it and `node` are present and says why not elsewhere
# Only 127.0.0.1 is called; every run is bounded in time and calls. Nothing is asserted: the
# table reports, the test suite (`cargo test`) has no timed assertions.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${BENCH_DIR:-/tmp/phone-auth-bench}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
MEMORY_ENTRIES="${MEMORY_ENTRIES:-1000000}"
TARGET="${CARGO_TARGET_DIR:-target}"
# Absolute: the server runs with BENCH_DIR as its working directory.
case "$TARGET" in /*) ;; *) TARGET="$PWD/$TARGET" ;; esac
mkdir -p "$DIR"

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  echo "bench: installing $* from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

have taskset || apt_install util-linux
if [ "$(nproc)" -lt 2 ]; then
  echo "bench: needs 2 cores (server on one, load on the other); nproc says $(nproc)" >&2
  exit 1
fi

# PostgreSQL: use the one running, else start (or install and start) the local cluster.
PG_ARGS=()
if [ "$PG_URL" != none ]; then
  pg_up() { psql "$PG_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; }
  have psql || apt_install postgresql postgresql-client
  if ! pg_up && [ -d /etc/postgresql ]; then
    echo "bench: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_up && [ -z "${BENCH_PG_URL:-}" ] && have runuser; then
    # A fresh Debian cluster asks TCP clients for a password: give the postgres role one.
    runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'bench'" >/dev/null 2>&1 || true
    PG_URL="postgres://postgres:bench@127.0.0.1:5432/postgres"
  fi
  if pg_up; then
    PG_ARGS=(--pg-url "$PG_URL")
  else
    echo "bench: PostgreSQL unreachable at $PG_URL: its rows are skipped" >&2
  fi
fi

PEER_ARGS=()
PEER_DIR="${BENCH_PEER_DIR:-$PWD/../shared/peers/better-auth}"
if [ -f "$PEER_DIR/bench.sh" ]; then
  PEER_ARGS=(--peer-dir "$(cd "$PEER_DIR" && pwd)")
  have node || echo "bench: node is not installed: the peer section will say it was skipped" >&2
else
  echo "bench: no peer harness at $PEER_DIR: the peer section is skipped" >&2
fi

PERF_ARGS=()
if [ "${BENCH_PROFILE:-0}" = 1 ]; then
  have perf || apt_install linux-perf
  mkdir -p "$DIR/perf"
  PERF_ARGS=(--perf-dir "$DIR/perf")
fi

echo "bench: building (release)"
cargo build --release --bin phone-auth --example loadgen

echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The server goes to core 0 (the loadgen starts it through taskset), the load to core 1.
taskset -c 1 "$TARGET/release/examples/loadgen" bench \
  --server-bin "${BENCH_SERVER_BIN:-$TARGET/release/phone-auth}" --server-cpu 0 --load-cpu 1 \
  --dir "$DIR" --out "$DIR/results.md" --memory-entries "$MEMORY_ENTRIES" \
  ${PG_ARGS[@]+"${PG_ARGS[@]}"} ${PERF_ARGS[@]+"${PERF_ARGS[@]}"} \
  ${PEER_ARGS[@]+"${PEER_ARGS[@]}"} "$@"

if [ "${BENCH_PROFILE:-0}" = 1 ]; then
  for data in "$DIR"/perf/*.data; do
    perf report -i "$data" --no-children --sort symbol --percent-limit 1 --stdio 2>/dev/null \
      | grep -v '^$' >"${data%.data}.txt" || true
  done
  echo "bench: profiles in $DIR/perf/*.txt"
fi

# Put the table between the markers of docs/performance.md (appended if they are missing).
# `--only services` has markers of its own (bench-services), so that a run of those rows alone
# leaves the full table in place.
DOC=docs/performance.md
MARK=bench
previous=
for arg in "$@"; do
  if [ "$previous" = --only ] && [ "$arg" = services ]; then MARK=bench-services; fi
  if [ "$previous" = --only ] && [ "$arg" = web ]; then MARK=bench-web; fi
  if [ "$previous" = --only ] && [ "$arg" = peer ]; then MARK=bench-peer; fi
  previous=$arg
done
BEGIN="<!-- $MARK:begin (written by scripts/bench.sh; edits inside are overwritten) -->"
END="<!-- $MARK:end -->"
if ! grep -qF "<!-- $MARK:begin" "$DOC" 2>/dev/null; then
  printf '\n## Results\n\n%s\n%s\n' "$BEGIN" "$END" >>"$DOC"
fi
awk -v results="$DIR/results.md" -v begin="$BEGIN" -v mark="<!-- $MARK:" '
  index($0, mark "begin") == 1 { print begin; while ((getline line < results) > 0) print line; skip = 1; next }
  index($0, mark "end") == 1   { skip = 0 }
  !skip                        { print }
' "$DOC" >"$DOC.tmp"
mv "$DOC.tmp" "$DOC"
echo "bench: results written to $DOC (raw logs in $DIR)"
