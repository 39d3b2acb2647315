#!/usr/bin/env bash
# Smoke test of scripts/train-beats: SMALL=1 renders two MIDI excerpts once at their own tempo and
# once with --tempo-warp, transcribes them (probabilities cached beside the WAVs), trains 2 tiny
# epochs and writes WORKDIR/work/beat_net.json, which `transcribe --beat-net` must then follow;
# models/ stays untouched.
# usage: train_beats_small.sh QSCRIBE WORKDIR
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 QSCRIBE WORKDIR" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
Q=$1
OUT=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
snapshot() { (cd "$REPO/models" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
rm -rf "$OUT"
mkdir -p "$OUT"
before=$(snapshot)
if ! SMALL=1 QSCRIBE="$Q" THREADS=1 "$REPO/scripts/train-beats" "$OUT/work" > "$OUT/log.txt" 2>&1; then
  tail -30 "$OUT/log.txt" >&2
  fail "SMALL=1 scripts/train-beats failed (log: $OUT/log.txt)"
fi
[ "$(snapshot)" = "$before" ] || fail "SMALL=1 scripts/train-beats changed models/"
for set in plain0 warped0; do
  n=$(find "$OUT/work/renders/$set" -name '*.beats.tsv' | wc -l)
  [ "$n" = 2 ] || fail "$set: $n beat files, expected 2"
  [ -n "$(find "$OUT/work/renders/$set" -name '*.onsets.npy')" ] || fail "$set: no cached probabilities"
done
grep -q '"tempo_warp": {' "$OUT"/work/renders/warped0/*.meta.json || fail "warped0: no tempo warp recorded"
grep -q '"enabled": true' "$OUT"/work/renders/warped0/*.meta.json || fail "warped0: not warped"
grep -q "epoch 2/2" "$OUT/log.txt" || fail "no second epoch in the log"
[ -s "$OUT/work/beat_net.json" ] || fail "no beat_net.json"
wav=$(find "$OUT/work/renders/plain0" -name '*.wav' | sort | tail -1)
"$Q" transcribe "$wav" -o "$OUT/t.json" -q --beat-net "$OUT/work/beat_net.json" || fail "transcribe --beat-net failed"
/usr/bin/python3 - "$OUT/t.json" <<'PY' || fail "the transcription carries no beats"
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
assert len(m["beats"]) >= 2 and m["tempo_bpm"] > 0, m.get("beats")
PY
echo "ok: $(grep -c . "$OUT/log.txt") log lines"
