#!/usr/bin/env bash
# `radseek bench --json` prints one JSON object with the names an independent check reads, each a
# positive number, and one bandwidth probe per repeat plus the first (the limit is their best).
#   bench_json.sh RADSEEK SCRATCH_DIR
set -euo pipefail
radseek=${1:?usage: bench_json.sh RADSEEK SCRATCH_DIR}
scratch=${2:?}
rm -rf "$scratch" && mkdir -p "$scratch"
"$radseek" gen-checkpoint --preset tiny-v3 -o "$scratch/tiny" > /dev/null 2>&1
"$radseek" bench -m "$scratch/tiny" -p 8 -n 4 -t 2 -r 2 --long-context 16 --json > "$scratch/b.json" 2> "$scratch/err.txt"
fails=0
[[ $(wc -l < "$scratch/b.json") == 1 ]] || { echo "FAIL not one line: $(cat "$scratch/b.json")" >&2; fails=1; }
for key in pp_tps_median tg_tps_median tg_after_prompt_tps_median weight_bytes_per_token measured_bandwidth_gbs \
           tg_fraction_of_limit tg_after_prompt_fraction_of_limit tg_long_tps_median; do
  grep -Eq "\"$key\":(0\.[0-9]*[1-9]|[1-9])" "$scratch/b.json" || { echo "FAIL $key missing or not positive" >&2; fails=1; }
done
probes=$(grep -o '"bandwidth_probes_gbs":\[[^]]*\]' "$scratch/b.json" | tr -cd ',' | wc -c)
[[ $probes == 2 ]] || { echo "FAIL expected 3 bandwidth probes (-r 2): $(grep -o '"bandwidth_probes_gbs":\[[^]]*\]' "$scratch/b.json")" >&2; fails=1; }
# Progress goes to stderr, so stdout stays parseable.
grep -q "bench: repeat 2/2" "$scratch/err.txt" || { echo "FAIL no progress lines on stderr" >&2; fails=1; }
exit $fails
