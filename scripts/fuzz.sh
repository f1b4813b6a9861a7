#!/usr/bin/env bash
# Coverage-guided fuzzing of edge-auth's parsers with cargo fuzz (libFuzzer). Targets: fuzz/fuzz_targets/.
#
#   bash scripts/fuzz.sh smoke                        build once, run every target 5 s (CI; ≤ 60 s of fuzzing
#                                                     in all); fails on any crash
#   bash scripts/fuzz.sh long [SECONDS_PER_TARGET]    default 120 s each; prints executions per target and
#                                                     their sum, which must reach 10 million
#   bash scripts/fuzz.sh run TARGET [LIBFUZZER_ARGS]  one target by hand (for example a crash artifact)
#
# Installs what it needs: the nightly toolchain (rustup) and cargo-fuzz (cargo install). Seeds are generated
# from the test vectors by scripts/fuzz-seeds.py into fuzz/seeds/; the long run keeps what it learns in
# fuzz/corpus/ and crash inputs go to fuzz/artifacts/TARGET/ (all three are ignored by git). Inputs that
# once failed are kept in fuzz/regressions/TARGET/ (in git) and run first by every mode.
# FUZZ_SANITIZER=address builds with AddressSanitizer (default none: the core has no unsafe code, and the
# targets look for panics and broken invariants, at about twice the speed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGETS=(token_parse json_object jwks_load config_json config_toml path_route cache_control explain_input absolute_url revocation)
TRIPLE=x86_64-unknown-linux-gnu
SANITIZER=${FUZZ_SANITIZER:-none}
SMOKE_SECONDS=5
LONG_SECONDS_DEFAULT=120
LONG_MIN_EXECS=10000000

say() { printf 'fuzz: %s\n' "$*"; }

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

install_tools() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    say "rustup toolchain install nightly --profile minimal"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    say "cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --version 0.13.2 --locked
  fi
}

build() {
  # The fuzz crate is its own workspace; its lock starts from the main one so that the fuzzed dependency
  # versions are the shipped ones (cargo then only adds libFuzzer's few crates).
  cp Cargo.lock fuzz/Cargo.lock
  python3 scripts/fuzz-seeds.py
  say "cargo +nightly fuzz build -s $SANITIZER (all targets, one build)"
  cargo +nightly fuzz build -s "$SANITIZER"
}

binary() { echo "fuzz/target/$TRIPLE/release/$1"; }

# run_target TARGET SECONDS CORPUS_DIR LOG: fuzzes TARGET from CORPUS_DIR (where new inputs go) and its
# seeds. Returns libFuzzer's exit status.
run_target() {
  local target=$1 seconds=$2 corpus=$3 log=$4
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  local dirs=("$corpus" "fuzz/seeds/$target")
  if [ -d "fuzz/regressions/$target" ]; then dirs+=("fuzz/regressions/$target"); fi
  "$(binary "$target")" "${dirs[@]}" \
    -max_total_time="$seconds" -print_final_stats=1 -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1
}

# stat LOG NAME: a `stat::NAME:` value of libFuzzer's final stats.
stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1; }

# coverage LOG: `cov ft corp` of the last status line.
coverage() {
  grep -E '^#[0-9]+.*cov: ' "$1" | tail -n 1 \
    | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/'
}

# fuzz_all SECONDS KIND: runs every target; prints the table; returns 1 if any target crashed.
fuzz_all() {
  local seconds=$1 kind=$2 logs failed=() total=0 start
  logs=$(mktemp -d)
  start=$(date +%s)
  for target in "${TARGETS[@]}"; do
    local corpus="fuzz/corpus/$target"
    if [ "$kind" = smoke ]; then corpus="$logs/corpus-$target"; fi
    local status=0
    run_target "$target" "$seconds" "$corpus" "$logs/$target.log" || status=$?
    if [ "$status" -eq 0 ]; then
      say "$target: ok"
    else
      failed+=("$target")
      say "$target: FAILED (exit $status); from its log:"
      grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written|^Base64' "$logs/$target.log" | head -n 20 || true
      tail -n 30 "$logs/$target.log"
    fi
  done
  local wall=$(($(date +%s) - start))
  printf '\n%-15s %14s %10s %8s %8s %8s\n' target execs exec/s cov ft corpus
  for target in "${TARGETS[@]}"; do
    local log="$logs/$target.log" execs rate cov ft corp
    execs=$(stat "$log" number_of_executed_units)
    rate=$(stat "$log" average_exec_per_sec)
    read -r cov ft corp <<<"$(coverage "$log")" || true
    total=$((total + ${execs:-0}))
    printf '%-15s %14s %10s %8s %8s %8s\n' "$target" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "${corp:--}"
  done
  printf '%-15s %14s\n' "sum" "$total"
  say "$kind: ${#TARGETS[@]} targets, ${seconds} s each, $wall s of fuzzing (wall time, after the build)"
  FUZZ_TOTAL_EXECS=$total
  rm -rf "$logs"
  if [ ${#failed[@]} -ne 0 ]; then
    say "crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/; reproduce with: bash scripts/fuzz.sh run <target> <file>)"
    return 1
  fi
}

mode=${1:-}
case "$mode" in
  smoke)
    install_tools
    build
    fuzz_all "$SMOKE_SECONDS" smoke
    ;;
  long)
    seconds=${2:-$LONG_SECONDS_DEFAULT}
    install_tools
    build
    fuzz_all "$seconds" long
    if [ "$FUZZ_TOTAL_EXECS" -lt "$LONG_MIN_EXECS" ]; then
      say "only $FUZZ_TOTAL_EXECS executions, below $LONG_MIN_EXECS: give more seconds per target"
      exit 1
    fi
    ;;
  run)
    target=${2:-}
    [ -n "$target" ] || usage
    shift 2
    install_tools
    build
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    if [ $# -eq 0 ]; then
      set -- "fuzz/corpus/$target" "fuzz/seeds/$target"
      if [ -d "fuzz/regressions/$target" ]; then set -- "$@" "fuzz/regressions/$target"; fi
    elif [ -d "$1" ]; then
      # libFuzzer writes what it learns into its first directory: never into one kept in git.
      set -- "fuzz/corpus/$target" "$@"
    fi
    exec "$(binary "$target")" -artifact_prefix="fuzz/artifacts/$target/" "$@"
    ;;
  *) usage ;;
esac
