#!/usr/bin/env bash
# The benchmark's shell peer: GNU parallel driving one curl per row, with
# curl's own naive retry (--retry 5 waits out 429 and 5xx answers).
#
# usage: peer_parallel.sh INPUT.csv BASE_URL TOKEN [JOBS]
# Clears the DS100 PIN of every row (userId,tokenSerialNumber) and prints one
# JSON line: rows, ok, failed, elapsed_seconds.
set -euo pipefail
input=$1 base_url=$2 token=$3 jobs=${4:-16}
path=/AdminInterface/restapi/v1/ds100/clearPin/otp
codes=$(mktemp)
trap 'rm -f "$codes"' EXIT

started=$(date +%s.%N)
tail -n +2 "$input" | tr -d '\r' | parallel -j "$jobs" --colsep , \
    curl -s -o /dev/null -w '%{http_code}\\n' --retry 5 -X PATCH \
    -H "'Authorization: Bearer $token'" \
    -H "'Content-Type: application/json'" \
    -d "'{\"userId\":\"{1}\",\"tokenSerialNumber\":\"{2}\"}'" \
    "$base_url$path" >"$codes" || true
finished=$(date +%s.%N)

rows=$(wc -l <"$codes")
ok=$(grep -c '^2' "$codes" || true)
echo "{\"rows\": $rows, \"ok\": $ok, \"failed\": $((rows - ok)), \"elapsed_seconds\": $(awk "BEGIN { print $finished - $started }")}"
