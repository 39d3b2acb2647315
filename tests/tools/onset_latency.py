#!/usr/bin/env python3
"""How far the sound of each note rises after its labelled onset (docs/training.md, "Timing").

For every note with no other onset within 120 ms: the audio band-passed to +-1 semitone around
its fundamental (zero-phase, so the filter adds no delay), its Hilbert envelope in dB, and the
first time it is halfway up from the level before the onset (-200..-60 ms) to its peak
(-50..+150 ms). Prints per file and pooled: the median and interquartile range, in ms, of that
time minus the label. Positive: the sound rises after the label.

usage: /usr/bin/python3 tests/tools/onset_latency.py DIR...   (DIR holds NAME.wav + NAME.ref.tsv)
"""
import glob
import sys

import numpy as np
import soundfile as sf
from scipy.signal import butter, hilbert, sosfiltfilt


def read_notes(path):
    notes = []
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        t = line.split()
        notes.append((float(t[0]), float(t[1]), int(round(float(t[2])))))
    return notes


def rise_ms(x, sr, onset, pitch):
    """Halfway-up time of the note's band, ms after `onset`; None when it cannot be measured."""
    f = 440.0 * 2 ** ((pitch - 69) / 12)
    a, b = int((onset - 0.2) * sr), int((onset + 0.2) * sr)
    pad = sr // 2
    if f * 1.06 > 0.45 * sr or a - pad < 0 or b + pad > len(x):
        return None
    sos = butter(2, [f * 2 ** (-1 / 12), f * 2 ** (1 / 12)], btype='band', fs=sr, output='sos')
    seg = sosfiltfilt(sos, x[a - pad:b + pad])[pad:pad + b - a]
    k = max(1, int(0.004 * sr))
    env = np.convolve(np.abs(hilbert(seg)), np.ones(k) / k, 'same')
    db = 20 * np.log10(env + 1e-9)
    t = np.arange(len(db)) / sr - 0.2
    before = np.median(db[(t > -0.2) & (t < -0.06)])
    peak = db[(t > -0.05) & (t < 0.15)].max()
    if peak - before < 6:
        return None
    up = np.where((t > -0.06) & (db > before + 0.5 * (peak - before)))[0]
    return t[up[0]] * 1000 if len(up) else None


def file_latencies(wav):
    x, sr = sf.read(wav)
    x = x.mean(1) if x.ndim > 1 else x
    notes = read_notes(wav[:-4] + '.ref.tsv')
    onsets = np.array([n[0] for n in notes])
    out = []
    for on, off, pitch in notes:
        if np.sum(np.abs(onsets - on) < 0.12) > 1 or off - on < 0.1 or pitch < 40:
            continue
        d = rise_ms(x, sr, on, pitch)
        if d is not None:
            out.append(d)
    return np.array(out)


def summary(name, d):
    q1, med, q3 = np.percentile(d, [25, 50, 75])
    return f'{name:44s} n={len(d):5d}  median {med:+6.1f} ms  IQR {q1:+6.1f} .. {q3:+6.1f}'


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for directory in sys.argv[1:]:
        pooled = []
        for wav in sorted(glob.glob(f'{directory}/*.wav')):
            d = file_latencies(wav)
            if len(d):
                print(summary(wav.split('/')[-1][:-4], d))
                pooled.append(d)
        if pooled:
            print(summary(f'POOLED {directory}', np.concatenate(pooled)))


if __name__ == '__main__':
    main()
