#!/usr/bin/env bash
# End to end: `radseek serve` on a tiny random model with the fixture tokenizer, on 127.0.0.1 only.
# curl checks, the official openai client (chat, streaming, errors), hostile requests, a bounded
# load test, API keys with a non-default bind refused, and a graceful SIGTERM.
#   e2e.sh RADSEEK MAKE_FIXTURE CACHE_DIR SCRATCH_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
radseek=${1:?usage: e2e.sh RADSEEK MAKE_FIXTURE CACHE_DIR SCRATCH_DIR}
make_fixture=${2:?}
cache=${3:?}
scratch=${4:?}
mkdir -p "$scratch"
model="$scratch/model"
[[ -f "$model/tokenizer_config.json" ]] || "$make_fixture" "$model"
bash "$here/js/ensure_openai.sh" "$cache"

fails=0
fail() { echo "FAIL $*" >&2; fails=$((fails + 1)); }
expect_eq() { [[ "$2" == "$3" ]] || fail "$1: want '$2', got '$3'"; }

pid=""
stop_server() { if [[ -n "$pid" ]] && kill -0 "$pid" 2> /dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi; pid=""; }
trap stop_server EXIT
# start_server LOG [extra flags...]: sets $pid and $base once /health answers 200.
start_server() {
  local log=$1; shift
  : > "$log"  # exists before the server starts, so polling it below cannot fail under set -e
  "$radseek" serve -m "$model" --host 127.0.0.1 --port 0 -t 2 --model-name tiny --ctx-size 512 \
    --audit-log "$scratch/audit.log" "$@" 2> "$log" &
  pid=$!
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1 || true)
    if [[ -n "$port" ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health") == 200 ]]; then
      base="http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$pid" 2> /dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "server did not become ready" >&2
  return 1
}

rm -f "$scratch/audit.log"
start_server "$scratch/server.log" --parallel 16 --queue 64
secret="PATIENT-SENTINEL-$$"

# --- curl ---------------------------------------------------------------------------------------
expect_eq "health" '{"status":"ok"}' "$(curl -s "$base/health")"
expect_eq "models" tiny "$(curl -s "$base/v1/models" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data[0].id))')"
body=$(curl -s "$base/v1/chat/completions" -H 'Content-Type: application/json' \
  -d "{\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}],\"max_tokens\":8,\"temperature\":0}")
expect_eq "chat object" chat.completion "$(node -e 'console.log(JSON.parse(process.argv[1]).object)' "$body")"
sse=$(curl -sN "$base/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":6,"temperature":0,"stream":true}')
expect_eq "sse ends with [DONE]" 'data: [DONE]' "$(grep -v '^$' <<< "$sse" | tail -n1)"
expect_eq "bad json status" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/chat/completions" -d '{oops')"
classify=$(curl -s "$base/v1/radiology/classify" -H 'Content-Type: application/json' \
  -d '{"id":"r1","text":"FINDINGS: Small left pleural effusion. No pneumothorax.","labels":"chexpert"}')
expect_eq "classify effusion" 1 "$(node -e 'console.log(JSON.parse(process.argv[1]).labels["Pleural Effusion"])' "$classify")"
expect_eq "classify pneumothorax" 0 "$(node -e 'console.log(JSON.parse(process.argv[1]).labels["Pneumothorax"])' "$classify")"
expect_eq "classify file path refused" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/radiology/classify" \
  -d '{"text":"x","labels":"/etc/passwd"}')"
curl -s "$base/metrics" | grep -q '^radseek_time_to_first_token_seconds_count [1-9]' || fail "metrics: no TTFT observations"

# --- the official openai client, hostile requests, load -------------------------------------------
node "$here/js/client_test.cjs" "$base" "$cache" || fail "openai client checks"
node "$here/js/hostile_test.cjs" "$base" || fail "hostile request checks"
node "$here/js/load_test.cjs" "$base" "$cache" 32 24 || fail "load test"
expect_eq "health after all that" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")"

# --- graceful shutdown: a running stream finishes, then the process exits 0 -----------------------
curl -sN "$base/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"x"}],"max_tokens":60,"temperature":0,"stream":true,"ignore_eos":true}' \
  > "$scratch/inflight.sse" &
curl_pid=$!
sleep 0.3
kill -TERM "$pid"
wait "$curl_pid" || true
if wait "$pid"; then :; else fail "server exit status $? after SIGTERM"; fi
pid=""
grep -q '"finish_reason":"length"' "$scratch/inflight.sse" || fail "the in-flight stream did not finish during the grace period"
grep -q 'radseek serve: stopped' "$scratch/server.log" || fail "no clean stop in the server log"

# --- privacy: no prompt text in the logs, metadata in the audit log ------------------------------
grep -q "$secret" "$scratch/server.log" "$scratch/audit.log" && fail "prompt text appeared in a log"
grep -q '"path":"/v1/chat/completions"' "$scratch/audit.log" || fail "audit log has no chat records"

# --- keys: a non-loopback bind without keys is refused; with keys, requests need one --------------
if "$radseek" serve -m "$model" --host 0.0.0.0 --port 0 --audit-log '' 2> "$scratch/refused.log"; then
  fail "binding 0.0.0.0 without an API key was allowed"
fi
grep -q 'API key' "$scratch/refused.log" || fail "the refusal does not mention API keys"
key="e2e-key-0123456789abcdef"
RADSEEK_SERVER_API_KEYS="ci:$key" start_server "$scratch/server_keys.log"
expect_eq "no key" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/models")"
expect_eq "wrong key" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$base/v1/models")"
expect_eq "right key" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$base/v1/models")"
expect_eq "health needs no key" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")"
grep -q '"key":"ci"' "$scratch/audit.log" || fail "audit log does not name the key"
grep -q "$key" "$scratch/audit.log" "$scratch/server_keys.log" && fail "the key itself appeared in a log"
stop_server

# --- a full queue answers 429 with Retry-After ------------------------------------------------------
start_server "$scratch/server_queue.log" --parallel 1 --queue 1
for i in 1 2 3 4; do
  curl -s -o /dev/null -D "$scratch/q$i.h" "$base/v1/completions" -H 'Content-Type: application/json' \
    -d '{"prompt":[0,5,6],"max_tokens":300,"ignore_eos":true}' &
done
wait_for=$(jobs -p | grep -v "^$pid$" || true)
for j in $wait_for; do wait "$j" || true; done
grep -l '^HTTP/1.1 429' "$scratch"/q*.h > /dev/null || fail "no 429 with one slot and a queue of one"
grep -qi '^Retry-After:' $(grep -l '^HTTP/1.1 429' "$scratch"/q*.h | head -n1) || fail "429 without Retry-After"
stop_server

if (( fails > 0 )); then
  echo "$fails server e2e check(s) failed" >&2
  exit 1
fi
echo "server e2e checks passed"
