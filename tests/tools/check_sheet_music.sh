#!/usr/bin/env bash
# Sheet music through outside tools: every MusicXML qscribe writes must convert with LilyPond's
# musicxml2ly and engrave with lilypond without errors or failed bar checks, load and render in
# Verovio with the right number of measures, and read back (by an independent XML reader) to
# exactly the quantised notes. Quantised MIDI must carry the meter, key and tempo map.
# Inputs: the pieces of make_meter_pieces.py (known meter, key and bar count), one with overrides,
# and the two real recordings of ../shared/fixtures/real through the shipped model.
# usage: check_sheet_music.sh QSCRIBE_BIN WORK_DIR REAL_DIR
set -euo pipefail
Q=$1 W=$2 REAL=$3
PY=/usr/bin/python3  # Debian's, with mido and mir_eval
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$W" && mkdir -p "$W" && cd "$W"
fail=0
$PY "$HERE/make_meter_pieces.py" .

# 1. What the analysis finds on pieces whose meter, key and bars are known.
for f in *.tsv; do
  n=${f%.tsv}
  "$Q" notate "$f" -o "$n.musicxml"
  "$Q" notate "$f" -o "$n.json"
  "$Q" notate "$f" -o "$n.mid" --quantize
  read -r ts tonic mode bars < "$n.expect"
  got=$($PY -c "import json; m=json.load(open('$n.json'))['metadata']; print('%d/%d' % (m['meter']['numerator'], m['meter']['denominator']), m['key']['tonic'], m['key']['mode'], m['score']['bars'])")
  read -r g_ts g_tonic g_mode g_bars <<< "$got"
  ok=1
  [ "$ts" = - ] || [ "$ts" = "$g_ts" ] || ok=0
  [ "$tonic" = - ] || [ "$tonic $mode" = "$g_tonic $g_mode" ] || ok=0
  [ "$bars" = - ] || [ "$bars" = "$g_bars" ] || ok=0
  echo "$n: found $got; expected $ts $tonic $mode $bars$([ $ok = 1 ] || echo '  <- WRONG')"
  [ $ok = 1 ] || fail=1
done

# 2. Overrides win over the estimates.
"$Q" notate triplets_Bb.tsv -o forced.musicxml --time-signature 3/4 --key "Db major" --tempo 85
"$Q" notate triplets_Bb.tsv -o forced.json --time-signature 3/4 --key "Db major" --tempo 85
$PY - <<'PY' || fail=1
import json
m = json.load(open('forced.json'))['metadata']
assert (m['meter']['numerator'], m['meter']['denominator']) == (3, 4), m['meter']
assert (m['key']['tonic'], m['key']['mode'], m['key']['fifths']) == ('Db', 'major', -5), m['key']
assert abs(m['tempo_bpm'] - 85) < 1, m['tempo_bpm']
print('forced: 3/4, Db major, 85 bpm as asked')
PY

# 3. Real recordings through the model.
for wav in "$REAL"/*.wav; do
  n=$(basename "$wav" .wav)
  "$Q" transcribe "$wav" -o "$n.musicxml" -q
  "$Q" transcribe "$wav" -o "$n.json" -q
  "$Q" transcribe "$wav" -o "$n.mid" --quantize -q
done

# 4. Every MusicXML: LilyPond, Verovio, read-back.
verovio_args=()
for x in *.musicxml; do
  n=${x%.musicxml}
  if ! musicxml2ly --no-beaming "$x" -o "$n.ly" > "$n.musicxml2ly.log" 2>&1; then
    echo "$x: musicxml2ly failed"; cat "$n.musicxml2ly.log"; fail=1; continue
  fi
  if ! lilypond -dbackend=svg -o "$n" "$n.ly" > "$n.lilypond.log" 2>&1 || grep -E -i 'error|barcheck failed' "$n.lilypond.log"; then
    echo "$x: lilypond failed"; tail -20 "$n.lilypond.log"; fail=1; continue
  fi
  echo "$x: lilypond engraved $(ls "$n"*.svg | wc -l) page(s)"
  $PY "$HERE/musicxml_readback.py" "$x" "$n.json" || fail=1
  verovio_args+=("$x:$($PY -c "import json; print(json.load(open('$n.json'))['metadata']['score']['bars'])")")
done
NODE_PATH="$HERE/../../node_modules" node "$HERE/verovio_check.mjs" "${verovio_args[@]}" || fail=1

# 5. Quantised MIDI: meter, key, tempo map, notes on the score's ticks.
for m in *.mid; do
  $PY - "$m" "${m%.mid}.json" <<'PY' || fail=1
import json, sys, mido
mid = mido.MidiFile(sys.argv[1])
meta = json.load(open(sys.argv[2]))['metadata']
score = meta['score']
scale = mid.ticks_per_beat // score['divisions']
msgs = [(t, msg) for track in mid.tracks for t, msg in zip(__import__('itertools').accumulate(m.time for m in track), track)]
ts = [m for _, m in msgs if m.type == 'time_signature']
ks = [m for _, m in msgs if m.type == 'key_signature']
tempos = [m for _, m in msgs if m.type == 'set_tempo']
ons = sorted((t, m.note) for t, m in msgs if m.type == 'note_on' and m.velocity > 0)
exp = sorted((s * scale, p) for p, s, d, _, _ in score['notes'])
assert ts and (ts[0].numerator, ts[0].denominator) == (meta['meter']['numerator'], meta['meter']['denominator']), ts
assert ks, 'no key signature'
assert tempos, 'no tempo'
assert ons == exp, f'{len(ons)} note-ons, {len(exp)} score notes'
print(f'{sys.argv[1]}: {ts[0].numerator}/{ts[0].denominator}, key {ks[0].key}, {len(tempos)} tempo events, {len(ons)} notes on the score ticks')
PY
done
exit $fail
