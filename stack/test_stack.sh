#!/usr/bin/env bash
# stack/test_stack.sh: end-to-end test of scripts/stack with the real Kafka and PostgreSQL.
#
# Runs the stack in a throwaway STACK_DIR (mktemp) on its own ports, so a stack already running on
# the default ports is left alone (the test checks that too). Asserts: a port conflict and an unknown
# component are refused before anything starts; `start kafka` alone needs no PostgreSQL (its port is
# even taken), and `stop kafka` + `start kafka` keep the cluster id, topics and records; start works
# and both parts are ready (topics with the right partition counts; psql reaches cloud_db over
# 127.0.0.1 with the password); a second start changes nothing; status and env; `stop postgres` +
# `start postgres` leave Kafka alone; stop leaves no process behind; stop is harmless when nothing
# runs. The SASL_SSL listener: a Java client with the stack's password (from the 0600 client
# settings file) is let in, one with a wrong password is not, and the password is on no command
# line, in no broker config or log; it survives a restart.
# Prints PASS/FAIL lines and exits non-zero on any failure. Always cleans up.
#
# Environment (default):
#   TEST_KAFKA_PORT 19092, TEST_KAFKA_CONTROLLER_PORT 19093, TEST_KAFKA_SASL_PORT 19094,
#   TEST_PG_PORT 15432, TEST_PARTITIONS 5
#   KAFKA_LIB_DIR       jar cache to reuse (<repo>/.stack/kafka/lib)
#   SENSORPIPE_MIGRATE  passed on to scripts/stack (its default when unset)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK=$REPO/scripts/stack
export KAFKA_PORT=${TEST_KAFKA_PORT:-19092}
export KAFKA_CONTROLLER_PORT=${TEST_KAFKA_CONTROLLER_PORT:-19093}
export KAFKA_SASL_PORT=${TEST_KAFKA_SASL_PORT:-19094}
export PG_PORT=${TEST_PG_PORT:-15432}
export KAFKA_PARTITIONS=${TEST_PARTITIONS:-5}   # not the default 6: proves the setting is honoured
export KAFKA_LIB_DIR=${KAFKA_LIB_DIR:-$REPO/.stack/kafka/lib}
STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sensorpipe-stack-test.XXXXXX")
export STACK_DIR
DEFAULT_PORTS=(9092 9093 9094 5432)
OUT=$STACK_DIR.out   # output of the last scripts/stack call (outside STACK_DIR: survives its removal)

failures=0
LISTENER_PID=""
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
fatal() { fail "$*"; echo "---- last output of scripts/stack"; cat "$OUT" 2>/dev/null || true; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_closed() { ! port_open "$1"; }
now_ms() { date +%s%3N; }
since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1fs", (b - a) / 1000 }'; }

our_pids() {   # processes whose command line or working directory is inside our STACK_DIR
  local p cmd cwd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue   # 2> first: the process may be gone
    cwd=$(readlink "$p/cwd" 2>/dev/null || true)
    # postgres children rewrite their command line, but keep the data folder as working directory
    if [[ $cmd == *"$STACK_DIR"* || $cwd == "$STACK_DIR"/* ]]; then echo "${p#/proc/}"; fi
  done
}

listener_pids() {   # $@ = ports: the processes holding a listening socket on any of them
  local port inodes="" p fd
  for port in "$@"; do
    # /proc/net/tcp{,6}: field 2 is address:PORT in hex, field 4 the state (0A = LISTEN), field 10 the inode
    inodes+=" $(awk -v port="$(printf '%04X' "$port")" \
      '$4 == "0A" && substr($2, length($2) - 3) == port { printf "%s ", $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)"
  done
  for p in /proc/[0-9]*; do
    for fd in "$p"/fd/*; do
      [[ $(readlink "$fd" 2>/dev/null) =~ ^socket:\[([0-9]+)\]$ ]] || continue
      [[ " $inodes " == *" ${BASH_REMATCH[1]} "* ]] && { echo "${p#/proc/}"; break; }
    done
  done
}

cleanup() {
  local rc=$? pid
  [[ -n $LISTENER_PID ]] && kill "$LISTENER_PID" 2>/dev/null
  "$STACK" stop >/dev/null 2>&1 || true
  for pid in $(our_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$STACK_DIR" "$OUT"
  ((failures == 0 && rc == 0)) && echo "ALL PASSED" || echo "FAILED ($failures failed checks, exit $rc)"
  ((rc != 0)) || ((failures == 0)) || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stack() { "$STACK" "$@" >"$OUT" 2>&1; }   # run scripts/stack, keep its output in $OUT

newest_pg_tool() {
  local d
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    [[ -x $d/$1 ]] && { echo "$d/$1"; return 0; }
  done
  command -v "$1"
}

kafka_partitions() {   # topic -> partition count, asked from the broker itself
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$REPO/stack/kafka/tools-log4j2.yaml" \
    -cp "$KAFKA_LIB_DIR/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --describe --exclude-internal 2>/dev/null |
    awk '$1 == "Topic:" { for (i = 1; i < NF; i++) if ($i == "PartitionCount:") print $2 "=" $(i + 1) }' | sort
}

listens_only_on_loopback() {   # every listener of the port is bound to 127.0.0.1
  local addrs
  addrs=$(ss -ltnH "sport = :$1" | awk '{ print $4 }')
  [[ -n $addrs ]] && ! grep -qv -e '^127\.0\.0\.1:' -e '^\[::ffff:127\.0\.0\.1\]:' <<<"$addrs"
}

kafka_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$REPO/stack/kafka/tools-log4j2.yaml" \
    -cp "$KAFKA_LIB_DIR/*" "$@"
}
produce_one() {   # $1 = topic, $2 = value
  echo "$2" | kafka_tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "127.0.0.1:$KAFKA_PORT" --topic "$1"
}
records_in() {   # $1 = topic: sum of the end offsets of its partitions
  kafka_tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "127.0.0.1:$KAFKA_PORT" --topic "$1" 2>/dev/null |
    awk -F: '{ n += $NF } END { print n + 0 }'
}

kafka_pid() { cat "$STACK_DIR/kafka/kafka.pid" 2>/dev/null; }
pg_pid() { head -n 1 "$STACK_DIR/postgres/data/postmaster.pid" 2>/dev/null; }
cluster_id() { sed -n 's/^cluster.id=//p' "$STACK_DIR/kafka/data/meta.properties" 2>/dev/null; }
PSQL=$(newest_pg_tool psql || true)
db() { PGCONNECT_TIMEOUT=5 "$PSQL" -X -tA "postgres://sensorpipe:sensorpipe@127.0.0.1:$PG_PORT/cloud_db" -c "$1"; }
wrong_password_refused() {
  ! PGCONNECT_TIMEOUT=5 "$PSQL" -X -tA "postgres://sensorpipe:wrong@127.0.0.1:$PG_PORT/cloud_db" -c 'SELECT 1' >/dev/null 2>&1
}
SASL_CONF=$STACK_DIR/kafka/client-sasl.properties
sasl_password() { sed -n 's/^sasl\.password=//p' "$SASL_CONF"; }
sasl_lists_topics() {   # $1 = password: TopicCommand as a Java client of the SASL_SSL listener
  local conf=$STACK_DIR/java-sasl.properties
  (umask 077; printf '%s\n' "security.protocol=SASL_SSL" "sasl.mechanism=SCRAM-SHA-256" \
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"sensorpipe\" password=\"$1\";" \
    "ssl.truststore.type=PEM" "ssl.truststore.location=$STACK_DIR/tls/ca.pem" >"$conf")
  timeout 60 java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$REPO/stack/kafka/tools-log4j2.yaml" -cp "$KAFKA_LIB_DIR/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_SASL_PORT" \
    --command-config "$conf" --list 2>/dev/null | grep -qx temperatures
}
sasl_password_hidden() {   # on no command line, in no broker config or log (grep reads it from a pipe)
  [[ -n $(sasl_password) ]] || return 1
  ! { cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' '; cat "$STACK_DIR/kafka/server.properties" "$STACK_DIR/logs/kafka.log"; } |
    grep -qF -f <(sasl_password)
}
no_reinit_output() { ! grep -qE 'initdb|formatting|started pid' "$OUT"; }
only_kafka_runs() { [[ -n $(kafka_pid) && $(our_pids) == "$(kafka_pid)" ]]; }
postgres_untouched() {   # not started, not set up: no data folder, nothing about it in the output
  [[ ! -e $STACK_DIR/postgres ]] && ! grep -qiE 'postgres|schema|DATABASE_URL' "$OUT"
}
no_format_or_topic_output() { ! grep -qE 'formatting|created topic' "$OUT"; }
kafka_untouched() { ! grep -qE '^stack: kafka|^  kafka |KAFKA_BROKERS|topic' "$OUT"; }
hold_port() {   # $1 = port: a foreign listener until release_port; fails without python3
  command -v python3 >/dev/null || return 1
  python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(300)' "$1" &
  LISTENER_PID=$!
  for _ in $(seq 50); do port_open "$1" && return 0; sleep 0.1; done
  return 1
}
release_port() { kill "$LISTENER_PID" 2>/dev/null; wait "$LISTENER_PID" 2>/dev/null || true; LISTENER_PID=""; }
env_evals_right() {
  local KAFKA_BROKERS DATABASE_URL KAFKA_SASL_BROKERS KAFKA_SASL_CONFIG_FILE
  eval "$("$STACK" env)"
  [[ $KAFKA_BROKERS == "127.0.0.1:$KAFKA_PORT" && $KAFKA_SASL_BROKERS == "127.0.0.1:$KAFKA_SASL_PORT" &&
     $KAFKA_SASL_CONFIG_FILE == "$SASL_CONF" &&
     $DATABASE_URL == "postgres://sensorpipe:sensorpipe@127.0.0.1:$PG_PORT/cloud_db" ]]
}

echo "test_stack: STACK_DIR=$STACK_DIR ports $KAFKA_PORT/$KAFKA_CONTROLLER_PORT/$PG_PORT, jars $KAFKA_LIB_DIR"
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT" "$PG_PORT"; do
  port_open "$p" && fatal "test port $p is already in use: set TEST_KAFKA_PORT / TEST_KAFKA_CONTROLLER_PORT / TEST_KAFKA_SASL_PORT / TEST_PG_PORT"
done
# the servers of a stack on the default ports (if any): they must survive this test untouched
others_before=$(listener_pids "${DEFAULT_PORTS[@]}")
default_ports_before=$(for p in "${DEFAULT_PORTS[@]}"; do port_open "$p" && echo "$p:open" || echo "$p:closed"; done)

# ---- a taken port is refused before anything is launched
if hold_port "$KAFKA_CONTROLLER_PORT"; then
  if stack start; then fail "start refuses a taken port (it exited 0)"
  else check "start refuses taken port $KAFKA_CONTROLLER_PORT, naming KAFKA_CONTROLLER_PORT" grep -q "port $KAFKA_CONTROLLER_PORT.*KAFKA_CONTROLLER_PORT" "$OUT"
  fi
  check "nothing was launched after the port conflict" test -z "$(our_pids)"
  release_port
else
  release_port
  echo "SKIP: port-conflict check (no python3 to hold a port)"
fi

# ---- an unknown component is refused before anything is launched
if stack start kafak; then fail "start refuses an unknown component (it exited 0)"
else check "start refuses unknown component 'kafak'" grep -q "unknown component 'kafak'" "$OUT"
fi
check "nothing was launched after the unknown component" test -z "$(our_pids)"

# ---- Kafka alone, from an empty STACK_DIR: PostgreSQL is not needed (its port is even taken)
pg_held=""
if hold_port "$PG_PORT"; then pg_held=" (PG_PORT $PG_PORT held by another process)"; else release_port; fi
t0=$(now_ms)
stack start kafka || fatal "start kafka exited non-zero$pg_held"
pass "start kafka exits 0$pg_held ($(since "$t0"))"
check "start kafka: Kafka logged 'Kafka Server started'" grep -q 'Kafka Server started' "$STACK_DIR/logs/kafka.log"
topics=$(kafka_partitions)
check "start kafka: topics temperatures=$KAFKA_PARTITIONS and temperatures.dlq=3 (got: ${topics//$'\n'/ })" \
  test "$topics" == "$(printf 'temperatures.dlq=3\ntemperatures=%s' "$KAFKA_PARTITIONS")"
check "start kafka: PostgreSQL not started nor set up, no schema step (no STACK_DIR/postgres, nothing in the output)" postgres_untouched
check "start kafka: the broker is the only process of STACK_DIR" only_kafka_runs
if stack status kafka; then pass "status kafka exits 0"; else fail "status kafka exits 0"; cat "$OUT"; fi
check "status kafka says nothing about postgres" postgres_untouched
if stack status postgres; then fail "status postgres exits non-zero (PostgreSQL is not running)"
else check "status postgres exits non-zero and says DOWN" grep -qE '^postgres +DOWN' "$OUT"; fi
if stack status; then fail "status (both) exits non-zero when PostgreSQL is down"; else pass "status (both) exits non-zero when PostgreSQL is down"; fi
produce_one temperatures.dlq survives-restart >/dev/null 2>&1 || fail "ConsoleProducer wrote a record to temperatures.dlq"
check "start kafka: the SASL_SSL listener listens on 127.0.0.1 only" listens_only_on_loopback "$KAFKA_SASL_PORT"
check "start kafka: client settings file is private (0600)" test "$(stat -c %a "$SASL_CONF" 2>/dev/null)" == 600
check "start kafka: SASL_SSL lets a client with the stack's password in" sasl_lists_topics "$(sasl_password)"
if sasl_lists_topics "wrong-$(sasl_password)"; then fail "SASL_SSL refuses a wrong password"; else pass "SASL_SSL refuses a wrong password"; fi
check "start kafka: the password is on no command line, in no broker config or log" sasl_password_hidden
password_before=$(sasl_password)
check "one record in temperatures.dlq before the restart" test "$(records_in temperatures.dlq)" == 1

# ---- stop kafka, start kafka: same cluster, topics and records
cid=$(cluster_id)
meta_mtime=$(stat -c %Y.%N "$STACK_DIR/kafka/data/meta.properties")
t0=$(now_ms)
if stack stop kafka; then pass "stop kafka exits 0 ($(since "$t0"))"; else fail "stop kafka exits 0"; cat "$OUT"; fi
check "stop kafka says nothing about postgres" postgres_untouched
left=$(our_pids | tr '\n' ' ')
check "stop kafka: no process left${left:+ (left: $left)}" test -z "$left"
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT"; do check "stop kafka: port $p closed" port_closed "$p"; done
if stack status kafka; then fail "status kafka exits non-zero after stop kafka"; else pass "status kafka exits non-zero after stop kafka"; fi
t0=$(now_ms)
stack start kafka || fatal "start kafka (again) exited non-zero"
pass "start kafka again exits 0 ($(since "$t0"))"
check "start kafka again: same cluster id ($cid), storage not reformatted" \
  test "$(cluster_id)" == "$cid" -a "$(stat -c %Y.%N "$STACK_DIR/kafka/data/meta.properties")" == "$meta_mtime"
check "start kafka again: no formatting, no topic created" no_format_or_topic_output
topics=$(kafka_partitions)
check "start kafka again: topics still there (got: ${topics//$'\n'/ })" \
  test "$topics" == "$(printf 'temperatures.dlq=3\ntemperatures=%s' "$KAFKA_PARTITIONS")"
check "start kafka again: the record is still in temperatures.dlq" test "$(records_in temperatures.dlq)" == 1
check "start kafka again: same SASL password, the user was not added again" \
  test "$(sasl_password)" == "$password_before" -a -z "$(grep 'SCRAM user' "$OUT")"
check "start kafka again: SASL_SSL still lets the client in" sasl_lists_topics "$(sasl_password)"
check "start kafka again: PostgreSQL still untouched" postgres_untouched
stack stop kafka || fail "stop kafka (second) exits 0"
release_port

# ---- cold start
t0=$(now_ms)
stack start || fatal "first start exited non-zero"
pass "first start exits 0 ($(since "$t0"))"
check "kafka.log and postgres.log are in STACK_DIR/logs" test -s "$STACK_DIR/logs/kafka.log" -a -s "$STACK_DIR/logs/postgres.log"
check "Kafka logged 'Kafka Server started'" grep -q 'Kafka Server started' "$STACK_DIR/logs/kafka.log"
topics=$(kafka_partitions)
check "topics temperatures=$KAFKA_PARTITIONS and temperatures.dlq=3 partitions (got: ${topics//$'\n'/ })" \
  test "$topics" == "$(printf 'temperatures.dlq=3\ntemperatures=%s' "$KAFKA_PARTITIONS")"
check "Kafka listens on 127.0.0.1 only" listens_only_on_loopback "$KAFKA_PORT"
check "PostgreSQL listens on 127.0.0.1 only" listens_only_on_loopback "$PG_PORT"
check "psql over 127.0.0.1 with the password: cloud_db as superuser sensorpipe" \
  test "$(db "SELECT current_database() || ',' || current_user || ',' || (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")" == "cloud_db,sensorpipe,true"
check "a wrong password is refused (scram-sha-256, not trust)" wrong_password_refused
check "unix socket inside STACK_DIR/postgres, none in /var/run/postgresql" \
  test -S "$STACK_DIR/postgres/.s.PGSQL.$PG_PORT" -a ! -e "/var/run/postgresql/.s.PGSQL.$PG_PORT"
if [[ ${SENSORPIPE_MIGRATE-unset} == unset ]]; then   # the default migrate command: the schema is there
  check "migrations applied (table measurements exists)" test "$(db "SELECT to_regclass('measurements') IS NOT NULL")" == t
fi

# ---- second start while running: nothing changes
k_pid=$(kafka_pid) p_pid=$(pg_pid) cid=$(cluster_id)
sysid=$(db "SELECT system_identifier FROM pg_control_system()")
meta_mtime=$(stat -c %Y.%N "$STACK_DIR/kafka/data/meta.properties")
t0=$(now_ms)
if stack start; then pass "second start exits 0 ($(since "$t0"))"; else fail "second start exits 0"; cat "$OUT"; fi
check "second start reports both as already running" test "$(grep -c 'already running' "$OUT")" -eq 2
check "second start: same Kafka pid ($k_pid)" test "$(kafka_pid)" == "$k_pid"
check "second start: same PostgreSQL pid ($p_pid)" test "$(pg_pid)" == "$p_pid"
check "second start: same Kafka cluster id ($cid), storage not reformatted" \
  test "$(cluster_id)" == "$cid" -a "$(stat -c %Y.%N "$STACK_DIR/kafka/data/meta.properties")" == "$meta_mtime"
check "second start: no re-initdb (same system identifier $sysid)" \
  test "$(db "SELECT system_identifier FROM pg_control_system()")" == "$sysid"
check "second start printed no initdb/format/launch" no_reinit_output
check "first full start kept the cluster id of the Kafka-only start ($cid)" test "$(cluster_id)" == "$cid"

# ---- status and env
if stack status; then pass "status exits 0 while running"; else fail "status exits 0 while running"; cat "$OUT"; fi
check "status names kafka as running" grep -qE '^kafka +running' "$OUT"
check "status names postgres as running" grep -qE '^postgres +running' "$OUT"
check "status lists topic temperatures" grep -q "topic temperatures: $KAFKA_PARTITIONS partitions" "$OUT"
check "status shows the SASL_SSL listener and its user" grep -q "SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT: SCRAM-SHA-256 user sensorpipe" "$OUT"
check "env prints KAFKA_BROKERS, KAFKA_SASL_BROKERS, KAFKA_SASL_CONFIG_FILE and DATABASE_URL for eval" env_evals_right

# ---- stop postgres, start postgres: Kafka is left alone
k_pid=$(kafka_pid)
t0=$(now_ms)
if stack stop postgres; then pass "stop postgres exits 0 ($(since "$t0"))"; else fail "stop postgres exits 0"; cat "$OUT"; fi
check "stop postgres says nothing about kafka" kafka_untouched
check "stop postgres: port $PG_PORT closed" port_closed "$PG_PORT"
check "stop postgres: Kafka still runs (pid $k_pid) and is the only process of STACK_DIR" only_kafka_runs
if stack status kafka; then pass "status kafka exits 0 while PostgreSQL is down"; else fail "status kafka exits 0 while PostgreSQL is down"; cat "$OUT"; fi
t0=$(now_ms)
if stack start postgres; then pass "start postgres exits 0 ($(since "$t0"))"; else fail "start postgres exits 0"; cat "$OUT"; fi
check "start postgres says nothing about kafka" kafka_untouched
check "start postgres: same Kafka pid ($k_pid)" test "$(kafka_pid)" == "$k_pid"
check "start postgres: same cluster (system identifier $sysid), schema step ran" \
  test "$(db "SELECT system_identifier FROM pg_control_system()")" == "$sysid" -a -n "$(grep '^stack: schema:' "$OUT")"

# ---- stop
t0=$(now_ms)
if stack stop; then pass "stop exits 0 ($(since "$t0"))"; else fail "stop exits 0"; cat "$OUT"; fi
left=$(our_pids | tr '\n' ' ')
check "no process left that mentions STACK_DIR${left:+ (left: $left)}" test -z "$left"
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT" "$PG_PORT"; do
  check "port $p closed after stop" port_closed "$p"
done
if stack status; then fail "status exits non-zero after stop"; else pass "status exits non-zero after stop"; fi
if stack stop; then pass "stop when nothing runs exits 0"; else fail "stop when nothing runs exits 0"; cat "$OUT"; fi

# ---- a stack on the default ports (if any) was not disturbed
default_ports_after=$(for p in "${DEFAULT_PORTS[@]}"; do port_open "$p" && echo "$p:open" || echo "$p:closed"; done)
check "default ports unchanged (${default_ports_after//$'\n'/ })" test "$default_ports_after" == "$default_ports_before"
gone=""
for pid in $others_before; do kill -0 "$pid" 2>/dev/null || gone+=" $pid"; done
check "the servers on the default ports before the test still run${gone:+ (gone:$gone)}" test -z "$gone"
