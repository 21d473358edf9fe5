#!/usr/bin/env bash
# The paired view of a bench/proxy.sh run: for each proxy point, the median over rounds of
# the per-round ratio to the small-body ceiling (the proxy's run over the ceiling's run of
# the same round, taken seconds apart), for throughput and for p50 latency. proxy.sh's
# tables give the ratio of the two medians instead; on a host whose speed drifts between
# rounds the paired median is the steadier statistic. BENCHMARKS.md reports both.
#
# Usage: bench/paired.sh bench/out/proxy-<time>
set -euo pipefail
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }'; }
OUT=${1:?usage: bench/paired.sh bench/out/proxy-<time>}
echo "| keys | conns | target | paired × ceiling (median of per-round ratios) | p50 paired × ceiling |"
echo "|---|---:|---|---:|---:|"
for dist in uniform zipf0.99; do
  for c in 1 16 64; do
    for t in proxy-get proxy-query; do
      ratios=() p50s=()
      for f in "$OUT/$dist-$t-c$c"-r*.json; do
        ceiling=${f/-$t-/-ceiling-}
        ratios+=("$(jq -n --slurpfile a "$f" --slurpfile b "$ceiling" '$a[0].ops_per_sec / $b[0].ops_per_sec')")
        p50s+=("$(jq -n --slurpfile a "$f" --slurpfile b "$ceiling" '$a[0].latency_ms.p50 / $b[0].latency_ms.p50')")
      done
      echo "| $dist | $c | $t | $(median "${ratios[@]}") | $(median "${p50s[@]}") |"
    done
  done
done
