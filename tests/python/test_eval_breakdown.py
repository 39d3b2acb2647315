#!/usr/bin/python3
"""Test of scripts/eval-breakdown: a hand-made case with known per-register and per-polyphony
numbers, and random note sets whose totals must agree with mir_eval's onset-only note metrics
(the script matches greedily, mir_eval optimally: they may differ by a few notes in a thousand).

usage: test_eval_breakdown.py SCRIPT   (needs Debian's python3-mir-eval: run with /usr/bin/python3)
"""
import os
import random
import re
import subprocess
import sys
import tempfile

import mir_eval
import numpy as np


def write(path, notes):
    with open(path, 'w') as f:
        f.write('# onset\toffset\tpitch\n')
        for on, off, p in notes:
            f.write(f'{on:.4f}\t{off:.4f}\t{p}\n')


def run(script, ref_dir, *est):
    r = subprocess.run([sys.executable, script, ref_dir, *est], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def row(out, first_cell):
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f'no row {first_cell!r} in\n{out}')


def hand_made(script, tmp):
    ref_dir, est_dir = os.path.join(tmp, 'ref'), os.path.join(tmp, 'est')
    os.makedirs(ref_dir), os.makedirs(est_dir)
    # A solo C4 (found), then a C2+C4+G4 chord (C2 found, C4 found 40 ms late, G4 missed), and
    # an estimated C6 that matches nothing.
    write(os.path.join(ref_dir, 'a.ref.tsv'), [(0.0, 0.5, 60), (1.0, 2.0, 36), (1.0, 2.0, 60), (1.0, 2.0, 67)])
    write(os.path.join(est_dir, 'a.tsv'), [(0.01, 0.4, 60), (1.0, 1.5, 36), (1.04, 1.9, 60), (1.0, 1.2, 84)])
    out = run(script, ref_dir, 'x=' + est_dir)
    assert row(out, 'C2-B2')[1:] == ['1', '1.00 / 1.00'], out
    assert row(out, 'C4-B4')[1:] == ['3', '0.67 / 1.00'], out
    assert row(out, 'C6-B6')[1:] == ['0', '- / 0.00'], out
    assert row(out, '1')[1:] == ['1', '1.00'], out
    assert row(out, '2-3')[1:] == ['3', '0.67'], out
    assert row(out, 'all')[1:] == ['4', '0.750 / 0.750 / 0.750'], out
    assert '| x R / P |' in out, out
    # The C6 matches nothing: two octaves above the sounding C4.
    assert row(out, 'octave or 12th above')[1:] == ['1'], out
    assert row(out, 'other pitch')[1:] == ['0'], out
    # A directory without any of the estimates is an error, not a row of zeros.
    r = subprocess.run([sys.executable, script, ref_dir, ref_dir], capture_output=True, text=True)
    assert r.returncode == 1 and 'holds none of the 1 NAME.tsv' in r.stderr, (r.returncode, r.stderr)


def false_notes(script, tmp):
    ref_dir, est_dir = os.path.join(tmp, 'fref'), os.path.join(tmp, 'fest')
    os.makedirs(ref_dir), os.makedirs(est_dir)
    # C3 held 0-2 s, E4 0-1 s. Estimates: C3 found, C3 struck again at 1 s (re-strike), C4 and G4
    # at 0.5 s (octave and 12th above C3), E3 at 0.5 s (octave below E4), F#5 at 1.5 s (other).
    write(os.path.join(ref_dir, 'f.ref.tsv'), [(0.0, 2.0, 48), (0.0, 1.0, 64)])
    write(os.path.join(est_dir, 'f.tsv'), [(0.0, 2.0, 48), (1.0, 2.0, 48), (0.5, 1.0, 60), (0.5, 1.0, 67),
                                           (0.5, 1.0, 52), (1.5, 2.0, 78)])
    out = run(script, ref_dir, est_dir)
    assert row(out, 're-strike of a sounding pitch')[1:] == ['1'], out
    assert row(out, 'octave or 12th above')[1:] == ['2'], out
    assert row(out, 'octave below')[1:] == ['1'], out
    assert row(out, 'other pitch')[1:] == ['1'], out


def random_sets(script, tmp, seed=5):
    rng = random.Random(seed)
    ref_dir, est_dir = os.path.join(tmp, 'rref'), os.path.join(tmp, 'rest')
    os.makedirs(ref_dir), os.makedirs(est_dir)
    tp = n_ref = n_est = 0
    for k in range(12):
        ref = []
        for _ in range(rng.randint(20, 120)):
            on = rng.uniform(0, 30)
            ref.append((on, on + rng.uniform(0.05, 2.0), rng.randint(21, 108)))
        est = []
        for on, off, p in ref:
            if rng.random() < 0.7:  # found, with jitter, sometimes an octave off
                est.append((max(0.0, on + rng.gauss(0, 0.03)), off, p + (12 if rng.random() < 0.1 else 0)))
        for _ in range(rng.randint(0, 30)):  # spurious
            on = rng.uniform(0, 30)
            est.append((on, on + 0.3, rng.randint(21, 108)))
        write(os.path.join(ref_dir, f'p{k}.ref.tsv'), ref)
        write(os.path.join(est_dir, f'p{k}.tsv'), est)
        ri = np.array([[a, b] for a, b, _ in ref]); rp = np.array([mir_eval.util.midi_to_hz(p) for *_, p in ref])
        ei = np.array([[a, b] for a, b, _ in est]).reshape(-1, 2)
        ep = np.array([mir_eval.util.midi_to_hz(p) for *_, p in est])
        tp += len(mir_eval.transcription.match_notes(ri, rp, ei, ep, offset_ratio=None))
        n_ref += len(ref); n_est += len(est)
    p, r = tp / n_est, tp / n_ref
    f1 = 2 * p * r / (p + r)
    cells = row(run(script, ref_dir, est_dir), 'all')
    got = [float(x) for x in re.findall(r'[0-9.]+', cells[2])]
    assert int(cells[1]) == n_ref, cells
    for g, want in zip(got, (p, r, f1)):
        assert abs(g - want) < 0.005, f'{cells} vs mir_eval P {p:.4f} R {r:.4f} F1 {f1:.4f}'
    print(f'random sets: {n_ref} reference notes; eval-breakdown {cells[2]} vs mir_eval '
          f'{p:.3f} / {r:.3f} / {f1:.3f}')


def main():
    script = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        hand_made(script, tmp)
        false_notes(script, tmp)
        random_sets(script, tmp)
    print('eval-breakdown: ok')


if __name__ == '__main__':
    main()
