#!/usr/bin/python3
"""Test of tests/tools/score_beats.py on hand-made references and estimates with known scores:
exact beats, beats half a beat off, a missing estimate, meters (a 1/8 pickup before 6/8), keys (a
relative key scores 0.3), groups by folder, and an aubio stand-in whose output is cached.

usage: test_score_beats.py SCRIPT   (needs Debian's python3-mir-eval: run with /usr/bin/python3)
"""
import json
import os
import subprocess
import sys
import tempfile


def write_ref(folder, name, beats_per_bar, period, end, time_signatures=None, key_signatures=None):
    os.makedirs(folder, exist_ok=True)
    beats = []
    with open(os.path.join(folder, name + '.beats.tsv'), 'w') as f:
        f.write('# time_s\tbar\tbeat_in_bar\n')
        k = 0
        while k * period <= end + 1e-9:
            f.write(f'{k * period:.6f}\t{k // beats_per_bar + 1}\t{k % beats_per_bar + 1}\n')
            beats.append(k * period)
            k += 1
    meta = {'time_signatures': time_signatures or [], 'key_signatures': key_signatures or [],
            'stated_time_signature': bool(time_signatures), 'stated_key': bool(key_signatures), 'transpose': 0,
            'tempo_warp': {'enabled': False}}
    with open(os.path.join(folder, name + '.meta.json'), 'w') as f:
        json.dump(meta, f)
    open(os.path.join(folder, name + '.wav'), 'w').close()  # only the aubio stand-in "reads" it
    return beats


def write_est(path, metadata):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump({'notes': [], 'metadata': metadata}, f)


FAKE_AUBIO = '''import sys
stem = sys.argv[1][:-len('.wav')]
for line in open(stem + '.beats.tsv'):
    if not line.startswith('#'):
        print(line.split()[0])
'''


def main(script):
    tmp = tempfile.mkdtemp(prefix='score_beats_')
    ref, est = os.path.join(tmp, 'ref'), os.path.join(tmp, 'est')
    # a/x: 3/4 at 120 bpm in Eb major, estimated exactly.
    x = write_ref(os.path.join(ref, 'a'), 'x', 3, 0.5, 30.0, [{'time_s': 0, 'numerator': 3, 'denominator': 4}],
                  [{'time_s': 0, 'fifths': -3, 'minor': False}])
    write_est(os.path.join(est, 'a', 'x.json'),
              {'beats': x, 'downbeats': x[::3], 'tempo_bpm': 120.0, 'meter': {'numerator': 3, 'denominator': 4},
               'key': {'tonic': 'Eb', 'mode': 'major', 'fifths': -3}})
    # a/y: a 1/8 pickup, then 6/8 (2 dotted-quarter beats of 0.6 s a bar) in A minor; estimated
    # half a beat late (beats F 0), at the right tempo and meter, in C major (relative: 0.3).
    y = write_ref(os.path.join(ref, 'a'), 'y', 2, 0.6, 30.0,
                  [{'time_s': 0, 'numerator': 1, 'denominator': 8}, {'time_s': 0.2, 'numerator': 6, 'denominator': 8}],
                  [{'time_s': 0, 'fifths': 0, 'minor': True}])
    write_est(os.path.join(est, 'y.json'),  # beside the folders: the flat fallback
              {'beats': [t + 0.3 for t in y], 'downbeats': [], 'tempo_bpm': 101.0,
               'meter': {'numerator': 6, 'denominator': 8}, 'key': {'tonic': 'C', 'mode': 'major'}})
    # b/z: nothing stated, no estimate at all.
    write_ref(os.path.join(ref, 'b'), 'z', 4, 0.5, 20.0)
    fake = os.path.join(tmp, 'fake_aubio.py')
    with open(fake, 'w') as f:
        f.write(FAKE_AUBIO)

    out_json = os.path.join(tmp, 'scores.json')
    cmd = [sys.executable, script, ref, est, '--json', out_json, '--aubio', f'{sys.executable} {fake}', '--jobs', '2']
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert '| set | pieces | tracker |' in r.stdout and '| all | 3 | aubio |' in r.stdout, r.stdout
    with open(out_json) as f:
        scores = json.load(f)
    pieces = {p['name']: p for p in scores['pieces']}
    px, py, pz = pieces['x']['qscribe'], pieces['y']['qscribe'], pieces['z']['qscribe']
    for k in ('f', 'p', 'cmlt', 'amlt', 'downbeat_f', 'tempo_acc1', 'meter_ok', 'key_exact', 'key_weighted'):
        assert abs(px[k] - 1.0) < 1e-9, (k, px)
    assert py['f'] == 0.0 and py['cmlt'] == 0.0 and py['downbeat_f'] == 0.0, py
    assert py['tempo_acc1'] == 1.0 and py['meter_ok'] == 1.0, py  # 100 bpm within 4 %; 6/8 rules, not the pickup
    assert py['key'] == 'C major' and pieces['y']['ref_key'] == 'A minor', py
    assert py['key_exact'] == 0.0 and abs(py['key_weighted'] - 0.3) < 1e-9, py
    assert not pieces['z']['estimate_found'] and pz['f'] == 0.0 and pz['meter_ok'] == 0.0, pz
    assert pieces['z']['ref_meter'] == '4/4' and not pieces['z']['stated_key'], pieces['z']
    for p in pieces.values():
        assert abs(p['aubio']['f'] - 1.0) < 1e-9, p  # the stand-in returns the reference
    s = scores['summary']
    assert set(s) == {'a', 'b', 'all'}, s.keys()
    q = s['all']['qscribe']
    assert abs(q['f'] - 1 / 3) < 1e-9 and q['pieces'] == 3, q
    assert q['meter_acc'] == 1.0 and q['meter_n'] == 2 and abs(q['meter_acc_all'] - 2 / 3) < 1e-9, q
    assert q['key_exact'] == 0.5 and abs(q['key_weighted'] - 0.65) < 1e-9 and q['key_n'] == 2, q
    assert s['a']['qscribe']['f'] == 0.5 and s['b']['qscribe']['f'] == 0.0, s

    # aubio's beats are cached: a second run does not call it.
    assert os.path.exists(os.path.join(est, 'aubio', 'b', 'z.txt'))
    cmd[cmd.index('--aubio') + 1] = 'false'
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # Without references: an error.
    r = subprocess.run([sys.executable, script, est, est, '--no-aubio'], capture_output=True, text=True)
    assert r.returncode == 1 and 'no NAME.beats.tsv' in r.stderr, (r.returncode, r.stderr)
    print('test_score_beats: ok')


if __name__ == '__main__':
    main(sys.argv[1])
