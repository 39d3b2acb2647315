#!/usr/bin/python3
"""Test of tests/tools/abc_anacrusis.py: the pickup read from ABC text (lengths, chords, tuplets,
broken rhythm, decorations, a leading repeat sign, the first voice only, unreadable meters), and
a tune through Debian's abc2midi whose bar lines must land on the padded MIDI file's grid.

usage: test_abc_anacrusis.py SCRIPT   (needs python3-mido and abcmidi; run with /usr/bin/python3)
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
from fractions import Fraction as F

import mido


def load(script):
    spec = importlib.util.spec_from_file_location('abc_anacrusis', script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tune(meter, unit, body, extra=''):
    return f'X:1\nT:t\nM:{meter}\n' + (f'L:{unit}\n' if unit else '') + f'{extra}K:C\n{body}\n'


def check_pickups(m):
    cases = [
        (tune('2/4', '1/16', 'FE \\\n|: "F#"^DEF2 F2F2 | F8 |'), (F(1, 8), F(1, 2))),   # baym_rebin
        (tune('3/8', '1/16', '|: zF2 \\\n| "Gm"FG3 G2 | TG4 F2 |'), (F(3, 16), F(3, 8))),  # dergasn
        (tune('6/8', '1/8', '|: "E7"E | "Am"E>AA ABc |'), (F(1, 8), F(3, 4))),           # a jig
        (tune('C', '1/8', 'CDEF GABc | d8 |'), (F(0), F(1))),                             # a full first bar
        (tune('C', '1/8', 'A/B/ c |'), (F(1, 4), F(1))),                                  # halves
        (tune('C', '1/8', 'A// B3/2 |'), (F(7, 32), F(1))),                               # // and 3/2
        (tune('C', '1/8', '(3ABc |'), (F(1, 4), F(1))),                                   # a triplet: 3 in 2
        (tune('C', '1/8', '[CEG]2 [ce]/ |'), (F(5, 16), F(1))),                           # chords
        (tune('C', '1/8', '!p!{g}~A2 "Am"B |'), (F(3, 8), F(1))),                          # no time: decorations, graces
        (tune('C|', '1/4', 'G |'), (F(1, 4), F(1))),                                      # cut time
        (tune('3/4', None, 'G |'), (F(1, 8), F(3, 4))),                                   # default L: 1/8 at 3/4
        (tune('2/4', None, 'G |'), (F(1, 16), F(1, 2))),                                  # default L: 1/16 below
        (tune('2/4', '1/8', 'A4 |'), (F(0), F(1, 2))),                                    # a whole bar is no pickup
        (tune('none', '1/8', 'G |'), None),                                               # no meter
        (tune('C', '1/8', 'Z2 | G8 |'), None),                                            # a multi-bar rest
        ('X:1\nM:2/4\nL:1/8\nK:C\nV:1\nG | c2 c2 |\nV:2\nz3 G | c4 |\n', (F(1, 8), F(1, 2))),  # the first voice
        (tune('C', '1/8', 'G % a comment | not a bar\nA |'), (F(1, 4), F(1))),            # comments
    ]
    bad = 0
    for text, want in cases:
        got = m.pickup(text)
        if got != want:
            print(f'FAIL pickup {want} expected, got {got}:\n{text}')
            bad += 1
    return bad


def onsets(path):
    mid = mido.MidiFile(path)
    out = []
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == 'note_on' and msg.velocity > 0:
                out.append((t, msg.note))
    return mid.ticks_per_beat, sorted(out)


def check_abc2midi(script, tmp):
    # 2/4, a one-eighth pickup (G), then bars starting with c, e, g.
    abc = os.path.join(tmp, 't.abc')
    with open(abc, 'w') as f:
        f.write(tune('2/4', '1/8', 'G | c2 d2 | e4 | g2 z2 |', extra='Q:1/4=120\n'))
    raw, padded = os.path.join(tmp, 'raw.mid'), os.path.join(tmp, 'pad.mid')
    subprocess.run(['abc2midi', abc, '-o', raw], check=True, capture_output=True)
    out = subprocess.run([sys.executable, script, abc, raw, padded], check=True, capture_output=True, text=True).stdout
    tpb, notes = onsets(padded)
    bar = 2 * tpb
    starts = {n: t for t, n in reversed(notes)}  # first onset of each pitch
    bad = 0
    # The pickup G (67) sits an eighth before the first bar line; c (72), e (76), g (79) start bars 2-4.
    for pitch, bar_index, frac in ((67, 1, F(3, 4)), (72, 1, 0), (76, 2, 0), (79, 3, 0)):
        want = int((bar_index - 1 + frac) * bar) if frac else bar_index * bar
        if abs(starts.get(pitch, -10**6) - want) > 2:  # abc2midi's notes start a tick late
            print(f'FAIL pitch {pitch} at tick {starts.get(pitch)}, expected {want} ({out.strip()})')
            bad += 1
    meta_at_zero = [msg for msg in mido.MidiFile(padded).tracks[0] if msg.type in ('time_signature', 'set_tempo')]
    if not meta_at_zero or meta_at_zero[0].time != 0:
        print('FAIL the time signature and tempo must stay at tick 0')
        bad += 1
    # No pickup: copied unchanged.
    with open(abc, 'w') as f:
        f.write(tune('2/4', '1/8', 'c2 d2 | e4 |'))
    subprocess.run(['abc2midi', abc, '-o', raw], check=True, capture_output=True)
    subprocess.run([sys.executable, script, abc, raw, padded], check=True, capture_output=True)
    if onsets(raw) != onsets(padded):
        print('FAIL a tune without a pickup must be copied unchanged')
        bad += 1
    return bad


def main():
    script = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        bad = check_pickups(load(script)) + check_abc2midi(script, tmp)
    print('ok' if bad == 0 else f'{bad} failures')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
