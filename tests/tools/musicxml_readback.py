#!/usr/bin/python3
"""Reads a MusicXML file back into notes and compares them with qscribe's quantised notes.

usage: musicxml_readback.py SCORE.musicxml ANALYSIS.json

ANALYSIS.json is `qscribe transcribe|notate ... -o X.json` of the same input and options: its
metadata.score.notes are [pitch, start, duration, staff, voice] in ticks of metadata.score.divisions
per quarter note. The MusicXML is read independently of qscribe's writer (the standard library's
XML parser): <divisions>, <backup>/<forward>, <chord/>, ties merged, pitch from step/alter/octave.
Checks: the same notes (pitch, start, duration), every measure's voices adding up to the bar
length, and the measure count. Exits 1 with the differences listed.
"""
import json
import sys
import xml.etree.ElementTree as ET

STEP = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}


def read_musicxml(path):
    root = ET.parse(path).getroot()
    assert root.tag == 'score-partwise', root.tag
    divisions, bar_len = None, None
    notes, open_ties, problems = [], {}, []
    measure_start = 0
    measures = 0
    for part in root.findall('part'):
        for measure in part.findall('measure'):
            measures += 1
            pos, last_start = 0, 0
            voice_fill = {}
            for el in measure:
                if el.tag == 'attributes':
                    d = el.find('divisions')
                    if d is not None:
                        divisions = int(d.text)
                    t = el.find('time')
                    if t is not None:
                        bar_len = int(t.find('beats').text) * divisions * 4 // int(t.find('beat-type').text)
                elif el.tag == 'backup':
                    pos -= int(el.find('duration').text)
                elif el.tag == 'forward':
                    pos += int(el.find('duration').text)
                elif el.tag == 'note':
                    dur = int(el.find('duration').text)
                    voice = el.findtext('voice', '1')
                    start = last_start if el.find('chord') is not None else pos
                    if el.find('chord') is None:
                        voice_fill[voice] = voice_fill.get(voice, 0) + dur
                        pos += dur
                    last_start = start
                    p = el.find('pitch')
                    if p is None:
                        continue
                    pitch = 12 * (int(p.findtext('octave')) + 1) + STEP[p.findtext('step')] + int(float(p.findtext('alter', '0')))
                    ties = {t.get('type') for t in el.findall('tie')}
                    abs_start = measure_start + start
                    if 'stop' in ties and (pitch, voice) in open_ties:
                        n = open_ties.pop((pitch, voice))
                        n[2] += dur
                    else:
                        n = [pitch, abs_start, dur]
                        notes.append(n)
                    if 'start' in ties:
                        open_ties[(pitch, voice)] = n
            for v, fill in voice_fill.items():
                if fill != bar_len:
                    problems.append(f'measure {measure.get("number")} voice {v}: {fill} ticks, bar is {bar_len}')
            measure_start += bar_len
    if open_ties:
        problems.append(f'{len(open_ties)} ties never closed')
    return divisions, measures, sorted(tuple(n) for n in notes), problems


def main():
    xml_path, json_path = sys.argv[1], sys.argv[2]
    meta = json.load(open(json_path))['metadata']['score']
    divisions, measures, notes, problems = read_musicxml(xml_path)
    if divisions != meta['divisions']:
        problems.append(f'divisions {divisions} != {meta["divisions"]}')
    if measures != meta['bars']:
        problems.append(f'{measures} measures, the score has {meta["bars"]}')
    expected = sorted((p, s, d) for p, s, d, _staff, _voice in meta['notes'])
    missing = sorted(set(expected) - set(notes))
    extra = sorted(set(notes) - set(expected))
    if missing or extra or len(notes) != len(expected):
        problems.append(f'notes differ: {len(notes)} read, {len(expected)} expected; missing {missing[:5]} extra {extra[:5]}')
    name = xml_path.rsplit('/', 1)[-1]
    if problems:
        print(f'{name}: FAIL\n  ' + '\n  '.join(problems[:20]))
        sys.exit(1)
    print(f'{name}: {len(notes)} notes in {measures} measures read back equal to the quantised notes')


if __name__ == '__main__':
    main()
