#!/usr/bin/python3
"""Scores beats, downbeats, tempo, meter and key estimates against `qscribe synth`'s ground truth,
side by side with aubio's beat tracker.

usage: score_beats.py REF_DIR EST_DIR [--json OUT] [--no-aubio] [--aubio CMD] [--jobs N]

REF_DIR holds, at any depth, NAME.beats.tsv ('#' header, then time_s<TAB>bar<TAB>beat_in_bar per
beat; beat_in_bar 1 = downbeat), NAME.meta.json (time_signatures, key_signatures,
stated_time_signature, stated_key) and NAME.wav, as `qscribe synth` writes them. For
REF_DIR/SUB/NAME.beats.tsv the estimate is EST_DIR/SUB/NAME.json, else EST_DIR/NAME.json: a
`qscribe transcribe --format json` file whose "metadata" object carries
  "beats": [s, ...], "downbeats": [s, ...], "tempo_bpm": float,
  "meter": {"numerator": int, "denominator": int},
  "key": {"tonic": "Eb", "mode": "major"|"minor", "fifths": int}.
A missing file or key counts as no beats, no tempo, no meter, no key (scores 0).

aubio (Debian aubio-tools: `aubio beat NAME.wav`) is run on each NAME.wav unless --no-aubio; its
beats are kept in EST_DIR/aubio/[SUB/]NAME.txt and reused on the next run.

Metrics (mir_eval 0.7, Debian python3-mir-eval; run with /usr/bin/python3):
  beats      F-measure (+-70 ms), P-score, CMLt and AMLt, after mir_eval.beat.trim_beats (the first
             5 s of reference and estimate dropped, as mir_eval does by default);
  downbeats  F-measure of the downbeats (trimmed the same way);
  tempo      the estimate within 4 % of the reference (60 / median inter-beat interval), and
             within 4 % allowing x2, x1/2, x3, x1/3;
  meter      numerator/denominator equal to the stated time signature, on the pieces whose MIDI
             states one ("meter"), and on all pieces with 4/4 for the unstated ("meter all");
  key        the stated key signature on the pieces whose MIDI states one: exact (tonic and mode)
             and MIREX's weighted score (1 same, 0.5 a fifth above, 0.3 relative, 0.2 parallel;
             mir_eval.key.weighted_score).
Where a MIDI file states several, the reference is the one in force longest over the beats (a
one-bar 1/8 pickup before 4/4 is 4/4); usually there is one.
Pieces are grouped by the first folder below REF_DIR (e.g. warped/, plain/); means per group and
over all.
"""
import argparse
import concurrent.futures
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np

import mir_eval

PC_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']  # mir_eval's tonic names
LETTER_PC = {'c': 0, 'd': 2, 'e': 4, 'f': 5, 'g': 7, 'a': 9, 'b': 11}


def read_beats_tsv(path):
    """[(time, bar, beat_in_bar)] of a NAME.beats.tsv."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            cells = line.split('\t')
            out.append((float(cells[0]), int(cells[1]), int(cells[2])))
    return out


def key_pc_from_fifths(fifths, minor):
    return (7 * int(fifths) + (9 if minor else 0)) % 12


def parse_tonic(name):
    """Pitch class of a tonic name ('Eb', 'F#', 'C♯', 'Bbb'), or None."""
    if not isinstance(name, str) or not name or name[0].lower() not in LETTER_PC:
        return None
    pc = LETTER_PC[name[0].lower()]
    for c in name[1:]:
        if c in '#♯':
            pc += 1
        elif c in 'b♭':
            pc -= 1
        elif c in 'x𝄪':
            pc += 2
        else:
            return None
    return pc % 12


def est_key(key):
    """(pitch class, 'major'|'minor') of an estimated key object, or None."""
    if not isinstance(key, dict):
        return None
    mode = key.get('mode')
    if mode not in ('major', 'minor'):
        return None
    pc = parse_tonic(key.get('tonic'))
    if pc is None and isinstance(key.get('fifths'), (int, float)):
        pc = key_pc_from_fifths(key['fifths'], mode == 'minor')
    return None if pc is None else (pc, mode)


def times(values):
    """A sorted float array of the finite numbers in a JSON list (anything else: empty)."""
    if not isinstance(values, list):
        return np.zeros(0)
    t = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    return np.array(sorted(t))


def load_estimate(path):
    """The analysis of a qscribe JSON file: beats, downbeats, tempo, meter, key (missing: empty)."""
    meta = {}
    if path and os.path.exists(path):
        try:
            with open(path) as f:
                doc = json.load(f)
            if isinstance(doc, dict) and isinstance(doc.get('metadata'), dict):
                meta = doc['metadata']
        except (OSError, ValueError) as e:
            print(f'score_beats: {path}: {e} (scored as no estimate)', file=sys.stderr)
    meter = meta.get('meter')
    meter = (meter.get('numerator'), meter.get('denominator')) if isinstance(meter, dict) else None
    tempo = meta.get('tempo_bpm')
    return {
        'found': bool(meta),
        'beats': times(meta.get('beats')),
        'downbeats': times(meta.get('downbeats')),
        'tempo_bpm': float(tempo) if isinstance(tempo, (int, float)) and tempo > 0 else None,
        'meter': meter,
        'key': est_key(meta.get('key')),
    }


def beat_scores(ref, est):
    """F-measure, P-score, CMLt, AMLt of estimated beats (both trimmed as mir_eval does)."""
    ref, est = mir_eval.beat.trim_beats(np.asarray(ref, float)), mir_eval.beat.trim_beats(np.asarray(est, float))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # "Estimated beats are empty." and the like: scores 0
        if ref.size == 0:
            return None
        f = mir_eval.beat.f_measure(ref, est)
        p = mir_eval.beat.p_score(ref, est) if est.size and ref.size >= 2 else 0.0
        cmlc, cmlt, amlc, amlt = mir_eval.beat.continuity(ref, est) if est.size >= 2 and ref.size >= 2 else (0, 0, 0, 0)
    return {'f': float(f), 'p': float(p), 'cmlt': float(cmlt), 'amlt': float(amlt)}


def downbeat_f(ref, est):
    ref, est = mir_eval.beat.trim_beats(np.asarray(ref, float)), mir_eval.beat.trim_beats(np.asarray(est, float))
    if ref.size == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return float(mir_eval.beat.f_measure(ref, est))


def tempo_scores(ref_beats, est_bpm):
    """(within 4 %, within 4 % of x1, x2, x1/2, x3, x1/3) against 60 / median IBI."""
    if len(ref_beats) < 2:
        return None, None
    ref_bpm = 60.0 / float(np.median(np.diff(ref_beats)))
    if est_bpm is None:
        return 0.0, 0.0
    close = lambda r: abs(est_bpm - r) <= 0.04 * r
    return float(close(ref_bpm)), float(any(close(ref_bpm * m) for m in (1, 2, 0.5, 3, 1 / 3)))


def run_aubio(cmd, wav, cache):
    """aubio's beats of a WAV (cached in `cache`)."""
    if not os.path.exists(cache):
        r = subprocess.run(cmd + [wav], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f'{" ".join(cmd)} {wav} failed: {r.stderr.strip()[-300:]}')
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache + '.part', 'w') as f:
            f.write(r.stdout)
        os.replace(cache + '.part', cache)
    t = []
    with open(cache) as f:
        for line in f:
            try:
                t.append(float(line.split()[0]))
            except (ValueError, IndexError):
                pass
    return np.array(sorted(t))


def predominant(events, end):
    """The event (dict with time_s) in force longest until `end`; the first on a tie."""
    best, best_len = None, -1.0
    for i, e in enumerate(events):
        stop = events[i + 1]['time_s'] if i + 1 < len(events) else max(end, e['time_s'])
        if stop - e['time_s'] > best_len + 1e-9:
            best, best_len = e, stop - e['time_s']
    return best


def grid_alignment(midi_path, ref_beats):
    """Does the reference grid fit its own notes? The share of the labels' onsets within 0.08 beat
    of a grid beat, against the same share at the other phases (in twelfths of a beat). A grid is
    trusted when its beats hold twice the mean share of the twelve phases and 80 % of the best
    other phase: this rejects MIDI files whose tempo map does not follow their notes (free-time
    recordings) and ABC tunes whose anacrusis abc2midi did not shift (the grid off by part of a
    beat), and keeps syncopated music, whose off-beats are busy but whose beats are too."""
    try:
        import mido
        onsets, t = [], 0.0
        for msg in mido.MidiFile(midi_path):
            t += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                onsets.append(t)
    except Exception:
        return None, True
    if len(onsets) < 8 or ref_beats.size < 3:
        return None, True
    pos = np.interp(np.array(onsets), ref_beats, np.arange(ref_beats.size))
    phase = pos % 1.0
    share = lambda shift: float(np.mean(np.abs((phase - shift + 0.5) % 1.0 - 0.5) < 0.08))
    shares = [share(k / 12) for k in range(12)]
    on, other = shares[0], max(shares[1:])
    return round(on, 3), bool(on >= 2.0 * np.mean(shares) and on >= 0.8 * other)


def score_piece(ref_dir, est_dir, beats_path, aubio_cmd):
    rel = os.path.relpath(beats_path, ref_dir)
    sub = os.path.dirname(rel)
    name = os.path.basename(rel)[:-len('.beats.tsv')]
    stem = beats_path[:-len('.beats.tsv')]
    grid = read_beats_tsv(beats_path)
    ref_beats = np.array([t for t, _, _ in grid])
    ref_down = np.array([t for t, _, b in grid if b == 1])
    meta = {}
    if os.path.exists(stem + '.meta.json'):
        with open(stem + '.meta.json') as f:
            meta = json.load(f)
    est_path = os.path.join(est_dir, sub, name + '.json')
    if not os.path.exists(est_path):
        est_path = os.path.join(est_dir, name + '.json')
    est = load_estimate(est_path)

    piece = {'name': name, 'set': sub.split(os.sep)[0] if sub else '.', 'ref_beats': int(ref_beats.size),
             'ref_tempo_bpm': round(60.0 / float(np.median(np.diff(ref_beats))), 2) if ref_beats.size >= 2 else None,
             'estimate_found': est['found']}
    piece['grid_alignment'], piece['grid_ok'] = grid_alignment(stem + '.mid', ref_beats)
    q = beat_scores(ref_beats, est['beats']) or {}
    q['downbeat_f'] = downbeat_f(ref_down, est['downbeats'])
    q['tempo_bpm'] = est['tempo_bpm']
    q['tempo_acc1'], q['tempo_acc2'] = tempo_scores(ref_beats, est['tempo_bpm'])
    end = float(ref_beats[-1]) if ref_beats.size else 0.0
    # Meter: the stated time signature (4/4 when none is stated).
    ts = meta.get('time_signatures') or []
    stated_ts = bool(meta.get('stated_time_signature')) and len(ts) > 0
    main_ts = predominant(ts, end) if stated_ts else None
    ref_meter = (main_ts['numerator'], main_ts['denominator']) if stated_ts else (4, 4)
    piece['stated_time_signature'] = stated_ts
    piece['ref_meter'] = f'{ref_meter[0]}/{ref_meter[1]}'
    q['meter'] = f'{est["meter"][0]}/{est["meter"][1]}' if est['meter'] else None
    q['meter_ok'] = float(est['meter'] is not None and tuple(est['meter']) == tuple(ref_meter))
    # Key: the stated key signature.
    ks = meta.get('key_signatures') or []
    stated_key = bool(meta.get('stated_key')) and len(ks) > 0
    piece['stated_key'] = stated_key
    if stated_key:
        main_ks = predominant(ks, end)
        minor = bool(main_ks.get('minor'))
        ref_key = f'{PC_NAMES[key_pc_from_fifths(main_ks["fifths"], minor)]} {"minor" if minor else "major"}'
        piece['ref_key'] = ref_key
        est_key_str = f'{PC_NAMES[est["key"][0]]} {est["key"][1]}' if est['key'] else None
        q['key'] = est_key_str
        q['key_exact'] = float(est_key_str == ref_key)
        q['key_weighted'] = float(mir_eval.key.weighted_score(ref_key, est_key_str)) if est_key_str else 0.0
    elif est['key']:
        q['key'] = f'{PC_NAMES[est["key"][0]]} {est["key"][1]}'
    piece['qscribe'] = q
    if aubio_cmd:
        wav = stem + '.wav'
        if os.path.exists(wav):
            a_beats = run_aubio(aubio_cmd, wav, os.path.join(est_dir, 'aubio', sub, name + '.txt'))
            piece['aubio'] = beat_scores(ref_beats, a_beats) or {}
            if len(a_beats) >= 2:
                a_bpm = 60.0 / float(np.median(np.diff(a_beats)))
                piece['aubio']['tempo_bpm'] = round(a_bpm, 2)
                piece['aubio']['tempo_acc1'], piece['aubio']['tempo_acc2'] = tempo_scores(ref_beats, a_bpm)
            else:
                piece['aubio']['tempo_acc1'], piece['aubio']['tempo_acc2'] = tempo_scores(ref_beats, None)
        else:
            print(f'score_beats: {wav} missing: no aubio score', file=sys.stderr)
    return piece


def mean(values):
    v = [x for x in values if x is not None]
    return (float(np.mean(v)), len(v)) if v else (None, 0)


def summarise(pieces, tracker):
    """Means of one tracker's scores over pieces (None where nothing was scored)."""
    rows = [p[tracker] for p in pieces if tracker in p]
    out = {'pieces': len(rows)}
    for k in ('f', 'p', 'cmlt', 'amlt', 'downbeat_f', 'tempo_acc1', 'tempo_acc2'):
        out[k], _ = mean([r.get(k) for r in rows])
    if tracker == 'qscribe':
        stated = [p for p in pieces if p['stated_time_signature']]
        out['meter_acc'], out['meter_n'] = mean([p['qscribe']['meter_ok'] for p in stated])
        out['meter_acc_all'], _ = mean([p['qscribe']['meter_ok'] for p in pieces])
        keyed = [p for p in pieces if p['stated_key']]
        out['key_exact'], out['key_n'] = mean([p['qscribe'].get('key_exact') for p in keyed])
        out['key_weighted'], _ = mean([p['qscribe'].get('key_weighted') for p in keyed])
    return out


def fmt(v, digits=3):
    return '-' if v is None else f'{v:.{digits}f}'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('ref_dir')
    ap.add_argument('est_dir')
    ap.add_argument('--json', help='write the per-piece scores and the means here')
    ap.add_argument('--no-aubio', action='store_true', help="don't run aubio's beat tracker")
    ap.add_argument('--aubio', default='aubio beat', help='the aubio command, given NAME.wav (default: "aubio beat")')
    ap.add_argument('--jobs', type=int, default=2, help='pieces scored in parallel (aubio runs)')
    a = ap.parse_args()

    refs = sorted(glob.glob(os.path.join(a.ref_dir, '**', '*.beats.tsv'), recursive=True))
    if not refs:
        print(f'score_beats: no NAME.beats.tsv under {a.ref_dir}', file=sys.stderr)
        return 1
    aubio_cmd = None
    if not a.no_aubio:
        aubio_cmd = a.aubio.split()
        if shutil.which(aubio_cmd[0]) is None:
            print(f'score_beats: {aubio_cmd[0]} not found (apt-get install aubio-tools, or --no-aubio)', file=sys.stderr)
            return 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        pieces = list(pool.map(lambda r: score_piece(a.ref_dir, a.est_dir, r, aubio_cmd), refs))
    if not any(p['estimate_found'] for p in pieces):
        print(f'score_beats: warning: {a.est_dir} holds none of the {len(pieces)} NAME.json estimates', file=sys.stderr)

    trackers = ['qscribe'] + (['aubio'] if aubio_cmd else [])
    print('| piece | set | beats | ' + ' | '.join(f'{t} F / P / CMLt' for t in trackers) +
          ' | downbeat F | tempo (ref) | meter (ref) | key (ref) |')
    print('|---|---|---|' + '---|' * len(trackers) + '---|---|---|---|')
    for p in pieces:
        cells = [p['name'], p['set'], str(p['ref_beats'])]
        for t in trackers:
            s = p.get(t, {})
            cells.append(f'{fmt(s.get("f"), 2)} / {fmt(s.get("p"), 2)} / {fmt(s.get("cmlt"), 2)}')
        q = p['qscribe']
        cells.append(fmt(q.get('downbeat_f'), 2))
        cells.append(f'{fmt(q.get("tempo_bpm"), 1)} ({fmt(p["ref_tempo_bpm"], 1)})')
        cells.append(f'{q.get("meter") or "-"} ({p["ref_meter"]}{"" if p["stated_time_signature"] else ", unstated"})')
        cells.append(f'{q.get("key") or "-"} ({p.get("ref_key", "unstated")})')
        print('| ' + ' | '.join(cells) + ' |')

    sets = sorted({p['set'] for p in pieces})
    groups = [(s, [p for p in pieces if p['set'] == s]) for s in sets] + ([('all', pieces)] if len(sets) > 1 else [])
    # The same without the pieces whose reference grid does not fit their own notes (grid_alignment).
    trusted = [p for p in pieces if p['grid_ok']]
    if 0 < len(trusted) < len(pieces):
        groups.append(('all, grid fits its notes', trusted))
        untrusted = sorted({p['name'] for p in pieces if not p['grid_ok']})
        print(f'\nreference grids that do not fit their notes: {", ".join(untrusted)}')
    summary = {name: {t: summarise(group, t) for t in trackers} for name, group in groups}
    print()
    print('| set | pieces | tracker | beat F | P-score | CMLt | AMLt | tempo ±4 % | tempo x2/x3 | downbeat F |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for name, _ in groups:
        for t in trackers:
            s = summary[name][t]
            print(f'| {name} | {s["pieces"]} | {t} | {fmt(s["f"])} | {fmt(s["p"])} | {fmt(s["cmlt"])} | '
                  f'{fmt(s["amlt"])} | {fmt(s["tempo_acc1"], 2)} | {fmt(s["tempo_acc2"], 2)} | '
                  f'{fmt(s["downbeat_f"]) if t == "qscribe" else "-"} |')
    print()
    print('| set | meter acc (stated) | meter acc (all, 4/4 if unstated) | key exact (stated) | key MIREX weighted |')
    print('|---|---|---|---|---|')
    for name, _ in groups:
        s = summary[name]['qscribe']
        print(f'| {name} | {fmt(s["meter_acc"], 2)} (n={s["meter_n"]}) | {fmt(s["meter_acc_all"], 2)} | '
              f'{fmt(s["key_exact"], 2)} (n={s["key_n"]}) | {fmt(s["key_weighted"], 2)} |')
    if a.json:
        with open(a.json + '.part', 'w') as f:
            json.dump({'pieces': pieces, 'summary': summary}, f, indent=1)
        os.replace(a.json + '.part', a.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
