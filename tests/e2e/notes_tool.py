#!/usr/bin/python3
"""Note-list helpers of the browser end-to-end tests, on Debian's python3-mido and python3-mir-eval
(independent of qscribe's own MIDI reader and metrics).

  notes_tool.py midi FILE.mid            -> JSON [{onset, offset, pitch, velocity}] on stdout
  notes_tool.py midi-meta FILE.mid       -> JSON {ticks_per_beat, tempos: [[tick, bpm]], time_signatures:
                                            [[tick, num, den]], key_signatures: [[tick, key]], notes:
                                            [[start_tick, end_tick, pitch]]} (all tracks merged)
  notes_tool.py musicxml FILE.musicxml   -> JSON {root, version, parts, measures (per part), staves,
                                            notes, rests, time: [beats, beat-type], fifths, mode,
                                            durations_ok} read with xml.etree (an independent parser)
  notes_tool.py f1 REF.json EST.json [--onset-tolerance 0.05]
                                         -> JSON {precision, recall, f1, n_ref, n_est}: mir_eval note
                                            P/R/F1, onset only (no offset criterion)
Note lists are JSON arrays of {onset, offset, pitch} (seconds, MIDI numbers) or TSV files
(onset offset pitch [velocity], '#' comments and a non-numeric header line skipped).
"""
import argparse
import json
import sys


def midi_notes(path):
    import mido
    mid = mido.MidiFile(path)
    notes, open_notes, t = [], {}, 0.0
    for msg in mid:  # merged tracks, delta times in seconds after the tempo map
        t += msg.time
        if msg.type == 'note_on' and msg.velocity > 0:
            open_notes.setdefault((msg.channel, msg.note), []).append((t, msg.velocity))
        elif msg.type in ('note_off', 'note_on'):
            stack = open_notes.get((msg.channel, msg.note))
            if stack:
                onset, vel = stack.pop(0)
                notes.append({'onset': onset, 'offset': t, 'pitch': msg.note, 'velocity': vel})
    for (ch, pitch), stack in open_notes.items():  # never closed: end at the file's end
        for onset, vel in stack:
            notes.append({'onset': onset, 'offset': max(t, onset), 'pitch': pitch, 'velocity': vel})
    notes.sort(key=lambda n: (n['onset'], n['pitch']))
    return notes


def midi_meta(path):
    import mido
    mid = mido.MidiFile(path)
    out = {'ticks_per_beat': mid.ticks_per_beat, 'type': mid.type, 'tempos': [], 'time_signatures': [],
           'key_signatures': [], 'notes': []}
    tick, open_notes = 0, {}
    for msg in mido.merge_tracks(mid.tracks):  # delta times in ticks
        tick += msg.time
        if msg.type == 'set_tempo':
            out['tempos'].append([tick, round(mido.tempo2bpm(msg.tempo), 3)])
        elif msg.type == 'time_signature':
            out['time_signatures'].append([tick, msg.numerator, msg.denominator])
        elif msg.type == 'key_signature':
            out['key_signatures'].append([tick, msg.key])
        elif msg.type == 'note_on' and msg.velocity > 0:
            open_notes.setdefault((msg.channel, msg.note), []).append(tick)
        elif msg.type in ('note_off', 'note_on'):
            stack = open_notes.get((msg.channel, msg.note))
            if stack:
                out['notes'].append([stack.pop(0), tick, msg.note])
    out['notes'].sort()
    return out


def musicxml_summary(path):
    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()
    parts = root.findall('part')
    out = {'root': root.tag, 'version': root.get('version'), 'parts': len(parts),
           'measures': [len(p.findall('measure')) for p in parts], 'staves': 1, 'notes': 0, 'rests': 0,
           'time': None, 'fifths': None, 'mode': None, 'durations_ok': True, 'bad_bars': []}
    for part in parts:
        divisions, bar_len = None, None
        for m in part.findall('measure'):
            attrs = m.find('attributes')
            if attrs is not None:
                if attrs.find('divisions') is not None:
                    divisions = int(attrs.find('divisions').text)
                if attrs.find('staves') is not None:
                    out['staves'] = int(attrs.find('staves').text)
                t = attrs.find('time')
                if t is not None:
                    out['time'] = [int(t.find('beats').text), int(t.find('beat-type').text)]
                k = attrs.find('key')
                if k is not None:
                    out['fifths'] = int(k.find('fifths').text)
                    out['mode'] = k.find('mode').text if k.find('mode') is not None else None
            if divisions and out['time']:
                bar_len = divisions * 4 * out['time'][0] // out['time'][1]
            # Every voice fills its bar: the notes of each voice (chord members count once) add up
            # to the bar's length.
            per_voice = {}
            for n in m.findall('note'):
                if n.find('rest') is not None:
                    out['rests'] += 1
                else:
                    out['notes'] += 1
                if n.find('chord') is not None or n.find('grace') is not None:
                    continue
                v = n.findtext('voice', '1')
                per_voice[v] = per_voice.get(v, 0) + int(n.findtext('duration', '0'))
            for v, total in per_voice.items():
                if bar_len and total != bar_len:
                    out['durations_ok'] = False
                    out['bad_bars'].append([m.get('number'), v, total, bar_len])
    return out


def load_notes(path):
    if path.endswith('.json'):
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and 'notes' in data:
            data = data['notes']
        return [{'onset': float(n['onset']), 'offset': float(n['offset']), 'pitch': int(round(n['pitch']))}
                for n in data]
    if path.endswith('.mid') or path.endswith('.midi'):
        return midi_notes(path)
    notes = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if not fields or line.startswith('#'):
                continue
            try:
                onset, offset, pitch = float(fields[0]), float(fields[1]), float(fields[2])
            except ValueError:
                continue  # header line
            notes.append({'onset': onset, 'offset': offset, 'pitch': int(round(pitch))})
    return notes


def f1(ref, est, onset_tolerance):
    import numpy as np
    import mir_eval

    def arrays(notes):
        iv = np.array([[n['onset'], max(n['offset'], n['onset'] + 1e-3)] for n in notes], dtype=float).reshape(-1, 2)
        hz = mir_eval.util.midi_to_hz(np.array([n['pitch'] for n in notes], dtype=float))
        return iv, hz

    if not ref or not est:
        p = r = f = 0.0
    else:
        ri, rp = arrays(ref)
        ei, ep = arrays(est)
        p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
            ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=None)
    return {'precision': float(p), 'recall': float(r), 'f1': float(f), 'n_ref': len(ref), 'n_est': len(est)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    m = sub.add_parser('midi')
    m.add_argument('file')
    mm = sub.add_parser('midi-meta')
    mm.add_argument('file')
    x = sub.add_parser('musicxml')
    x.add_argument('file')
    s = sub.add_parser('f1')
    s.add_argument('ref')
    s.add_argument('est')
    s.add_argument('--onset-tolerance', type=float, default=0.05)
    a = ap.parse_args()
    if a.cmd == 'midi':
        json.dump(midi_notes(a.file), sys.stdout)
    elif a.cmd == 'midi-meta':
        json.dump(midi_meta(a.file), sys.stdout)
    elif a.cmd == 'musicxml':
        json.dump(musicxml_summary(a.file), sys.stdout)
    else:
        json.dump(f1(load_notes(a.ref), load_notes(a.est), a.onset_tolerance), sys.stdout)
    print()


if __name__ == '__main__':
    main()
