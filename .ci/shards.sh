#!/usr/bin/env bash
# Many machines, one server: shards of the fixtures suite run at once against one server,
# each in a PID namespace of its own (what separate CI machines or containers look like:
# they share pids, and no one sees the others' processes), sharing one temporary directory.
#
#   .ci/shards.sh postgres|mysql
#
# The server must not be in use by another test run meanwhile (the checks count every test
# database on it). SHARDS_POSTGRES_URL / SHARDS_MYSQL_URL name another server than .ci/run's.
# With SHARDS_FRESH_TEMPLATES=1 the script first drops every template (`dftpl_*`) on the
# server, so that the first round's shards build the same templates at once.
#
# 1. ROUNDS rounds of SHARDS shards at once: every shard passes; afterwards no test database,
#    no temporary directory and no lease file is left.
# 2. A shard killed with SIGKILL mid-run while the others run: the others pass; then a next
#    run from a new namespace drops exactly the databases the killed shard left, and leaves
#    nothing behind.
#
# Needs root (unshare), psql / mysql, and the servers of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dataflow-ci/target}"
SHARDS=${SHARDS:-3}
ROUNDS=${ROUNDS:-3}

case "${1:-}" in
    postgres)
        var=DATAFLOW_TEST_POSTGRES_URL unset_var=DATAFLOW_TEST_MYSQL_URL
        url=${SHARDS_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
        # Test databases of the token scheme: dftest_<13 base36 characters>_...
        drop_templates() {
            for db in $(psql "$url" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'dftpl\_%'"); do
                psql "$url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
            done
        }
        databases() { psql "$url" -tAc \
            "SELECT datname FROM pg_database WHERE datname ~ '^dftest_[0-9a-z]{13}_' ORDER BY 1"; }
        # Statements of other sessions still running (a killed client's CREATE or DROP
        # DATABASE runs to its end on the server).
        busy() { psql "$url" -tAc \
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'
             AND state <> 'idle' AND pid <> pg_backend_pid()"; }
        ;;
    mysql)
        var=DATAFLOW_TEST_MYSQL_URL unset_var=DATAFLOW_TEST_POSTGRES_URL
        url=${SHARDS_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
        [[ $url =~ ^mysql://([^@:/]+)@([^:/]+)(:([0-9]+))?/ ]] || { echo "$url: expected mysql://user@host[:port]/db" >&2; exit 64; }
        my_args=(-u "${BASH_REMATCH[1]}" -h "${BASH_REMATCH[2]}" -P "${BASH_REMATCH[4]:-3306}")
        drop_templates() {
            for db in $(mysql "${my_args[@]}" -N -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'dftpl\_%'"); do
                mysql "${my_args[@]}" -e "DROP DATABASE IF EXISTS $db"
            done
        }
        databases() { mysql "${my_args[@]}" -N -e \
            "SELECT schema_name FROM information_schema.schemata
             WHERE schema_name REGEXP '^dftest_[0-9a-z]{13}_' ORDER BY 1"; }
        busy() { mysql "${my_args[@]}" -N -e \
            "SELECT COUNT(*) FROM information_schema.processlist
             WHERE command NOT IN ('Sleep', 'Daemon') AND id <> CONNECTION_ID()"; }
        ;;
    *) echo "usage: $0 postgres|mysql" >&2; exit 64 ;;
esac

# Build once, then run private copies of the binaries (the target folder may be shared).
work=$(mktemp -d /tmp/shards.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=$(cargo test --quiet --package dataflow-integration-tests --test integration --no-run \
    --message-format=json | jq -r 'select(.executable != null and .target.name == "integration") | .executable')
cp "$bin" "$work/integration"
cp "$(dirname "$(dirname "$bin")")/leaky" "$work/leaky"
mkdir "$work/tmp"

# The suite, split by position: shard k runs tests k, k+SHARDS, k+2*SHARDS, ...
cd tests
mapfile -t tests < <("$work/integration" --list --format terse | sed -n 's/^\(fixtures::.*\): test$/\1/p')
shard_tests() { local k=$1 i; for i in "${!tests[@]}"; do (( i % SHARDS == k )) && echo "${tests[$i]}"; done; }

# `in_namespace LOG COMMAND...`: COMMAND as pid 1 of a PID namespace of its own, in the
# background; $! is the unshare process, whose child is the namespace's init.
in_namespace() {
    local log=$1; shift
    env -u "$unset_var" "$var=$url" TMPDIR="$work/tmp" \
        unshare --pid --fork --mount-proc "$@" >"$log" 2>&1 &
}
run_shard() { mapfile -t mine < <(shard_tests "$1"); in_namespace "$2" "$work/integration" --exact "${mine[@]}"; }

leftovers() {
    local left files
    left=$(databases)
    files=$(find "$work/tmp" -mindepth 1 -maxdepth 1 -name 'dataflow-*' -print)
    if [ -n "$left$files" ]; then
        echo "left behind: $left $files" >&2
        return 1
    fi
}

[ "${SHARDS_FRESH_TEMPLATES:-}" = 1 ] && drop_templates
runs=0 passed=0
for round in $(seq 1 "$ROUNDS"); do
    pids=()
    for k in $(seq 0 $((SHARDS - 1))); do run_shard "$k" "$work/r$round-$k.log"; pids+=($!); done
    for k in "${!pids[@]}"; do
        runs=$((runs + 1))
        if wait "${pids[$k]}"; then passed=$((passed + 1)); else
            echo "round $round, shard $k failed:" >&2; tail -40 "$work/r$round-$k.log" >&2
        fi
    done
    leftovers
done
echo "$1: $runs shard runs, $passed passed, nothing left behind"
[ "$passed" = "$runs" ]

# The kill round: shard 0 is the victim. Besides its share of the suite (in a loop), it
# holds a database for sure (leaky server-db waits to be killed).
victim_script='"$0" server-db database >"$1/victim-db" & while "$2" --exact "${@:3}"; do :; done'
mapfile -t mine < <(shard_tests 0)
in_namespace "$work/victim.log" bash -c "$victim_script" "$work/leaky" "$work" "$work/integration" "${mine[@]}"
victim=$!
pids=()
for k in $(seq 1 $((SHARDS - 1))); do run_shard "$k" "$work/k-$k.log"; pids+=($!); done
for _ in $(seq 1 100); do [ -s "$work/victim-db" ] && break; sleep 0.1; done
held=$(cat "$work/victim-db")
[ -n "$held" ] || { echo "the victim made no database" >&2; exit 1; }
sleep 0.5 # mid-run: its share of the suite has started too
kill -KILL "$(pgrep -P "$victim")"
wait "$victim" || true
for k in "${!pids[@]}"; do
    wait "${pids[$k]}" || { echo "shard $((k + 1)) failed beside the killed one:" >&2; tail -40 "$work/k-$((k + 1)).log" >&2; exit 1; }
done
# A statement the killed shard sent runs to its end on the server (a test's DROP DATABASE
# may still be under way): what it left is what is there once the server is idle.
for _ in $(seq 1 100); do [ "$(busy)" = 0 ] && break; sleep 0.1; done
left=$(databases)
grep -qx "$held" <<<"$left" || { echo "the killed shard's $held is gone before the next run" >&2; exit 1; }
# What is left is the killed shard's: the others dropped theirs. Wait out the grace period
# (databases younger than a second are never swept), then run the suite once more.
sleep 2
in_namespace "$work/next.log" "$work/integration" --nocapture fixtures::
wait $! || { echo "the next run failed:" >&2; tail -40 "$work/next.log" >&2; exit 1; }
reaped=$(sed -n 's/^dataflow-testing: dropped [0-9]* database(s) left by a killed run: //p' "$work/next.log" | tr -d ' ' | tr ',' '\n' | sort)
if [ "$reaped" != "$(sort <<<"$left")" ]; then
    echo "the next run dropped: $reaped" >&2
    echo "the killed shard left: $left" >&2
    tail -40 "$work/next.log" >&2
    exit 1
fi
leftovers
echo "$1: killed one of $SHARDS shards: the others passed; the next run dropped exactly the $(grep -c . <<<"$left") database(s) it left, and nothing is left behind"
