#!/usr/bin/python3
"""How well `qscribe notate --quantize` puts performed notes back on the written grid.

usage: score_quantize.py REF_DIR EST_DIR [--json OUT]

REF_DIR/**/NAME.mid are synth's labels (the notes as performed: tempo warp, rubato and onset
jitter included) and NAME.beats.tsv the written beats in the same time. EST_DIR/NAME.json is
`qscribe notate NAME.mid -o NAME.json --quantize` (snapped notes in seconds, the score's notes in
ticks). For every label note matched to a snapped note (same pitch, nearest onset within 150 ms):
  * the written onset: the label's position on the reference beat grid rounded to the nearest
    1/12 beat (sixteenths and triplets), in seconds through that grid;
  * onset error after snapping = |snapped onset - written onset| (ms; median, 90th percentile,
    share within 10 ms), against the same for the raw performed onsets (what snapping removed);
  * duration match: the notated duration in beats (score ticks / ticks per beat) equals the
    written one (the label's length on the reference grid, rounded to 1/12 beat), on the pieces
    whose tracked beat is the written beat (median beat length within 10 %).
"""
import argparse
import glob
import json
import os
import sys

import mido
import numpy as np


def read_labels(path):
    mid = mido.MidiFile(path)
    notes, on = [], {}
    t = 0.0
    for msg in mid:
        t += msg.time
        if msg.type == 'note_on' and msg.velocity > 0:
            on.setdefault(msg.note, []).append(t)
        elif msg.type in ('note_off', 'note_on') and on.get(msg.note):
            notes.append((on[msg.note].pop(0), t, msg.note))
    return sorted(notes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ref')
    ap.add_argument('est')
    ap.add_argument('--json')
    a = ap.parse_args()
    rows = []
    for bt in sorted(glob.glob(os.path.join(a.ref, '**', '*.beats.tsv'), recursive=True)):
        name = os.path.basename(bt)[:-len('.beats.tsv')]
        sub = os.path.relpath(os.path.dirname(bt), a.ref)
        est_path = os.path.join(a.est, sub, name + '.json')
        if not os.path.exists(est_path):
            continue
        grid = np.loadtxt(bt, comments='#', ndmin=2)[:, 0]
        if len(grid) < 3:
            continue
        idx = np.arange(len(grid), dtype=float)
        pos = lambda t: np.interp(t, grid, idx, left=np.nan, right=np.nan)
        time_of = lambda p: np.interp(p, idx, grid)
        labels = read_labels(os.path.join(os.path.dirname(bt), name + '.mid'))
        est = json.load(open(est_path))
        meta = est['metadata']
        snapped = [(n['onset'], n['offset'], n['pitch']) for n in est['notes']]
        score = meta['score']
        compound = meta['meter']['denominator'] == 8 and meta['meter']['numerator'] % 3 == 0 and meta['meter']['numerator'] > 3
        beat_ticks = 18 if compound else 12
        by_pitch = {}
        for s in snapped:
            by_pitch.setdefault(s[2], []).append(s)
        est_beat = np.median(np.diff(meta['beats'])) if len(meta['beats']) > 1 else np.nan
        ref_beat = np.median(np.diff(grid))
        same_level = abs(est_beat / ref_beat - 1) < 0.1
        # Score notes sorted like the snapped notes (by onset time, then pitch) to pair durations.
        sn = sorted(score['notes'], key=lambda n: (n[1], n[0]))
        dur_by_onset = {}
        for (on, off, p), n in zip(sorted(snapped, key=lambda s: (s[0], s[2])), sn):
            dur_by_onset[(round(on, 4), p)] = n[2] / beat_ticks
        err_snap, err_raw, dur_ok, dur_n = [], [], 0, 0
        for on, off, p in labels:
            q = pos(on)
            if np.isnan(q):
                continue
            written = time_of(np.round(q * 12) / 12)
            cands = by_pitch.get(p, [])
            if not cands:
                continue
            best = min(cands, key=lambda s: abs(s[0] - on))
            if abs(best[0] - on) > 0.15:
                continue
            err_snap.append(abs(best[0] - written))
            err_raw.append(abs(on - written))
            if same_level and not np.isnan(pos(off)):
                written_dur = np.round((pos(off) - q) * 12) / 12
                d = dur_by_onset.get((round(best[0], 4), p))
                if d is not None:
                    dur_n += 1
                    dur_ok += abs(d - written_dur) < 1 / 24
        if not err_snap:
            continue
        e, r = np.array(err_snap) * 1000, np.array(err_raw) * 1000
        rows.append({'piece': name, 'set': sub, 'matched': len(e), 'snap_median_ms': float(np.median(e)),
                     'snap_p90_ms': float(np.percentile(e, 90)), 'snap_within_10ms': float(np.mean(e <= 10)),
                     'raw_median_ms': float(np.median(r)), 'same_level': bool(same_level),
                     'duration_match': dur_ok / dur_n if dur_n else None, 'durations': dur_n})
    print('| piece | set | notes | onset error after snapping: median / p90 ms (within 10 ms) | performed | beat level | durations right |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        dm = '-' if r['duration_match'] is None else f"{r['duration_match']:.2f} ({r['durations']})"
        print(f"| {r['piece']} | {r['set']} | {r['matched']} | {r['snap_median_ms']:.1f} / {r['snap_p90_ms']:.1f} ({r['snap_within_10ms']:.2f}) "
              f"| {r['raw_median_ms']:.1f} | {'written' if r['same_level'] else 'other'} | {dm} |")
    for s in sorted({r['set'] for r in rows}) + ['all']:
        sel = [r for r in rows if s == 'all' or r['set'] == s]
        lev = [r for r in sel if r['duration_match'] is not None]
        tot = sum(r['durations'] for r in lev)
        dm = sum(r['duration_match'] * r['durations'] for r in lev) / tot if tot else float('nan')
        print(f"\n{s}: {len(sel)} pieces; median onset error after snapping {np.median([r['snap_median_ms'] for r in sel]):.1f} ms "
              f"(performed {np.median([r['raw_median_ms'] for r in sel]):.1f} ms), within 10 ms {np.mean([r['snap_within_10ms'] for r in sel]):.2f}; "
              f"beat level as written in {sum(r['same_level'] for r in sel)}/{len(sel)}; notated durations right {dm:.2f} of {tot} notes there")
    if a.json:
        json.dump(rows, open(a.json, 'w'), indent=1)


if __name__ == '__main__':
    main()
