#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets into tests/fuzz/corpus/TARGET/seed-*.

The seeds are committed; this script documents where they came from and rebuilds them:
hand-made MIDI files (every event kind the reader handles), note lists cut from the regression
fixtures, the shipped model's sidecar, .npy files from NumPy, a tiny data set, audio in the
formats libsndfile reads (python3-soundfile) and a tiny exported ONNX model with variants of its
weight storage (needs the `qscribe` tool and protoc). Inputs the fuzzers find are merged next to
the seeds by scripts/fuzz under their SHA-1 names.

  tests/fuzz/make_seeds.py [--qscribe build/native/bin/qscribe]
"""
import argparse
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- MIDI ---------------------------------------------------------------------------------------

def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def track(events):
    """events: (delta, bytes) pairs; an end-of-track is appended."""
    body = b"".join(vlq(d) + e for d, e in events) + vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(fmt, division, tracks):
    return b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division) + b"".join(tracks)


def midi_seeds():
    tempo = lambda bpm: b"\xff\x51\x03" + struct.pack(">I", round(60e6 / bpm))[1:]
    timesig = lambda n, d_pow: b"\xff\x58\x04" + bytes([n, d_pow, 24, 8])
    keysig = lambda sf, mi: b"\xff\x59\x02" + struct.pack("b", sf) + bytes([mi])
    scale = []
    for i, p in enumerate([60, 62, 64, 65, 67]):
        scale += [(0 if i == 0 else 0, bytes([0x90, p, 80])), (240, bytes([0x80, p, 0]))]
    put("midi", "format0-scale.mid", smf(0, 480, [track([(0, tempo(100)), (0, timesig(3, 2))] + scale)]))
    # Format 1: tempo map + time and key signatures in the first track, running status, a
    # note-on with velocity 0 as note-off, the sustain pedal, a re-struck key, a drum note,
    # program change, pitch bend, sysex and a text event.
    meta = track([(0, tempo(120)), (0, timesig(4, 2)), (0, keysig(-3, 1)), (960, tempo(90)),
                  (960, timesig(6, 3)), (0, b"\xff\x01\x04text")])
    notes = track([(0, b"\xc0\x00"), (0, b"\xf0\x03\x7e\x7f\xf7"), (0, b"\x90\x3c\x40"), (0, b"\x40\x40"),
                   (0, b"\x43\x40"), (240, b"\x3c\x00"), (0, b"\xb0\x40\x7f"), (120, b"\x90\x40\x00"),
                   (120, b"\x90\x43\x00"), (0, b"\xe0\x00\x40"), (240, b"\x90\x40\x50"), (0, b"\xb0\x40\x00"),
                   (240, b"\x99\x24\x64"), (10, b"\x89\x24\x00"), (0, b"\x90\x40\x00"), (0, b"\x90\x45\x70"),
                   (30, b"\x90\x45\x70"), (480, b"\x80\x45\x00")])
    put("midi", "format1-pedal-meta.mid", smf(1, 96, [meta, notes]))
    # Format 2: independent sequences, each with its own tempo.
    put("midi", "format2.mid", smf(2, 120, [track([(0, tempo(60)), (0, b"\x90\x30\x20"), (120, b"\x80\x30\x00")]),
                                            track([(0, tempo(180)), (0, b"\x91\x31\x20"), (60, b"\x81\x31\x00")])]))
    # SMPTE division (25 fps, 40 ticks per frame) and a note left sounding at the end.
    put("midi", "smpte.mid", smf(0, 0xE728, [track([(0, b"\x90\x48\x60"), (500, b"\x90\x4c\x60"),
                                                    (400, b"\x80\x48\x00")])]))
    # RIFF RMID wrapper, with an odd-sized chunk before the data.
    inner = smf(0, 480, [track(scale)])
    rmid = b"RMID" + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + b"data" + struct.pack("<I", len(inner)) + inner
    put("midi", "rmid.rmi", b"RIFF" + struct.pack("<I", len(rmid)) + rmid)
    # An unknown chunk between tracks and a compound 12/8 meter.
    junk = b"XFIH" + struct.pack(">I", 4) + b"junk"
    put("midi", "chunks-12-8.mid", smf(1, 480, [track([(0, timesig(12, 3)), (0, tempo(140))]) + junk,
                                               track(scale)]))
    # A real file (pianobooster, one of the Debian MIDI packages the training corpus uses).
    for path in ["/usr/share/doc/pianobooster/courses/BoosterMusic/02-LavendersBlue.mid"]:
        if os.path.exists(path) and os.path.getsize(path) < 4096:
            put("midi", "debian-" + os.path.basename(path), open(path, "rb").read())


# ---- note lists ---------------------------------------------------------------------------------

def fixture_tsv_lines(n):
    lines = open(os.path.join(ROOT, "tests", "fixtures", "regression", "proc_00004_3s.tsv")).read().splitlines()
    return lines[: n + 2]


def note_seeds():
    tsv = fixture_tsv_lines(10)
    put("notes_tsv", "fixture.tsv", "\n".join(tsv) + "\n")
    put("notes_tsv", "header-3col-crlf.tsv", "onset offset pitch\r\n0.5 1.0 60\r\n1,2,61.4\r\n\r\n2.0\t2.5\t127\t200\r\n")
    put("notes_tsv", "bom-comments.txt", "\ufeff# comment\n0.1\t0.2\t21\t1 # trailing\n0.2\t0.3\t108\t0\n")

    csv_rows = ["start_time,end_time,instrument,note,start_beat,end_beat,note_value"]
    for line in tsv[2:8]:
        on, off, pitch, _ = line.split("\t")
        csv_rows.append("%d,%d,1,%s,%.3f,0.5,Quarter" % (round(float(on) * 44100), round(float(off) * 44100), pitch, float(on) * 2))
    put("notes_csv", "fixture.csv", "\n".join(csv_rows) + "\n")
    put("notes_csv", "reordered-quoted.csv",
        '\ufeffnote,"end_time",instrument,start_time,note_value\r\n60,44100,41,0,"Dotted, Eighth"\r\n'
        '61,500,1,500,""\r\n62,90000.0,1,44100,\r\n')

    notes = []
    for line in tsv[2:8]:
        on, off, pitch, vel = line.split("\t")
        notes.append({"onset": float(on), "offset": float(off), "pitch": int(pitch), "velocity": int(vel)})
    put("notes_json", "fixture.json", json.dumps({"notes": notes, "metadata": {"source": "fixture", "n": [1, 2.5]}},
                                                 indent=1))
    put("notes_json", "bare-array.json", '[{"onset": 0, "offset": 1e-3, "pitch": 60.4}, '
                                         '{"onset": 1, "offset": 2, "pitch": 0, "velocity": 300}]')


# ---- model sidecar ------------------------------------------------------------------------------

def sidecar_seeds():
    shipped = json.load(open(os.path.join(ROOT, "models", "qscribe-default.json")))
    shipped["training"] = {"epoch": shipped.get("training", {}).get("epoch", 0)}  # keep it small
    put("model_sidecar", "shipped.json", json.dumps(shipped, indent=1))
    tiny = json.loads(json.dumps(shipped))
    tiny["architecture"] = {"bins_per_note": 1, "c": 1, "embed_dim": 8, "n_layers": 1, "n_heads": 1, "head_dim": 2,
                            "mlp_hidden": 2, "n_bins": 88, "n_notes": 88, "freq_layers": 1, "freq_dim": 4,
                            "freq_heads": 2}
    tiny["features"].update({"bins_per_semitone": 1, "n_bins": 88})
    for k in ("input",):
        tiny["io"][k]["shape"][2] = 88
    put("model_sidecar", "tiny-freq-layers.json", json.dumps(tiny))
    pcs = json.loads(json.dumps(shipped))
    pcs["notes"] = {"lowest_pitch": 60, "n_notes": 12, "only_note_names": True}
    pcs["architecture"]["n_notes"] = 12
    pcs["io"]["frame_output"]["shape"] = ["batch", "frames", 12]
    pcs["io"]["onset_output"] = None
    pcs["io"]["outputs_are_logits"] = False
    del pcs["segment"], pcs["decoding"]
    put("model_sidecar", "pitch-classes-frame-only.json", json.dumps(pcs))


# ---- .npy ---------------------------------------------------------------------------------------

def npy_seeds():
    import numpy as np
    for name, a in [("2x3", np.arange(6, dtype="<f4").reshape(2, 3)), ("0x4", np.zeros((0, 4), "<f4")),
                    ("1x1", np.array([[np.inf]], "<f4"))]:
        b = io.BytesIO()
        np.save(b, a)
        put("npy", name + ".npy", b.getvalue())
    # Version 2.0 header (4-byte length), written by hand.
    d = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
    d += b" " * ((64 - (12 + len(d) + 1) % 64) % 64) + b"\n"
    put("npy", "v2-2x2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(d)) + d + struct.pack("<4f", 1, 2, 3, 4))


# ---- data set -----------------------------------------------------------------------------------

def dataset_seeds():
    features = {"sample_rate": 22050.0, "hop_length": 512, "fmin": 27.5, "bins_per_semitone": 1, "n_bins": 12,
                "filter_scale": 1.0, "sparsity": 0.01}
    info = {"format_version": 1, "features": features, "n_notes": 12, "lowest_pitch": 60, "only_note_names": True,
            "segment_frames": 4, "split": "train", "source": "pairs:/fuzz", "total_frames": 5,
            "files": {"cqt": "cqt.f32", "frames": "frames.u8", "onsets": "onsets.u8", "notes": "notes"},
            "counts": {"files_seen": 2, "pieces": 2},
            "pieces": [{"name": "p", "n_frames": 3, "offset": 2}, {"name": "sub/q", "n_frames": 2, "offset": 0}]}
    text = json.dumps(info, indent=1) + "\n"
    put("dataset_index", "two-pieces.json", text)
    info88 = dict(info, features=dict(features, bins_per_semitone=4, n_bins=352), n_notes=88, lowest_pitch=21,
                  only_note_names=False, total_frames=0, pieces=[], counts={})
    put("dataset_index", "empty-88.json", json.dumps(info88))

    sep = b"\n#####\n"
    cqt = struct.pack("<60f", *[i / 7.0 for i in range(60)])
    frames = bytes([(i % 3 == 0) for i in range(60)])
    onsets = bytes([(i % 5 == 0) for i in range(60)])
    tsv = "# onset\toffset\tpitch\tvelocity\n0.000000\t0.046440\t60\t64\n0.023220\t0.069660\t71\t90\n"
    put("dataset_shards", "two-pieces", sep.join([text.encode(), cqt, frames, onsets, tsv.encode()]))
    put("dataset_shards", "no-notes", sep.join([text.encode(), cqt, frames, onsets]))
    put("dataset_shards", "truncated-onsets", sep.join([text.encode(), cqt, frames, onsets[:-12], b""]))


# ---- audio --------------------------------------------------------------------------------------

def audio_seeds():
    import numpy as np
    import soundfile as sf
    t = np.arange(400) / 8000.0
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype("float32")
    stereo = np.stack([tone, -tone[::-1]], axis=1)
    cases = [("pcm16-8k.wav", tone, 8000, "WAV", "PCM_16"), ("float-stereo-8k.wav", stereo, 8000, "WAV", "FLOAT"),
             ("ulaw-8k.wav", tone, 8000, "WAV", "ULAW"), ("imaadpcm-8k.wav", tone, 8000, "WAV", "IMA_ADPCM"),
             ("pcm24-22k.aiff", tone, 22050, "AIFF", "PCM_24"), ("pcm8-11k.au", tone, 11025, "AU", "PCM_S8"),
             ("pcm16-8k.flac", tone, 8000, "FLAC", "PCM_16"), ("vorbis-8k.ogg", np.tile(tone, 4), 8000, "OGG", "VORBIS"),
             ("pcm16-22k.caf", tone[:100], 22050, "CAF", "PCM_16")]
    for name, data, rate, fmt, sub in cases:
        b = io.BytesIO()
        try:
            sf.write(b, data, rate, format=fmt, subtype=sub)
        except Exception as e:  # a codec this libsndfile lacks
            print("skipped", name, e, file=sys.stderr)
            continue
        put("audio_file", name, b.getvalue())
    if "MPEG_LAYER_III" in sf.available_subtypes("MP3"):
        b = io.BytesIO()
        sf.write(b, np.tile(tone, 6), 8000, format="MP3", subtype="MPEG_LAYER_III")
        put("audio_file", "layer3-8k.mp3", b.getvalue())


# ---- ONNX ---------------------------------------------------------------------------------------

ONNX_HYPER = ('{"bins_per_note":1,"n_bins":12,"n_notes":12,"c":1,"embed_dim":8,"n_layers":0,"n_heads":1,'
              '"head_dim":1,"mlp_hidden":1}')  # matches the sidecar in targets/onnx_import.cpp


def protoc(mode, data):
    args = ["protoc", "--" + mode + "=onnx.ModelProto", "-I/usr/include/onnx", "/usr/include/onnx/onnx.proto"]
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def unescape(s):
    """protoc text-format bytes literal -> bytes."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            n = s[i + 1]
            if n in "01234567":
                j = i + 1
                while j < len(s) and j < i + 4 and s[j] in "01234567":
                    j += 1
                out.append(int(s[i + 1:j], 8))
                i = j
                continue
            out.append({"n": 10, "r": 13, "t": 9, '"': 34, "'": 39, "\\": 92}[n])
            i += 2
        else:
            out += c.encode()
            i += 1
    return bytes(out)


def onnx_seeds(qscribe):
    if not qscribe or not shutil.which("protoc"):
        print("skipped ONNX seeds (need --qscribe and protoc)", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for weights in ("float32", "float16"):
            subprocess.run([qscribe, "export", "--random-init", "--seed", "3", "--hyper", ONNX_HYPER, "--weights",
                            weights, "--out", os.path.join(tmp, weights)], check=True, stdout=subprocess.DEVNULL)
            full = open(os.path.join(tmp, weights + ".onnx"), "rb").read()
            put("onnx_import", "export-%s.onnx" % weights, full)
            text = protoc("decode", full).decode()
            # Weights only: the graph's initializers without its nodes (all the importer reads).
            inits = re.findall(r"^  initializer \{\n.*?^  \}\n", text, re.S | re.M)
            inits = [b for b in inits if "raw_data" in b and re.search(r"data_type: (1|10)\n", b)]
            put("onnx_import", "weights-only-%s.onnx" % weights,
                protoc("encode", ("ir_version: 8\ngraph {\n" + "".join(inits) + "}\n").encode()))
            # The same weights in the typed fields instead of raw_data: float_data (float32) and
            # int32_data holding float16 bits.
            typed = []
            for b in inits:
                m = re.search(r'raw_data: "(.*)"\n', b)
                raw = unescape(m.group(1))
                if weights == "float32":
                    vals = struct.unpack("<%df" % (len(raw) // 4), raw)
                    field = "".join("    float_data: %r\n" % v for v in vals)
                else:
                    vals = struct.unpack("<%dH" % (len(raw) // 2), raw)
                    field = "".join("    int32_data: %d\n" % v for v in vals)
                typed.append(b[:m.start()] + field + b[m.end():])
            put("onnx_import", "weights-typed-%s.onnx" % weights,
                protoc("encode", ("ir_version: 8\ngraph {\n" + "".join(typed) + "}\n").encode()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qscribe", default=os.path.join(ROOT, "build", "native", "bin", "qscribe"))
    a = ap.parse_args()
    for target in os.listdir(CORPUS) if os.path.isdir(CORPUS) else []:  # stale seeds
        for f in os.listdir(os.path.join(CORPUS, target)):
            if f.startswith("seed-"):
                os.remove(os.path.join(CORPUS, target, f))
    midi_seeds()
    note_seeds()
    sidecar_seeds()
    npy_seeds()
    dataset_seeds()
    audio_seeds()
    onnx_seeds(a.qscribe if os.path.exists(a.qscribe) else None)


if __name__ == "__main__":
    main()
