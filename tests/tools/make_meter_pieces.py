#!/usr/bin/python3
"""Writes small note lists (TSV: onset offset pitch velocity) in known meters, keys and tempi, for
the sheet-music checks: OUTDIR/NAME.tsv plus OUTDIR/NAME.expect (time signature, key, bars).

usage: make_meter_pieces.py OUTDIR
Timing is humanised deterministically (a few ms of jitter) so the quantiser has work to do.
"""
import math
import os
import sys


def jit(i, ms=12):
    return ms * 1e-3 * math.sin(i * 12.9898)


def write(out, name, notes, expect):
    with open(os.path.join(out, name + '.tsv'), 'w') as f:
        f.write('# onset\toffset\tpitch\tvelocity\n')
        for on, off, p, v in sorted(notes):
            f.write(f'{on:.6f}\t{off:.6f}\t{p}\t{v}\n')
    with open(os.path.join(out, name + '.expect'), 'w') as f:
        f.write(expect + '\n')


def waltz(out):
    """3/4 in G major, 120 bpm: bass on 1, chords on 2 and 3, a melody of quarters and eighths.
    (At 144 bpm the tracker takes two beats for one: a known weakness, measured by eval-beats.)"""
    beat = 60 / 120
    chords = [(43, [59, 62, 67]), (50, [57, 60, 66]), (43, [59, 62, 67]), (48, [60, 64, 67]),
              (50, [57, 62, 66]), (43, [59, 62, 67]), (50, [60, 62, 66]), (43, [59, 62, 67])] * 2
    melody = [74, 76, 78, 79, 78, 76, 74, 71, 72, 74, 76, 74]
    notes, i = [], 0
    for bar, (bass, triad) in enumerate(chords):
        t0 = 0.2 + bar * 3 * beat
        notes.append((t0 + jit(i), t0 + 0.95 * beat, bass, 90)); i += 1
        for b in (1, 2):
            for p in triad:
                notes.append((t0 + b * beat + jit(i), t0 + (b + 0.8) * beat, p, 60)); i += 1
        m = melody[bar % len(melody)]
        notes.append((t0 + jit(i), t0 + 1.9 * beat, m, 80)); i += 1
        notes.append((t0 + 2 * beat + jit(i), t0 + 2.45 * beat, m - 2, 70)); i += 1
        notes.append((t0 + 2.5 * beat + jit(i), t0 + 2.95 * beat, m - 3 if bar % 2 else m + 2, 70)); i += 1
    write(out, 'waltz_G', notes, '3/4 G major 16')


def jig(out):
    """6/8 in D major, dotted quarter = 100: running eighths over a bass on each dotted quarter."""
    beat = 60 / 100
    scale = [62, 64, 66, 67, 69, 71, 73, 74]
    notes, i = [], 0
    for bar in range(12):
        for b in range(2):
            t = 0.1 + (bar * 2 + b) * beat
            for k in range(3):
                p = scale[(bar + b * 3 + k) % 8] + 12
                notes.append((t + k * beat / 3 + jit(i), t + (k + 0.9) * beat / 3, p, 70)); i += 1
            bass = [50, 45, 50, 43][(bar * 2 + b) // 2 % 4] if b == 0 else 57
            notes.append((t + jit(i), t + 0.95 * beat, bass, 90)); i += 1
    write(out, 'jig_D', notes, '6/8 D major 12')


def triplets(out):
    """4/4 in Bb major, 80 bpm: bars of quarters, eighths, eighth-note triplets and sixteenths,
    a tempo ramp to 92 bpm, and a held chord tied over a bar line."""
    notes, i, t = [], 0, 0.3
    pattern = [[1, 1, 1, 1], [0.5] * 8, [1 / 3] * 12, [0.25] * 16, [1.5, 0.5, 2], [2 / 3, 1 / 3] * 4]
    pitches = [70, 72, 74, 75, 77, 79, 81, 82]
    for bar in range(12):
        bpm = 80 + bar
        beat = 60 / bpm
        durs = pattern[bar % len(pattern)]
        pos = 0
        for k, d in enumerate(durs):
            notes.append((t + pos * beat + jit(i, 8), t + (pos + d * 0.9) * beat, pitches[(k + bar) % 8], 75)); i += 1
            pos += d
        bass = [46, 51, 53, 46][bar % 4]
        notes.append((t + jit(i, 8), t + 3.9 * beat if bar != 5 else t + 5.9 * beat, bass, 85)); i += 1
        notes.append((t + 2 * beat + jit(i, 8), t + 3.9 * beat, bass + 7, 70)); i += 1
        t += 4 * beat
    write(out, 'triplets_Bb', notes, '4/4 Bb major 12')


def minor_chromatic(out):
    """2/4 in F# minor, 120 bpm, with the raised seventh (E#) and chromatic passing notes."""
    beat = 0.5
    line = [66, 68, 69, 71, 73, 74, 77, 78, 73, 69, 66, 69, 73, 78, 77, 78]
    notes, i = [], 0
    for k, p in enumerate(line * 2):
        t = 0.25 + k * beat / 2
        notes.append((t + jit(i), t + 0.45 * beat, p, 70)); i += 1
        if k % 4 == 0:
            notes.append((t + jit(i), t + 1.9 * beat, [42, 49, 42, 37][k // 4 % 4], 90)); i += 1
    write(out, 'chromatic_F#m', notes, '2/4 F# minor 8')


def dense(out):
    """Many overlapping voices over the whole keyboard (more than four per staff at times)."""
    notes, i = [], 0
    for k in range(160):
        t = 0.2 + (k * 0.61803) % 20.0
        notes.append((t, t + 0.1 + (k * 0.414) % 2.2, 24 + (k * 37) % 80, 50 + k % 60)); i += 1
    write(out, 'dense', notes, '- - - -')


def lone_note(out):
    write(out, 'lone_note', [(1.0, 1.4, 60, 64)], '- - - 1')


if __name__ == '__main__':
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for f in (waltz, jig, triplets, minor_chromatic, dense, lone_note):
        f(out)
