"""Bad input files for the bad-input matrix (bad_input_matrix.py, docs/robustness.md).

Standard library only, so that the matrix runs wherever ./test does. Every maker writes one file
into a directory and returns its path. Audio is written by hand (RIFF/WAVE), because several
cases are files no audio library would write on purpose: NaN samples, a header that promises
more data than there is, 8 channels at 192 kHz.
"""
import math
import os
import struct
import zlib


def wav_bytes(samples, rate=22050, channels=1, fmt="pcm16", data_size=None):
    """A WAV file of interleaved `samples` (floats, -1..1 for PCM). fmt: pcm16 | pcm8 | float32.
    data_size overrides the data chunk's length field (a lying header)."""
    if fmt == "float32":
        tag, width = 3, 4
        body = struct.pack("<%df" % len(samples), *samples)
    elif fmt == "pcm8":
        tag, width = 1, 1
        body = bytes(max(0, min(255, int(round(s * 127 + 128)))) for s in samples)
    else:
        tag, width = 1, 2
        body = struct.pack("<%dh" % len(samples), *(max(-32768, min(32767, int(round(s * 32767)))) for s in samples))
    fmt_chunk = struct.pack("<HHIIHH", tag, channels, int(rate), int(rate) * channels * width, channels * width, 8 * width)
    size = len(body) if data_size is None else data_size
    chunks = b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", size) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def tones(seconds, rate=22050, pitches=(60, 64, 67), amp=0.25, channels=1):
    """A chord of decaying sine notes re-struck every half second (something to transcribe)."""
    n = int(seconds * rate)
    out = []
    for i in range(n):
        t = i / rate
        env = math.exp(-3.0 * (t % 0.5))
        v = sum(math.sin(2 * math.pi * 440.0 * 2 ** ((p - 69) / 12) * t) for p in pitches) * amp * env / len(pitches)
        out.extend([v] * channels)
    return out


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def png_bytes():
    """A valid 1x1 PNG: a real file of another kind."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")


def midi_bytes(notes, ppq=480, truncate=None):
    """A format-0 MIDI file of (onset_s, offset_s, pitch) at 120 bpm; truncate cuts the file."""
    events = []
    for on, off, p in notes:
        events.append((int(on * 2 * ppq), 0x90, p, 90))
        events.append((int(off * 2 * ppq), 0x80, p, 0))
    events.sort(key=lambda e: (e[0], e[1] == 0x90))
    track, last = b"", 0
    for tick, st, p, v in events:
        d, vlq = tick - last, [tick - last & 0x7F]
        d >>= 7
        while d:
            vlq.insert(0, 0x80 | (d & 0x7F))
            d >>= 7
        track += bytes(vlq) + bytes([st, p, v])
        last = tick
    track += b"\x00\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq) + b"MTrk" + struct.pack(">I", len(track)) + track
    return data if truncate is None else data[:truncate]


def silence_wav_long(path, hours, rate=8000):
    """A long 8 kHz 16-bit silent WAV, written in blocks (3 h = 173 MB)."""
    n = int(hours * 3600 * rate)
    fmt_chunk = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + 2 * n) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk)
        f.write(b"data" + struct.pack("<I", 2 * n))
        block = bytes(2 * rate * 60)
        for _ in range(n // (rate * 60)):
            f.write(block)
        f.write(bytes(2 * (n % (rate * 60))))
    return path


def make_audio_cases(d):
    """id -> path of every bad audio case (and two good controls)."""
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)
    good = wav_bytes(tones(3.0))
    sec = 22050
    cases = {
        "empty": write(p("empty.wav"), b""),
        "truncated": write(p("truncated.wav"), good[: len(good) // 3]),
        "header_only": write(p("header_only.wav"), good[:44]),
        "lying_header": write(p("lying_header.wav"), wav_bytes(tones(1.0), data_size=10 * sec * 2)),
        "wrong_ext": write(p("wav_named.mp3"), good),
        "text_as_wav": write(p("text.wav"), b"this is not audio, it is a note to myself\n" * 20),
        "png": write(p("picture.wav"), png_bytes()),
        "midi_as_audio": write(p("song_mid.wav"), midi_bytes([(0, 1, 60)])),
        "one_sample": write(p("one_sample.wav"), wav_bytes([0.5])),
        "silence": write(p("silence.wav"), wav_bytes([0.0] * (10 * sec))),
        "dc": write(p("dc.wav"), wav_bytes([0.5] * (5 * sec))),
        "clipping": write(p("clipped.wav"), wav_bytes([max(-1.0, min(1.0, 8 * s)) for s in tones(3.0)])),
        "quiet": write(p("quiet.wav"), wav_bytes([s * 1e-4 for s in tones(3.0)])),
        "nan": write(p("nan.wav"), wav_bytes([float("nan") if i % 1000 == 0 else s for i, s in enumerate(tones(2.0))],
                                             fmt="float32")),
        "inf": write(p("inf.wav"), wav_bytes([float("inf") if i == 5000 else s for i, s in enumerate(tones(2.0))],
                                             fmt="float32")),
        "rate_8k": write(p("rate_8k.wav"), wav_bytes(tones(3.0, rate=8000), rate=8000)),
        "rate_192k": write(p("rate_192k.wav"), wav_bytes(tones(2.0, rate=192000), rate=192000)),
        "channels_8": write(p("channels_8.wav"), wav_bytes(tones(2.0, channels=8), channels=8)),
        "pcm8": write(p("pcm8.wav"), wav_bytes(tones(3.0), fmt="pcm8")),
        "unicode_name": write(p("ünï cödé – song.wav"), good),
        "missing": p("does_not_exist.wav"),
        "directory": p("a_directory.wav"),
    }
    os.makedirs(cases["directory"], exist_ok=True)
    return cases
