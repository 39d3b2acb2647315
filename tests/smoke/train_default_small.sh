#!/usr/bin/env bash
# Smoke test of scripts/train-default: SMALL=1 runs the whole pipeline in miniature (corpus from
# the first minute of two Debian MIDI files + procedural music, and their second and third
# renderings -> preprocess ->
# 1 epoch of training -> 1 epoch of each fine-tuning and refining run -> their weight average ->
# the multi-source corpus and 1 epoch of fine-tuning on it -> the ensemble of that, the first
# run and a 1-epoch harmonic-stacked run -> threshold tuning of the ensemble) into WORKDIR, and
# must leave loadable checkpoints, training logs, the average, tuned thresholds, and models/
# untouched (SMALL stops before the export stage).
# usage: train_default_small.sh QSCRIBE WORKDIR
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 QSCRIBE WORKDIR" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
Q=$1
OUT=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

snapshot() {  # names, sizes and contents of everything under models/
  (cd "$REPO/models" && find . -printf '%p %s\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
rm -rf "$OUT"
mkdir -p "$OUT"
before=$(snapshot)
t0=$(date +%s)
if ! SMALL=1 QSCRIBE="$Q" "$REPO/scripts/train-default" "$OUT/work" > "$OUT/log.txt" 2>&1; then
  tail -40 "$OUT/log.txt" >&2
  fail "SMALL=1 scripts/train-default failed (log: $OUT/log.txt)"
fi
echo "SMALL=1 scripts/train-default: $(( $(date +%s) - t0 )) s"
[ "$(snapshot)" = "$before" ] || fail "scripts/train-default SMALL=1 changed models/"

W=$OUT/work
for split in train dev-seen dev-unseen; do
  n=$(find "$W/audio/$split" -name '*.wav' | wc -l)
  [ "$n" -ge 2 ] || fail "corpus: $split has $n WAV files"
  [ -f "$W/pre/$split/dataset.json" ] || fail "preprocess: no $W/pre/$split/dataset.json"
done
[ -n "$(find "$W/audio/dev-seen" -path '*midi-keep*' -name '*.wav')" ] || fail "corpus: no held-out MIDI piece in dev-seen"
for r in ft rf; do
  [ -n "$(find "$W/audio-$r/train" -name '*.wav')" ] || fail "corpus: no audio in $W/audio-$r/train"
  [ -f "$W/pre/train-$r/dataset.json" ] || fail "preprocess: no $W/pre/train-$r/dataset.json"
done
for run in run run-ft run-ft-eq run-rf-a run-rf-b run-rf-c run-rf-d run-rf-e run-rf-f; do
  for f in best.pt checkpoint.pt log.jsonl curves.svg; do
    [ -s "$W/$run/$f" ] || fail "$run: $W/$run/$f missing or empty"
  done
  [ "$(wc -l < "$W/$run/log.jsonl")" = 1 ] || fail "$run: expected 1 epoch in log.jsonl"
done
# The multi-source stages: the corpus names its sources (the recorded piano among them), the three
# dev sets exist, and run-multi fine-tuned the soup.
for split in train dev-seen dev-unseen dev-unseen2; do
  [ -n "$(find "$W/multi/audio/$split" -name '*.wav')" ] || fail "multi corpus: no audio in $split"
  [ -f "$W/multi/pre/$split/dataset.json" ] || fail "multi preprocess: no $W/multi/pre/$split/dataset.json"
done
grep -q salamander-piano "$W/multi/audio/train/proc/synth_manifest.tsv" "$W"/multi/audio/dev-seen/proc/synth_manifest.tsv ||
  fail "multi corpus: the sampled piano rendered nothing"
grep -q sf_GMbank "$W/multi/audio/dev-unseen2/proc/synth_manifest.tsv" || fail "multi corpus: dev-unseen2 is not the csound bank"
for f in best.pt checkpoint.pt log.jsonl curves.svg; do
  [ -s "$W/run-multi/$f" ] || fail "run-multi: $f missing or empty"
done
grep -aq 'soup.pt' "$W/run-multi/best.pt" || fail "run-multi did not start from the soup"
# The ensemble: run-multi's network, the first run's (weight 0.2) and a harmonic-stacked network
# trained from random weights (0.15), which the tune stage tuned.
for f in best.pt checkpoint.pt log.jsonl curves.svg; do
  [ -s "$W/run-stack/$f" ] || fail "run-stack: $f missing or empty"
done
[ -s "$W/ensemble.onnx" ] && [ -s "$W/ensemble.json" ] || fail "scratch: no ensemble.onnx + ensemble.json"
/usr/bin/python3 - "$W/ensemble.json" <<'PY' || fail "scratch: ensemble.json is not the three networks"
import json, sys
d = json.load(open(sys.argv[1]))
members = d["architecture"]["members"]
got = [(m["weight"], m.get("harmonics")) for m in members]
paths = [m["path"] for m in d["training"]["ensemble_members"]]
assert [round(w, 6) for w, _ in got] == [0.2, 0.15], got
assert not got[0][1] and got[1][1] == [0.5, 1, 2, 3, 4, 5], got
assert paths[0].endswith("/run/best.pt") and paths[1].endswith("/run-stack/best.pt"), paths
PY
grep -q "ensemble.onnx" "$W/tune.txt" || fail "tune: did not tune the ensemble"
read -r ON FR ML FB RS RISE rest < "$W/thresholds.txt" || fail "tune: no thresholds.txt"
for v in "$ON" "$FR" "$ML" "$RS" "$RISE"; do
  [[ "$v" =~ ^[0-9.]+$ ]] ||
    fail "tune: thresholds.txt is not 'ONSET FRAME MIN_NOTE_MS FALLBACK RESTRIKE RISE': $(cat "$W/thresholds.txt")"
done
[[ "$FB" = on || "$FB" = off ]] || fail "tune: frame fallback is not on/off: $(cat "$W/thresholds.txt")"
[ -z "${rest:-}" ] || fail "tune: extra fields in thresholds.txt"
# The average names its eight sources, and loads and decodes with the tuned thresholds.
[ -s "$W/soup.pt" ] || fail "average: no $W/soup.pt"
for run in run-ft run-ft-eq run-rf-a run-rf-b run-rf-c run-rf-d run-rf-e run-rf-f; do
  grep -aq "\"$run/best.pt\"" "$W/soup.pt" || fail "average: soup.pt does not name $run/best.pt"
done
"$Q" evaluate -m "$W/soup.pt" --data "$W/pre/dev-unseen" --json --threads 1 --onset-threshold "$ON" \
  --frame-threshold "$FR" --frame-fallback "$FB" --min-note-length "$(awk -v ms="$ML" 'BEGIN { print ms / 1000 }')" \
  --restrike-threshold "$RS" --min-restrike-gap 0.1 --rise-threshold "$RISE" > "$OUT/eval.json" ||
  fail "evaluate with the tuned thresholds failed"
grep -q '"note"' "$OUT/eval.json" || fail "evaluate printed no note metrics"
grep -q '"restrike_threshold"' "$OUT/eval.json" || fail "evaluate did not report the re-strike threshold it decoded with"
grep -q "\"rise_threshold\": $RISE" "$OUT/eval.json" || fail "evaluate did not report the rise threshold it decoded with"
echo "ok: checkpoints, 1-epoch logs (train, fine-tune, refine), their average, thresholds $ON $FR $ML $FB $RS $RISE, models/ untouched"
