#!/usr/bin/python3
"""Puts the bar lines of an abc2midi MIDI file where the ABC tune has them.

usage: abc_anacrusis.py TUNE.abc IN.mid OUT.mid      (prints what it did)
       abc_anacrusis.py --pickup TUNE.abc             (prints the pickup and the bar, in whole notes)

abc2midi starts a tune's first note at tick 0 even when the tune opens with an anacrusis (an
incomplete first bar), so the MIDI file's grid of beats and bars (its tempo map and time
signature, read from tick 0) lies off the music by the pickup's length: baym_rebin's one-eighth
pickup puts every beat of the grid half a beat early. `qscribe synth` takes its beat ground truth
from that grid (docs/score.md), so this tool delays the music by (bar - pickup): the padded first
bar is silent until the pickup, and every later bar line falls on the grid. Time 0's meta events
and controller set-up stay at tick 0. A tune without a pickup is copied unchanged.

The pickup is read from the first tune's first voice: the notes and rests before its first bar
line that follows a note (a leading |: is not one), with the unit length L: (default as the ABC
standard: 1/16 below a meter of 3/4, else 1/8), lengths such as 3, /, //, 3/2, chords [CEG]2
(the first note's length), and tuplets (3 (p:q:r. Broken rhythm (a>b) keeps the pair's sum;
grace notes, chord symbols, decorations and inline fields take no time. Multi-bar rests (Z) and
meters it cannot read (M:none) mean no pickup.
"""
import re
import sys
from fractions import Fraction

import mido

NOTE = re.compile(r"[\^_=]*([A-Ga-gzx])[,']*(\d*)(/*)(\d*)")
INLINE_FIELD = re.compile(r"\[[A-Za-z]:[^\]]*\]")


def parse_meter(text):
    """The bar length in whole notes of an M: field, or None (M:none, unreadable)."""
    t = text.strip()
    if t == 'C':
        return Fraction(1)
    if t == 'C|':
        return Fraction(1)
    m = re.fullmatch(r'\(?([\d+ ]+)\)?\s*/\s*(\d+)', t)
    if not m:
        return None
    num = sum(int(x) for x in m.group(1).replace(' ', '').split('+') if x)
    return Fraction(num, int(m.group(2))) if num > 0 else None


def note_length(digits, slashes, denom):
    """The multiplier of an ABC length suffix: 3 -> 3, / -> 1/2, // -> 1/4, 3/2 -> 3/2, /3 -> 1/3."""
    n = Fraction(int(digits)) if digits else Fraction(1)
    if slashes:
        n /= int(denom) if denom else 2 ** len(slashes)
    return n


def first_voice_lines(lines):
    """The header fields and the body lines of the first tune's first voice."""
    header, body, in_body, voice = {}, [], False, None
    for raw in lines:
        line = raw.split('%', 1)[0].rstrip() if not raw.startswith('%%') else ''
        if not line:
            if in_body and body and not raw.strip():
                break  # a blank line ends the tune
            continue
        field = re.match(r'^([A-Za-z]):(.*)$', line)
        if field:
            key, value = field.group(1), field.group(2).strip()
            if key == 'X' and in_body:
                break
            if key == 'V':
                name = value.split()[0] if value else ''
                if voice is None:
                    voice = name
                elif name != voice:
                    if body:
                        break
                continue
            if not in_body or key in 'LM':
                header.setdefault(key, value)
            if key == 'K':
                in_body = True
            continue
        if in_body:
            body.append(line)
    return header, ' '.join(body)


def pickup(text):
    """(pickup, bar) in whole notes for an ABC tune, or None when it has no readable pickup."""
    header, body = first_voice_lines(text.splitlines())
    bar = parse_meter(header.get('M', 'C'))
    if bar is None:
        return None
    if 'L' in header:
        m = re.fullmatch(r'(\d+)\s*/\s*(\d+)', header['L'])
        if not m:
            return None
        unit = Fraction(int(m.group(1)), int(m.group(2)))
    else:
        unit = Fraction(1, 16) if bar < Fraction(3, 4) else Fraction(1, 8)
    body = INLINE_FIELD.sub(' ', body)
    body = re.sub(r'"[^"]*"|![^!]*!|\+[^+]*\+|\{[^}]*\}', ' ', body)  # chord symbols, decorations, graces
    total, seen_note, i = Fraction(0), False, 0
    tuplet_left, tuplet_factor = 0, Fraction(1)
    while i < len(body):
        c = body[i]
        if c in '|:[' and (c != '[' or body[i + 1:i + 2] == '|'):
            if seen_note and (c == '|' or body[i:i + 2] in ('[|', '::', ':|')):
                break
            i += 1
            continue
        if c == 'Z':
            return None
        if c == '(' and body[i + 1:i + 2].isdigit():
            m = re.match(r'\((\d)(?::(\d*))?(?::(\d*))?', body[i:])
            p = int(m.group(1))
            q = int(m.group(2)) if m.group(2) else (3 if p in (2, 4, 8) else 2)
            tuplet_left = int(m.group(3)) if m.group(3) else p
            tuplet_factor = Fraction(q, p)
            i += m.end()
            continue
        if c == '[':  # a chord: its first note's length times the length after ]
            close = body.find(']', i)
            if close < 0:
                return None
            inner = NOTE.search(body, i + 1, close)
            m = re.match(r'(\d*)(/*)(\d*)', body[close + 1:])
            if inner:
                length = note_length(inner.group(2), inner.group(3), inner.group(4)) * \
                    note_length(m.group(1), m.group(2), m.group(3))
                total += _tuplet(length, tuplet_left, tuplet_factor) * unit
                tuplet_left = max(0, tuplet_left - 1)
                seen_note = True
            i = close + 1 + m.end()
            continue
        m = NOTE.match(body, i)
        if m:
            total += _tuplet(note_length(m.group(2), m.group(3), m.group(4)), tuplet_left, tuplet_factor) * unit
            tuplet_left = max(0, tuplet_left - 1)
            seen_note = True
            i = m.end()
            continue
        i += 1
    if not seen_note or total <= 0 or total >= bar:
        return Fraction(0), bar
    return total, bar


def _tuplet(length, left, factor):
    return length * factor if left > 0 else length


def pad_midi(src, dst, pad_whole):
    """Writes src delayed by pad_whole whole notes; time 0's meta and set-up events stay put."""
    mid = mido.MidiFile(src)
    pad = int(round(pad_whole * 4 * mid.ticks_per_beat))
    for track in mid.tracks:
        events, t = [], 0
        for msg in track:
            t += msg.time
            stays = t == 0 and (msg.is_meta or msg.type in ('program_change', 'control_change'))
            events.append((t if stays or msg.type == 'end_of_track' and t == 0 else t + pad, msg))
        events.sort(key=lambda e: e[0])  # stable: the order within a tick is kept
        track.clear()
        last = 0
        for at, msg in events:
            track.append(msg.copy(time=at - last))
            last = at
    mid.save(dst)
    return pad


def main(argv):
    if len(argv) == 3 and argv[1] == '--pickup':
        with open(argv[2], encoding='latin-1') as f:
            r = pickup(f.read())
        print('none' if r is None else f'{r[0]} {r[1]}')
        return 0
    if len(argv) != 4:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    with open(argv[1], encoding='latin-1') as f:
        r = pickup(f.read())
    if r is None or r[0] == 0:
        mido.MidiFile(argv[2]).save(argv[3])
        print(f'{argv[1]}: no pickup; copied')
        return 0
    ticks = pad_midi(argv[2], argv[3], r[1] - r[0])
    print(f'{argv[1]}: pickup {r[0]} of a {r[1]} bar; music delayed by {r[1] - r[0]} ({ticks} ticks)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
