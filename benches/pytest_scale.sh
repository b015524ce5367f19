#!/usr/bin/env bash
# A real suite of tens of thousands of pytest tests (the sdist of packaging 26.4: 64,207 tests,
# most under a millisecond), split into N shards by pytest-split (its own code, from PyPI) and by
# the planner from the same `.test_durations`, each shard a whole pytest process timed by the
# wall clock, in the same run. The planner's shards run through its plugin (collect, then keep the
# shard's tests, as pytest-split does); with --ids also as node ids given as arguments, the way
# the pytest workflow ran them before the plugin.
#
#   bash benches/pytest_scale.sh [--ids] [N ...]      (default N: 2 4 8)
#
# Needs python3 and the package registry (PyPI); a few minutes. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ids=false
if [[ "${1:-}" == "--ids" ]]; then ids=true; shift; fi
counts=("$@")
(( ${#counts[@]} )) || counts=(2 4 8)

work=${PYTEST_SCALE_DIR:-$(mktemp -d)}
cd "$work"
if [[ ! -x venv/bin/python ]]; then
  python3 -m venv venv
  venv/bin/pip install -q --disable-pip-version-check pytest==9.2.0 pytest-split==0.11.0 \
    hypothesis==6.170.17 pretend==1.0.9 tomli_w==1.2.0
fi
if [[ ! -d packaging-26.4 ]]; then
  venv/bin/pip download -q --disable-pip-version-check --no-deps --no-binary :all: packaging==26.4
  tar xzf packaging-26.4.tar.gz
fi
(cd "$root" && cargo build -q --release --locked)
planner="$root/target/release/planner"
plugin="$root/src/runner/pytest"
suite="$work/packaging-26.4"
durations="$work/test_durations.json"
py="$work/venv/bin/python"
pytest=("$py" -m pytest -q -p no:cacheprovider)

if [[ ! -s "$durations" ]]; then
  (cd "$suite" && "${pytest[@]}" --store-durations --durations-path="$durations" > /dev/null)
fi

# Wall seconds of one command, and how many tests it ran (pytest's closing line).
timed() {
  local start end out
  start=$(date +%s.%N)
  out=$(cd "$suite" && "$@" 2>&1 | tail -1) || true
  end=$(date +%s.%N)
  printf '%.2f %s\n' "$(echo "$end - $start" | bc)" "$(grep -oE '[0-9]+ passed' <<< "$out" | cut -d' ' -f1)"
}

echo "| N | selection | slowest shard (s) | all shards (s) | tests run |"
echo "|---:|---|---:|---:|---:|"
for n in "${counts[@]}"; do
  declare -A slow=() sum=() ran=()
  modes=(pytest-split planner-plugin)
  $ids && modes+=(planner-node-ids)
  for k in $(seq 1 "$n"); do
    "$planner" shard --timings "$durations" --index "$k" --total "$n" --format pytest > "$work/shard.txt"
    for mode in "${modes[@]}"; do
      case $mode in
        pytest-split) read -r s t < <(timed "${pytest[@]}" --splits "$n" --group "$k" --durations-path="$durations") ;;
        planner-plugin) read -r s t < <(timed env PYTHONPATH="$plugin" "${pytest[@]}" -p planner_select --planner-items="$work/shard.txt") ;;
        planner-node-ids) read -r s t < <(timed "${pytest[@]}" "@$work/shard.txt") ;;
      esac
      sum[$mode]=$(echo "${sum[$mode]:-0} + $s" | bc)
      ran[$mode]=$(( ${ran[$mode]:-0} + ${t:-0} ))
      if [[ -z "${slow[$mode]:-}" ]] || (( $(echo "$s > ${slow[$mode]}" | bc) )); then slow[$mode]=$s; fi
    done
  done
  for mode in "${modes[@]}"; do
    echo "| $n | $mode | ${slow[$mode]} | ${sum[$mode]} | ${ran[$mode]} |"
  done
  unset slow sum ran
done
