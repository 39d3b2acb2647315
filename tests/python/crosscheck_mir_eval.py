#!/usr/bin/python3
"""Cross-check qscribe's metrics (shared/src/metrics.cpp) against mir_eval and the referee's scorer.

usage: crosscheck_mir_eval.py TOOL [--score-py PATH] [--cases N] [--seed S] [--tol 1e-6]

TOOL (qs_metrics_crosscheck) writes random reference/estimate note sets with qscribe's numbers.
This script recomputes them
  1. with mir_eval directly: note P/R/F1 and average overlap ratio, onset-only and with offsets,
     and the matched (ref, est) pairs themselves (they must be identical, pair for pair);
  2. with shared/eval/score.py (the outside referee) run on TSV files of the same notes: per piece,
     POOLED and MEAN note, note+offset and frame P/R/F1 and exact-frame accuracy k = 0, 1, 2.
Every value must agree within --tol. Needs Debian's python3-mir-eval (run with /usr/bin/python3).
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import types
import warnings

import mir_eval
import numpy as np

warnings.filterwarnings('ignore')


def load_score_py(path):
    spec = importlib.util.spec_from_file_location('qs_referee_score', path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(mod)
    return mod


def clip(est, dur):
    """score.py's clipping of estimates to the audio's duration."""
    if len(est):
        est = est[(est[:, 0] < dur) & (est[:, 1] > 0)]
        est[:, 0] = np.maximum(est[:, 0], 0.0)
        est[:, 1] = np.minimum(est[:, 1], dur)
    return est


class Checker:
    def __init__(self, tol):
        self.tol, self.n, self.worst, self.failures = tol, 0, 0.0, []

    def close(self, what, ours, theirs):
        self.n += 1
        d = abs(float(ours) - float(theirs))
        self.worst = max(self.worst, d)
        if not d <= self.tol:
            self.failures.append(f'{what}: qscribe {ours!r} vs reference {theirs!r} (diff {d:.3g})')

    def equal(self, what, ours, theirs):
        self.n += 1
        if ours != theirs:
            self.failures.append(f'{what}: qscribe {ours} vs mir_eval {theirs}')


def check_mir_eval_direct(case, chk):
    ref = np.array(case['ref'], dtype=float).reshape(-1, 3)
    est = np.array(case['est'], dtype=float).reshape(-1, 3)
    name = case['name']
    hz = mir_eval.util.midi_to_hz
    # Matchings on the unclipped notes.
    if len(ref) and len(est):
        for key, kw in (('matching', dict(offset_ratio=None)), ('matching_offset', dict(offset_ratio=0.2))):
            m = mir_eval.transcription.match_notes(ref[:, :2], hz(ref[:, 2]), est[:, :2], hz(est[:, 2]),
                                                   onset_tolerance=0.05, pitch_tolerance=50.0, **kw)
            chk.equal(f'{name} {key}', [list(p) for p in case[key]], [[int(a), int(b)] for a, b in m])
    # P/R/F1 + overlap on the clipped estimates, as score.py scores them.
    dur = case['duration'] if case['duration'] >= 0 else max(
        ref[:, 1].max() if len(ref) else 0.0, est[:, 1].max() if len(est) else 0.0)
    est = clip(est, dur)
    ours = case['ours']
    for key, overlap_key, kw in (('note', 'note_overlap', dict(offset_ratio=None)),
                                 ('note_offset', 'note_offset_overlap', dict(offset_ratio=0.2))):
        if len(ref) == 0 or len(est) == 0:
            p = r = f = aor = 0.0
        else:
            p, r, f, aor = mir_eval.transcription.precision_recall_f1_overlap(
                ref[:, :2], hz(ref[:, 2]), est[:, :2], hz(est[:, 2]), onset_tolerance=0.05,
                pitch_tolerance=50.0, offset_min_tolerance=0.05, **kw)
        for s, v in (('P', p), ('R', r), ('F1', f)):
            chk.close(f'{name} mir_eval {key} {s}', ours[key][s], v)
        chk.close(f'{name} mir_eval {key} overlap', ours[overlap_key], aor)


def write_tsv(path, notes):
    with open(path, 'w') as f:
        for on, off, p in notes:
            f.write(f'{on!r}\t{off!r}\t{int(p)}\n')


def compare_scores(chk, label, ours, theirs):
    for key in ('note', 'note_offset', 'frame'):
        for s in ('P', 'R', 'F1'):
            chk.close(f'{label} {key} {s}', ours[key][s], theirs[key][s])
    for k in ('k0', 'k1', 'k2'):
        chk.close(f'{label} exact {k}', ours['exact_frame_acc'][k], theirs['exact_frame_acc'][k])


def check_score_py(data, score, chk):
    durations = {}
    with tempfile.TemporaryDirectory(prefix='qs-crosscheck-') as tmp:
        ref_dir, est_dir = os.path.join(tmp, 'ref'), os.path.join(tmp, 'est')
        os.makedirs(ref_dir)
        os.makedirs(est_dir)
        for case in data['cases']:
            name = case['name']
            write_tsv(os.path.join(ref_dir, name + '.ref.tsv'), case['ref'])
            write_tsv(os.path.join(est_dir, name + '.tsv'), case['est'])
            if case['duration'] >= 0:
                # score.py reads the duration from NAME.wav; a stub answers with the exact value
                # (what sf.info would return for a file of that many frames).
                wav = os.path.join(ref_dir, name + '.wav')
                open(wav, 'w').close()
                durations[wav] = case['duration']
        score.sf = types.SimpleNamespace(info=lambda p: types.SimpleNamespace(duration=durations[p]))
        out_json = os.path.join(tmp, 'scores.json')
        argv = sys.argv
        sys.argv = ['score.py', ref_dir, est_dir, '--json', out_json]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                score.main()
        finally:
            sys.argv = argv
        with open(out_json) as f:
            ref_scores = json.load(f)
    for case in data['cases']:
        compare_scores(chk, f'{case["name"]} score.py', case['ours'], ref_scores['pieces'][case['name']])
    compare_scores(chk, 'POOLED score.py', data['pooled'], ref_scores['pooled'])
    compare_scores(chk, 'MEAN score.py', data['mean'], ref_scores['mean'])
    # Summed counts: identical to score.py's POOLED unless times shifted onto one line round differently.
    pooled_diff = max(abs(data['pooled_from_counts'][k][s] - ref_scores['pooled'][k][s])
                      for k in ('note', 'note_offset', 'frame') for s in ('P', 'R', 'F1'))
    return pooled_diff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('tool')
    ap.add_argument('--score-py', help="the referee's score.py (skipped when absent)")
    ap.add_argument('--cases', type=int, default=300)
    ap.add_argument('--seed', type=int, default=20240601)
    ap.add_argument('--tol', type=float, default=1e-6)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix='qs-crosscheck-') as tmp:
        path = os.path.join(tmp, 'cases.json')
        subprocess.run([a.tool, path, str(a.cases), str(a.seed)], check=True)
        with open(path) as f:
            data = json.load(f)

    chk = Checker(a.tol)
    for case in data['cases']:
        check_mir_eval_direct(case, chk)
    n_direct = chk.n
    pooled_diff = None
    if a.score_py:
        if not os.path.exists(a.score_py):
            sys.exit(f'referee scorer not found: {a.score_py} (the eval scripts beside the repository)')
        pooled_diff = check_score_py(data, load_score_py(a.score_py), chk)

    n_ref = sum(len(c['ref']) for c in data['cases'])
    n_est = sum(len(c['est']) for c in data['cases'])
    print(f'{len(data["cases"])} cases ({n_ref} reference / {n_est} estimated notes): '
          f'{n_direct} values vs mir_eval, {chk.n - n_direct} vs score.py; worst |diff| {chk.worst:.3g}')
    if pooled_diff is not None:
        print(f'pooled from summed counts vs score.py POOLED: worst |diff| {pooled_diff:.3g}')
    for line in chk.failures[:30]:
        print('MISMATCH ' + line)
    if chk.failures:
        print(f'{len(chk.failures)} mismatches')
        return 1
    print('all agree')
    return 0


if __name__ == '__main__':
    sys.exit(main())
