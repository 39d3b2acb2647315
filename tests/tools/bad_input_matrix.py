#!/usr/bin/env python3
"""The command line's rows of the bad-input matrix (docs/robustness.md).

    bad_input_matrix.py QSCRIBE MODELS_DIR WORKDIR [--rows transcribe,notate,...] [--markdown FILE]

Runs every `qscribe` command that takes outside data against every bad case that applies to it
and checks what a user must see:
  * a refused input: exit status 1 or 2, a message that names the problem, no crash (signal,
    "terminate called", sanitizer report), no output file created, an earlier output file
    byte-for-byte untouched, no temporary file left behind;
  * an accepted input (silence, DC, 192 kHz, ...): exit 0 and an output that reads back.
Output-side cases (unwritable folder, disk full) run in a private mount namespace
(`unshare -rm`) on a tiny tmpfs; kill -9 cases kill the command at several moments and check
that the output is the earlier one or a complete new one, and that the rerun (for train: the
resume) succeeds. Exits 1 when any cell differs from its expectation. --markdown writes the
observed matrix (the table in docs/robustness.md is this output).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bad_files as bf  # noqa: E402

CRASH = re.compile(r"terminate called|Segmentation fault|Aborted|core dumped|AddressSanitizer|runtime error:|"
                   r"std::|what\(\)|basic_string|stoi|stod|c10::", re.I)


class Ctx:
    def __init__(self, qscribe, models, work):
        self.q, self.models, self.work = qscribe, models, work
        self.model = os.path.join(models, "qscribe-default.onnx")
        self.results = []  # (row, case, ok, observed, expected)

    def path(self, *parts):
        return os.path.join(self.work, *parts)


def run(cmd, timeout=600, env=None):
    """Runs a command; returns (status, combined output). status < 0: killed by that signal."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def first_error(out):
    lines = [l for l in out.splitlines() if l.strip()]
    for l in lines:
        if "error" in l.lower():
            return l.strip()
    return lines[0].strip() if lines else ""


def short(text, n=110):
    text = text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def leftovers(folder):
    """Temporary files a writer left in a folder."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if ".qs-tmp" in n or n.endswith(".part") or n.endswith(".tmp"))


# ---- output checks ------------------------------------------------------------------------------

def read_tsv_notes(path):
    notes = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            on, off, pitch = line.split("\t")[:3]
            notes.append((float(on), float(off), int(pitch)))
    return notes


def valid_output(path):
    """Reads an output back by its kind; returns a short description or raises."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".tsv":
        return "%d notes" % len(read_tsv_notes(path))
    if ext == ".json":
        with open(path) as f:
            j = json.load(f)
        notes = j["notes"] if isinstance(j, dict) else j
        return "%d notes" % len(notes)
    if ext in (".mid", ".midi"):
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"MThd" or data[-3:] != b"\xff\x2f\x00":
            raise ValueError("not a complete MIDI file")
        return "%d bytes of MIDI" % len(data)
    if ext == ".musicxml":
        with open(path) as f:
            text = f.read()
        if "</score-partwise>" not in text:
            raise ValueError("MusicXML not complete")
        return "%d measures" % text.count("<measure ")
    if ext == ".npy":
        with open(path, "rb") as f:
            data = f.read()
        if data[:6] != b"\x93NUMPY":
            raise ValueError("not .npy")
        hlen = struct.unpack("<H", data[8:10])[0]
        header = data[10:10 + hlen].decode()
        shape = tuple(int(x) for x in re.search(r"\((\d+), *(\d+)\)", header).groups())
        if len(data) - 10 - hlen != 4 * shape[0] * shape[1]:
            raise ValueError("npy data size does not match its shape")
        return "shape %dx%d" % shape
    if ext == ".wav":
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"RIFF" or struct.unpack("<I", data[4:8])[0] + 8 != len(data):
            raise ValueError("WAV incomplete")
        return "%d bytes of WAV" % len(data)
    return "%d bytes" % os.path.getsize(path)


# ---- expectations -------------------------------------------------------------------------------

class Err:
    """Refused: exit 1 or 2 and `pattern` in the message."""

    def __init__(self, pattern):
        self.pattern = pattern

    def __str__(self):
        return "error /%s/" % self.pattern


class Ok:
    """Accepted: exit 0; `check(ctx, out_path)` returns a description or raises."""

    def __init__(self, what="", check=None, note_max=None):
        self.what, self.check, self.note_max = what, check, note_max

    def __str__(self):
        return "ok " + self.what


def judge(ctx, row, case, cmd, expect, out_path=None, earlier=None, timeout=600):
    """Runs one cell and records it. `earlier`: (path, sha1) of a file that must survive a failure."""
    t0 = time.time()
    try:
        status, out = run(cmd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return record(ctx, row, case, False, "hung (over %d s)" % timeout, expect)
    secs = time.time() - t0
    problems = []
    if status < 0:
        problems.append("killed by signal %d" % -status)
    if CRASH.search(out):
        problems.append("crash text: " + short(CRASH.search(out).group(0), 40))
    if isinstance(expect, Err):
        observed = "exit %d: %s" % (status, short(first_error(out)))
        if status not in (1, 2):
            problems.append("exit status %d" % status)
        if not re.search(expect.pattern, out, re.I):
            problems.append("message lacks /%s/" % expect.pattern)
        if out_path and earlier is None and os.path.exists(out_path):
            problems.append("output file created")
        if earlier and (not os.path.exists(earlier[0]) or digest(earlier[0]) != earlier[1]):
            problems.append("earlier output changed or lost")
    else:
        observed = "exit %d" % status
        if status != 0:
            problems.append("exit status %d: %s" % (status, short(first_error(out))))
        elif out_path is not None:
            try:
                observed = "ok: " + valid_output(out_path)
            except Exception as e:  # noqa: BLE001
                problems.append("output unreadable: %s" % e)
        if not problems and expect.check:
            try:
                observed = "ok: " + expect.check(ctx, out, out_path)
            except Exception as e:  # noqa: BLE001
                problems.append(str(e))
        if secs > 20:
            observed += " (%.0f s)" % secs
    if out_path:
        folder = os.path.dirname(out_path) or "."
        if leftovers(folder):
            problems.append("temporary files left: %s" % leftovers(folder))
    if problems:
        observed += " — " + "; ".join(problems)
    return record(ctx, row, case, not problems, observed, expect)


def record(ctx, row, case, ok, observed, expect):
    ctx.results.append((row, case, ok, observed, str(expect)))
    print("%s %-11s %-18s %s" % ("ok  " if ok else "FAIL", row, case, observed), flush=True)
    return ok


# ---- fixtures -----------------------------------------------------------------------------------

def make_note_cases(d):
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)
    good = [(0.5 * i, 0.5 * i + 0.4, 60 + (i * 5) % 12) for i in range(16)]
    tsv = "".join("%.3f\t%.3f\t%d\n" % n for n in good)
    return {
        "good_tsv": bf.write(p("good.tsv"), tsv.encode()),
        "good_mid": bf.write(p("good.mid"), bf.midi_bytes(good)),
        "notes_empty_file": bf.write(p("empty.tsv"), b""),
        "notes_none": bf.write(p("no_notes.tsv"), b"# onset\toffset\tpitch\n"),
        "notes_garbage": bf.write(p("garbage.tsv"), b"hello world\nthis is not a note list\n"),
        "notes_bad_values": bf.write(p("bad_values.tsv"), b"1.0\t0.5\t60\n-3\t2\t200\nnan\t1\t60\n"),
        "midi_truncated": bf.write(p("truncated.mid"), bf.midi_bytes(good, truncate=30)),
        "midi_no_notes": bf.write(p("no_notes.mid"), bf.midi_bytes([])),
        "json_invalid": bf.write(p("invalid.json"), b'{"notes": [ {"onset": 1, '),
        "wrong_ext": bf.write(p("notes.wav"), tsv.encode()),
        "notes_many": bf.write(p("many.tsv"), "".join("%.4f\t%.4f\t%d\n" % (0.05 * i, 0.05 * i + 0.3, 36 + i % 60)
                                                       for i in range(60000)).encode()),
        "missing": p("missing.tsv"),
    }


def make_dataset(ctx):
    """A tiny pairs corpus, preprocessed, and a tiny checkpoint trained on it (seconds)."""
    src = ctx.path("corpus", "train")
    os.makedirs(src, exist_ok=True)
    for i, chord in enumerate([(60, 64, 67), (57, 60, 64), (55, 59, 62), (53, 57, 60)]):
        bf.write(os.path.join(src, "p%d.wav" % i), bf.wav_bytes(bf.tones(4.0, pitches=chord)))
        tsv = "".join("%.3f\t%.3f\t%d\n" % (0.5 * k, 0.5 * k + 0.45, p) for k in range(8) for p in chord)
        bf.write(os.path.join(src, "p%d.tsv" % i), tsv.encode())
    ds = ctx.path("ds")
    st, out = run([ctx.q, "preprocess", "--data", ctx.path("corpus"), "--format", "pairs", "--split", "train",
                   "--out", ds, "--no-progress", "--num-workers", "1"])
    if st != 0:
        sys.exit("fixture: preprocess failed:\n" + out)
    ckpt_dir = ctx.path("run")
    st, out = run([ctx.q, "train", ds, "-o", ckpt_dir] + TINY + ["--epochs", "1"])
    if st != 0:
        sys.exit("fixture: train failed:\n" + out)
    return ds, os.path.join(ckpt_dir, "best.pt")


TINY = ["--n-layers", "1", "--n-heads", "2", "--head-dim", "8", "--c", "2", "--embed-dim", "32", "--mlp-hidden", "32",
        "--batch-size", "2", "--num-workers", "1", "--threads", "1", "--no-progress", "--val-fraction", "0.25"]


def broken_copy(ctx, src_dir, name, mutate):
    """A copy of a data set or model folder with one file changed by mutate(path)."""
    dst = ctx.path("broken", name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src_dir, dst)
    mutate(dst)
    return dst


def truncate_file(path, keep=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))


def model_cases(ctx):
    """Bad models: (id, path) pairs; each sidecar case is a copy of the shipped model."""
    d = ctx.path("models")
    os.makedirs(d, exist_ok=True)
    src_onnx, src_json = ctx.model, ctx.model[:-5] + ".json"
    def copy(name, onnx_bytes=None, sidecar=None):
        onnx = os.path.join(d, name + ".onnx")
        if onnx_bytes is None:
            shutil.copy(src_onnx, onnx)
        else:
            bf.write(onnx, onnx_bytes)
        if sidecar is not False:
            with open(src_json) as f:
                text = f.read()
            bf.write(os.path.join(d, name + ".json"), (sidecar(text) if sidecar else text).encode())
        return onnx
    with open(src_onnx, "rb") as f:
        onnx_bytes = f.read()
    def mismatch(text):  # a sidecar of another architecture: the weights no longer fit
        j = json.loads(text)
        j["architecture"]["embed_dim"] = 128
        return json.dumps(j)
    return {
        "model_missing": os.path.join(d, "nothing_here.onnx"),
        "model_corrupt": copy("corrupt", onnx_bytes=b"\x08\x07garbage" * 100),
        "model_truncated": copy("truncated", onnx_bytes=onnx_bytes[: len(onnx_bytes) // 2]),
        "sidecar_missing": copy("no_sidecar", sidecar=False),
        "sidecar_invalid": copy("bad_sidecar", sidecar=lambda t: t[: len(t) // 2]),
        "sidecar_mismatch": copy("mismatch", sidecar=mismatch),
    }


# ---- cells --------------------------------------------------------------------------------------

EARLIER = b"an earlier output that a failed run must leave alone\n"


def cell(ctx, row, case, args, expect, out=None, timeout=600):
    """One cell. For an expected refusal an earlier file at `out` must survive byte for byte."""
    earlier = None
    if out:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.exists(out):
            os.remove(out)
        if isinstance(expect, Err):
            bf.write(out, EARLIER)
            earlier = (out, digest(out))
    return judge(ctx, row, case, [ctx.q] + args, expect, out, earlier, timeout)


def notes_at_most(n):
    def check(ctx, out, path):
        got = len(read_tsv_notes(path))
        if got > n:
            raise ValueError("%d notes, expected at most %d" % (got, n))
        return "%d notes" % got
    return check


def notes_at_least(n):
    def check(ctx, out, path):
        got = len(read_tsv_notes(path))
        if got < n:
            raise ValueError("%d notes, expected at least %d" % (got, n))
        return "%d notes" % got
    return check


# The message of every command that loads a model, for each bad model of model_cases().
MODEL_ERRORS = {"model_missing": "no such model", "model_corrupt": "not an ONNX model",
                "model_truncated": "not an ONNX model|truncated", "sidecar_missing": "sidecar .* is missing",
                "sidecar_invalid": "not valid JSON", "sidecar_mismatch": "has shape"}

# What every command that reads audio must do with each audio case.
AUDIO = {
    "empty": Err("empty"),
    "truncated": Ok("reads the part present", notes_at_least(1)),
    "header_only": Err("no audio samples"),
    "lying_header": Ok("reads the part present", notes_at_least(1)),
    "wrong_ext": Ok("read by its content", notes_at_least(3)),
    "text_as_wav": Err("not an audio file"),
    "png": Err("not an audio file"),
    "midi_as_audio": Err("not an audio file"),
    "one_sample": Ok("no notes", notes_at_most(0)),
    "silence": Ok("no notes", notes_at_most(0)),
    "dc": Ok("no notes", notes_at_most(0)),
    "clipping": Ok("notes", notes_at_least(3)),
    "quiet": Ok("at most a few notes", notes_at_most(12)),
    "nan": Err("non-finite samples .*at 0 s"),
    "inf": Err("non-finite samples .*at 0.2267"),
    "rate_8k": Ok("resampled", notes_at_least(3)),
    "rate_192k": Ok("resampled", notes_at_least(3)),
    "channels_8": Ok("mixed to mono", notes_at_least(3)),
    "pcm8": Ok("notes", notes_at_least(3)),
    "unicode_name": Ok("notes", notes_at_least(3)),
    "missing": Err("does not exist|not found"),
    "directory": Err("directory"),
}


def row_transcribe(ctx, audio, models, long_wav):
    out_dir = ctx.path("out", "transcribe")
    for case, expect in AUDIO.items():
        cell(ctx, "transcribe", case, ["transcribe", audio[case], "-o", os.path.join(out_dir, case + ".tsv"), "-q"],
             expect, os.path.join(out_dir, case + ".tsv"))
    cell(ctx, "transcribe", "3_hours", ["transcribe", long_wav, "-o", os.path.join(out_dir, "long.tsv"), "-q"],
         Ok("no notes, constant memory", notes_at_most(0)), os.path.join(out_dir, "long.tsv"))
    good = audio["unicode_name"]
    for case, model in models.items():
        pattern = MODEL_ERRORS[case]
        cell(ctx, "transcribe", case, ["transcribe", good, "-m", model, "-o", os.path.join(out_dir, "m.tsv"), "-q"],
             Err(pattern), os.path.join(out_dir, "m.tsv"))
    cell(ctx, "transcribe", "checkpoint_truncated", ["transcribe", good, "-m", ctx.truncated_ckpt, "-o",
         os.path.join(out_dir, "c.tsv"), "-q"], Err("not a readable qscribe checkpoint"), os.path.join(out_dir, "c.tsv"))
    cell(ctx, "transcribe", "out_audio_name", ["transcribe", good, "-o", os.path.join(out_dir, "x.wav")],
         Err("cannot be the output"))
    cell(ctx, "transcribe", "out_no_folder", ["transcribe", good, "-o", ctx.path("no", "such", "x.mid")],
         Err("No such file or directory"))
    cell(ctx, "transcribe", "out_parent_file", ["transcribe", good, "-o", ctx.path("a_file", "x.mid")],
         Err("Not a directory"))
    cell(ctx, "transcribe", "bad_option", ["transcribe", good, "-o", os.path.join(out_dir, "o.mid"),
         "--onset-threshold", "2"], Err("not in range"))
    cell(ctx, "transcribe", "unknown_option", ["transcribe", good, "-o", os.path.join(out_dir, "o.mid"), "--bogus"],
         Err("not expected"))
    batch = ctx.path("out", "batch")
    cell(ctx, "transcribe", "batch_one_bad", ["transcribe", good, audio["empty"], audio["clipping"], "-o", batch, "-q"],
         Err("1 of 3 files"))
    names = sorted(os.listdir(batch)) if os.path.isdir(batch) else []
    record(ctx, "transcribe", "batch_others_kept", names == ["clipped.mid", "ünï cödé – song.mid"],
           "the 2 good files written: %s" % names, "ok both written")
    cell(ctx, "transcribe", "same_stem_twice", ["transcribe", good, good, "-o", ctx.path("out", "dup")],
         Err("would both be written"))


def row_features(ctx, audio, long_wav):
    out_dir = ctx.path("out", "features")
    for case, expect in AUDIO.items():
        out = os.path.join(out_dir, case + ".npy")
        e = expect if isinstance(expect, Err) else Ok(expect.what)
        cell(ctx, "features", case, ["features", audio[case], "-o", out], e, out)
    cell(ctx, "features", "out_no_folder", ["features", audio["silence"], "-o", ctx.path("no", "such", "x.npy")],
         Err("No such file or directory"))
    cell(ctx, "features", "bad_option", ["features", audio["silence"], "-o", os.path.join(out_dir, "x.npy"),
         "--bins-per-note", "0"], Err("not in range"))


NOTES = {  # notate: each note case, written as sheet music
    "good_tsv": Ok("sheet music"),
    "good_mid": Ok("sheet music"),
    "notes_empty_file": Ok("an empty bar"),
    "notes_none": Ok("an empty bar"),
    "notes_garbage": Err("onset must be a number"),
    "notes_bad_values": Err("offset must be after onset"),
    "midi_truncated": Err("not a valid MIDI file: truncated"),
    "midi_no_notes": Ok("an empty bar"),
    "json_invalid": Err("not valid JSON"),
    "wrong_ext": Err("unknown note file type"),
    "notes_many": Ok("60000 notes engraved"),
    "missing": Err("does not exist"),
}


def row_notate(ctx, notes):
    out_dir = ctx.path("out", "notate")
    for case, expect in NOTES.items():
        out = os.path.join(out_dir, case + ".musicxml")
        cell(ctx, "notate", case, ["notate", notes[case], "-o", out], expect, out)
    cell(ctx, "notate", "bad_option", ["notate", notes["good_tsv"], "-o", os.path.join(out_dir, "t.musicxml"),
         "--time-signature", "5/0"], Err("time signature"), os.path.join(out_dir, "t.musicxml"))
    cell(ctx, "notate", "out_no_folder", ["notate", notes["good_tsv"], "-o", ctx.path("no", "such", "x.musicxml")],
         Err("No such file or directory"))
    cell(ctx, "notate", "out_audio_name", ["notate", notes["good_tsv"], "-o", os.path.join(out_dir, "x.wav")],
         Err("output|extension|file type"))


def row_evaluate(ctx, audio, notes, models, ds):
    ref = notes["good_tsv"]
    for case in ("empty", "text_as_wav", "nan", "missing", "directory"):
        cell(ctx, "evaluate", case, ["evaluate", "--audio", audio[case], "--ref", ref], AUDIO[case])
    for case in ("silence", "rate_192k", "channels_8"):
        cell(ctx, "evaluate", case, ["evaluate", "--audio", audio[case], "--ref", ref],
             Ok("scored", lambda c, out, p: "scored" if "note" in out.lower() else 1 / 0))
    for case in ("notes_empty_file", "notes_garbage", "notes_bad_values", "midi_truncated", "json_invalid", "missing"):
        expect = NOTES[case] if isinstance(NOTES[case], Err) else Ok("scored against no notes")
        cell(ctx, "evaluate", "ref_" + case, ["evaluate", "--audio", audio["clipping"], "--ref", notes[case]], expect)
    cell(ctx, "evaluate", "ref_count_differs", ["evaluate", "--audio", audio["clipping"], audio["silence"],
         "--ref", ref], Err("--ref"))
    for case, model in models.items():
        pattern = MODEL_ERRORS[case]
        cell(ctx, "evaluate", case, ["evaluate", "-m", model, "--audio", audio["clipping"], "--ref", ref], Err(pattern))
    for case, data in dataset_cases(ctx, ds).items():
        cell(ctx, "evaluate", case, ["evaluate", "-m", ctx.ckpt, "-d", data], DATA_EXPECT[case])
    cell(ctx, "evaluate", "checkpoint_truncated", ["evaluate", "-m", ctx.truncated_ckpt, "-d", ds],
         Err("not a readable qscribe checkpoint"))


DATA_EXPECT = {
    "data_missing": Err("does not exist|not found|no such"),
    "data_empty_dir": Err("dataset.json"),
    "index_missing": Err("dataset.json"),
    "index_garbage": Err("not valid JSON|dataset.json"),
    "shard_truncated": Err("cqt.f32"),
    "labels_truncated": Err("frames.u8|onsets.u8"),
}


def dataset_cases(ctx, ds):
    empty = ctx.path("broken", "empty_dir")
    os.makedirs(empty, exist_ok=True)
    return {
        "data_missing": ctx.path("broken", "no_such_data"),
        "data_empty_dir": empty,
        "index_missing": broken_copy(ctx, ds, "index_missing", lambda d: os.remove(os.path.join(d, "dataset.json"))),
        "index_garbage": broken_copy(ctx, ds, "index_garbage",
                                     lambda d: bf.write(os.path.join(d, "dataset.json"), b'{"pieces": [1, 2')),
        "shard_truncated": broken_copy(ctx, ds, "shard_truncated", lambda d: truncate_file(os.path.join(d, "cqt.f32"))),
        "labels_truncated": broken_copy(ctx, ds, "labels_truncated",
                                        lambda d: truncate_file(os.path.join(d, "frames.u8"))),
    }


def dataset_ok(path):
    with open(os.path.join(path, "dataset.json")) as f:
        j = json.load(f)
    return "%d pieces" % len(j["pieces"])


def row_preprocess(ctx, audio, ds):
    mixed = ctx.path("pre", "mixed", "train")
    bad_only = ctx.path("pre", "bad_only", "train")
    for d in (mixed, bad_only):
        os.makedirs(d, exist_ok=True)
    for name in ("empty", "text_as_wav", "nan", "header_only"):
        for d in (mixed, bad_only):
            shutil.copy(audio[name], os.path.join(d, name + ".wav"))
            shutil.copy(os.path.join(ctx.path("corpus", "train"), "p0.tsv"), os.path.join(d, name + ".tsv"))
    shutil.copy(os.path.join(ctx.path("corpus", "train"), "p1.wav"), os.path.join(mixed, "good.wav"))
    shutil.copy(os.path.join(ctx.path("corpus", "train"), "p1.tsv"), os.path.join(mixed, "good.tsv"))
    shutil.copy(audio["unicode_name"], os.path.join(mixed, "no_labels.wav"))
    base = ["preprocess", "--format", "pairs", "--split", "train", "--no-progress", "--num-workers", "1"]
    out = ctx.path("out", "pre_mixed")
    def skipped(c, text, p):
        if not re.search(r"skipped [45]", text):
            raise ValueError("summary does not report the skipped files: " + short(first_error(text)))
        return dataset_ok(out) + ", " + re.search(r"skipped [^\n]*", text).group(0)[:60]
    cell(ctx, "preprocess", "some_files_bad", base + ["--data", ctx.path("pre", "mixed"), "--out", out],
         Ok("bad files skipped and listed", skipped))
    # An earlier data set at --out must survive a run that fails.
    earlier = ctx.path("out", "pre_earlier")
    shutil.rmtree(earlier, ignore_errors=True)
    shutil.copytree(ds, earlier)
    before = digest(os.path.join(earlier, "dataset.json"))
    judge(ctx, "preprocess", "all_files_bad", [ctx.q] + base + ["--data", ctx.path("pre", "bad_only"), "--out", earlier],
          Err("no piece could be preprocessed"), None, (os.path.join(earlier, "dataset.json"), before))
    record(ctx, "preprocess", "earlier_set_kept", digest(os.path.join(earlier, "cqt.f32")) == digest(
        os.path.join(ds, "cqt.f32")) and not leftovers(ctx.path("out")), "earlier data set intact, no work folder left",
        "ok")
    judge(ctx, "preprocess", "data_missing", [ctx.q] + base + ["--data", ctx.path("no_such_folder"), "--out",
          ctx.path("out", "pre_x")], Err("does not exist|not found|no such"))
    user = ctx.path("out", "users_folder")
    os.makedirs(user, exist_ok=True)
    bf.write(os.path.join(user, "my_notes.txt"), b"keep me")
    judge(ctx, "preprocess", "out_is_other_folder", [ctx.q] + base + ["--data", ctx.path("corpus"), "--out", user],
          Err("not a data set"), None, (os.path.join(user, "my_notes.txt"), digest(os.path.join(user, "my_notes.txt"))))
    judge(ctx, "preprocess", "out_is_file", [ctx.q] + base + ["--data", ctx.path("corpus"), "--out", ctx.path("a_file")],
          Err("not a folder"))
    judge(ctx, "preprocess", "bad_option", [ctx.q] + base + ["--data", ctx.path("corpus"), "--bins-per-note", "9"],
          Err("not in range"))


def row_train(ctx, ds):
    out = ctx.path("out", "train")
    for case, data in dataset_cases(ctx, ds).items():
        judge(ctx, "train", case, [ctx.q, "train", data, "-o", out] + TINY + ["--epochs", "1"], DATA_EXPECT[case])
    base = [ctx.q, "train", ds] + TINY + ["--epochs", "1"]
    judge(ctx, "train", "load_weights_corrupt", base + ["-o", out, "--load-weights", ctx.garbage_ckpt],
          Err("not a readable qscribe checkpoint"))
    judge(ctx, "train", "load_weights_missing", base + ["-o", out, "--load-weights", ctx.path("nothing.pt")],
          Err("no such|does not exist|not found"))
    # Same features and notes, other shape: the fixture's own checkpoint into a wider model.
    wider = list(TINY)
    wider[wider.index("--embed-dim") + 1] = "48"
    judge(ctx, "train", "load_weights_other_arch",
          [ctx.q, "train", ds] + wider + ["--epochs", "1", "-o", out, "--load-weights", ctx.ckpt],
          Err("other model hyper-parameters"))
    # The shipped model reads a CQT with other filter lengths than this data's: named, not loaded.
    judge(ctx, "train", "load_weights_other_features", base + ["-o", out, "--load-weights", ctx.model],
          Err("other features or notes than this data: filter_scale"))
    resume = ctx.path("out", "train_resume_truncated")
    os.makedirs(resume, exist_ok=True)
    shutil.copy(ctx.truncated_ckpt, os.path.join(resume, "checkpoint.pt"))
    judge(ctx, "train", "checkpoint_truncated", base + ["-o", resume, "--resume"],
          Err("not a readable qscribe checkpoint"), None,
          (os.path.join(resume, "checkpoint.pt"), digest(ctx.truncated_ckpt)))
    judge(ctx, "train", "out_is_file", base + ["-o", ctx.path("a_file")], Err("not a directory|folder|exists"))
    judge(ctx, "train", "bad_option", base + ["-o", out, "--lr", "-1"], Err("lr"))


def row_export(ctx):
    out = ctx.path("out", "export", "m")
    for case, ckpt, pattern in (("checkpoint_missing", ctx.path("nothing.pt"), "no such|does not exist"),
                                ("checkpoint_truncated", ctx.truncated_ckpt, "not a readable qscribe checkpoint"),
                                ("checkpoint_garbage", ctx.garbage_ckpt, "not a readable qscribe checkpoint")):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        bf.write(out + ".onnx", EARLIER)
        judge(ctx, "export", case, [ctx.q, "export", "--checkpoint", ckpt, "--out", out], Err(pattern), out + ".onnx",
              (out + ".onnx", digest(out + ".onnx")))
    judge(ctx, "export", "hyper_not_json", [ctx.q, "export", "--random-init", "--hyper", "{n_layers: 2", "--out", out],
          Err("JSON"))
    judge(ctx, "export", "out_parent_file", [ctx.q, "export", "--checkpoint", ctx.ckpt, "--out",
          ctx.path("a_file", "m")], Err("Not a directory|cannot"))
    judge(ctx, "export", "bad_option", [ctx.q, "export", "--checkpoint", ctx.ckpt, "--out", out, "--weights", "int8"],
          Err("int8"))


def row_average(ctx):
    out = ctx.path("out", "average", "avg.pt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    for case, models, pattern in (
            ("model_missing", [ctx.ckpt, ctx.path("nothing.pt")], "does not exist|no such"),
            ("checkpoint_truncated", [ctx.ckpt, ctx.truncated_ckpt], "not a readable qscribe checkpoint"),
            ("other_architecture", [ctx.ckpt, ctx.model], "architecture|shape|differ"),
            ("only_one_model", [ctx.ckpt], "two or more|at least 2|requires at least")):
        bf.write(out, EARLIER)
        judge(ctx, "average", case, [ctx.q, "average"] + models + ["-o", out], Err(pattern), out, (out, digest(out)))
    judge(ctx, "average", "bad_weights", [ctx.q, "average", ctx.ckpt, ctx.ckpt, "-o", out, "--weights", "1", "-1"],
          Err("weight"))


def row_synth(ctx, notes):
    mids = ctx.path("synth_in")
    os.makedirs(mids, exist_ok=True)
    shutil.copy(notes["good_mid"], os.path.join(mids, "good.mid"))
    shutil.copy(notes["midi_truncated"], os.path.join(mids, "truncated.mid"))
    shutil.copy(notes["midi_no_notes"], os.path.join(mids, "empty.mid"))
    out = ctx.path("out", "synth")
    def rendered(c, text, p):
        wavs = sorted(n for n in os.listdir(out) if n.endswith(".wav"))
        if wavs != ["good.wav"]:
            raise ValueError("rendered %s" % wavs)
        for n in wavs:
            valid_output(os.path.join(out, n))
        return "good.mid rendered, the 2 bad files skipped with a warning"
    judge(ctx, "synth", "some_midi_bad", [ctx.q, "synth", "--midi", mids, "-o", out, "--clip", "3"],
          Ok("bad files skipped", rendered))
    judge(ctx, "synth", "midi_missing", [ctx.q, "synth", "--midi", ctx.path("nothing.mid"), "-o", out],
          Err("does not exist|no such"))
    judge(ctx, "synth", "soundfont_missing", [ctx.q, "synth", "--midi", mids, "-o", out, "--soundfont",
          ctx.path("nothing.sf2")], Err("nothing.sf2"))
    bf.write(ctx.path("bad.sf2"), b"RIFF\x10\x00\x00\x00sfbk garbage")
    judge(ctx, "synth", "soundfont_corrupt", [ctx.q, "synth", "--midi", mids, "-o", out, "--soundfont",
          ctx.path("bad.sf2")], Err("bad.sf2"))
    judge(ctx, "synth", "out_is_file", [ctx.q, "synth", "--midi", mids, "-o", ctx.path("a_file")],
          Err("not a directory|folder|cannot|exists"))
    judge(ctx, "synth", "bad_option", [ctx.q, "synth", "--midi", mids, "-o", out, "--codec", "3"], Err("not in range"))


# ---- output side: a full disk, a read-only folder (private mount namespace) ---------------------

TINY_FS_SCRIPT = r'''
set -e
mount -t tmpfs -o size="$SIZE" tmpfs "$MNT"
if [ -n "$EARLIER_DIR" ]; then cp -r "$EARLIER_DIR" "$MNT/$TARGET"; else mkdir -p "$(dirname "$MNT/$TARGET")"; printf 'earlier output\n' > "$MNT/$TARGET"; fi
sha_before=$(cd "$MNT" && find $CHECK -type f | sort | xargs sha1sum | sha1sum)
if [ "$MODE" = ro ]; then mount -o remount,ro "$MNT"; else dd if=/dev/zero of="$MNT/.fill" bs=4k >/dev/null 2>&1 || true; fi
set +e
"$@" > "$LOG" 2>&1
echo "$?" > "$RC"
sha_after=$(cd "$MNT" && find $CHECK -type f | sort | xargs sha1sum | sha1sum)
[ "$sha_before" = "$sha_after" ] && echo same > "$SAME" || echo changed > "$SAME"
(cd "$MNT" && find . -name '*.qs-tmp*' -o -name '*.part*' -o -name '*.tmp') > "$LEFT"
'''


def tiny_fs_cell(ctx, row, case, argv, target, mode, pattern, earlier_dir=None, size="4m", check=None):
    """Runs argv (with {MNT} replaced) on a tmpfs that is full (mode 'full') or read-only ('ro');
    `target` (relative to the mount) holds an earlier output that must survive."""
    mnt = ctx.path("mnt_" + row + "_" + case)
    os.makedirs(mnt, exist_ok=True)
    files = {k: ctx.path("tinyfs_%s_%s.%s" % (row, case, k)) for k in ("log", "rc", "same", "left")}
    env = dict(os.environ, SIZE=size, MNT=mnt, TARGET=target, CHECK=check or target, MODE=mode, EARLIER_DIR=earlier_dir or "",
               LOG=files["log"], RC=files["rc"], SAME=files["same"], LEFT=files["left"])
    cmd = ["unshare", "-rm", "sh", "-c", TINY_FS_SCRIPT, "sh"] + [a.replace("{MNT}", mnt) for a in argv]
    st, out = run(cmd, env=env)
    if st != 0 or not os.path.exists(files["rc"]):
        return record(ctx, row, case, False, "could not set up the tmpfs (unshare -rm): " + short(out), "")
    read = lambda k: open(files[k]).read().strip()
    status, log, same, left = int(read("rc")), read("log"), read("same"), read("left")
    problems = []
    if status not in (1, 2):
        problems.append("exit status %d" % status)
    if not re.search(pattern, log, re.I):
        problems.append("message lacks /%s/" % pattern)
    if CRASH.search(log):
        problems.append("crash text")
    if same != "same":
        problems.append("earlier output changed")
    if left:
        problems.append("temporary files left: " + left.replace("\n", " "))
    observed = "exit %d: %s; earlier output %s" % (status, short(first_error(log), 90), "kept" if same == "same" else
                                                   "CHANGED")
    if problems:
        observed += " — " + "; ".join(problems)
    return record(ctx, row, case, not problems, observed, "error, earlier kept")


def output_side(ctx, audio, notes, ds, long_wav):
    q = ctx.q
    writers = {  # row: (argv, target relative to the mount, earlier folder to copy there)
        "transcribe": ([q, "transcribe", audio["clipping"], "-o", "{MNT}/out/x.mid", "-q"], "out/x.mid", None),
        "features": ([q, "features", audio["clipping"], "-o", "{MNT}/out/x.npy"], "out/x.npy", None),
        "notate": ([q, "notate", notes["good_tsv"], "-o", "{MNT}/out/x.musicxml"], "out/x.musicxml", None),
        "preprocess": ([q, "preprocess", "--data", ctx.path("corpus"), "--format", "pairs", "--split", "train",
                        "--out", "{MNT}/set", "--no-progress", "--num-workers", "1"], "set", ds),
        "train": ([q, "train", ds, "-o", "{MNT}/run"] + TINY + ["--epochs", "1"], "run", os.path.dirname(ctx.ckpt)),
        "export": ([q, "export", "--checkpoint", ctx.ckpt, "--out", "{MNT}/out/m"], "out/m.onnx", None),
        "average": ([q, "average", ctx.ckpt, ctx.ckpt, "-o", "{MNT}/out/avg.pt"], "out/avg.pt", None),
        "synth": ([q, "synth", "--midi", notes["good_mid"], "-o", "{MNT}/out", "--clip", "3"], "out/earlier.wav", None),
    }
    for row, (argv, target, earlier_dir) in writers.items():
        size = "16m" if earlier_dir else "1m"
        # Training appends its log (log.jsonl) by design; its checkpoints must survive.
        check = "run/best.pt run/checkpoint.pt" if row == "train" else None
        tiny_fs_cell(ctx, row, "disk_full", argv, target, "full", "No space left on device", earlier_dir, size, check)
        tiny_fs_cell(ctx, row, "out_read_only", argv, target, "ro", "Read-only file system", earlier_dir, size, check)


# ---- kill -9 in the middle of each command that writes ----------------------------------------

def kill_cell(ctx, row, argv, out, check, rerun=None, fractions=(0.15, 0.35, 0.55, 0.75, 0.95)):
    """Runs argv to the end (the earlier output), then kills it at several moments. After each
    kill, `out` must be the earlier output or a complete new one (check(out) passes); the rerun
    (argv, or `rerun` for training's --resume) must then succeed and leave no temporary file."""
    t0 = time.time()
    st, text = run(argv)
    full = time.time() - t0
    if st != 0:
        return record(ctx, row, "kill_9", False, "the full run failed: " + short(first_error(text)), "")
    problems, states = [], []
    for frac in fractions:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(frac * full)
        p.send_signal(signal.SIGKILL)
        p.wait()
        try:
            states.append(check(out))
        except Exception as e:  # noqa: BLE001
            problems.append("after a kill at %.0f%%: %s" % (100 * frac, e))
    st, text = run(rerun or argv)
    if st != 0:
        problems.append("rerun failed: " + short(first_error(text)))
    else:
        check(out)
    folder = out if os.path.isdir(out) else os.path.dirname(out)
    if leftovers(folder) or leftovers(os.path.dirname(folder)):
        problems.append("temporary files left after the rerun: %s" % (leftovers(folder) + leftovers(
            os.path.dirname(folder))))
    observed = "killed at %d moments of a %.1f s run: output always whole (%s); rerun ok" % (
        len(fractions), full, ", ".join(sorted(set(states))))
    if problems:
        observed = "; ".join(problems)
    return record(ctx, row, "kill_9", not problems, observed, "whole output, rerun ok")


def whole_file(path):
    valid_output(path)
    return "complete"


def train_state(run_dir):
    """A training folder after a kill: its checkpoint, if any, loads (export reads it)."""
    ck = os.path.join(run_dir, "checkpoint.pt")
    if not os.path.exists(ck):
        return "no checkpoint yet"
    st, text = run([CTX.q, "export", "--checkpoint", ck, "--out", os.path.join(CTX.work, "kill_export", "m")])
    if st != 0:
        raise ValueError("checkpoint.pt does not load: " + short(first_error(text)))
    return "checkpoint loads"


def kills(ctx, notes, long_wav):
    q, o = ctx.q, ctx.path("out", "kill")
    os.makedirs(o, exist_ok=True)
    kill_cell(ctx, "transcribe", [q, "transcribe", ctx.medium_wav, "-o", o + "/t.mid", "-q"], o + "/t.mid", whole_file)
    kill_cell(ctx, "features", [q, "features", ctx.medium_wav, "-o", o + "/f.npy"], o + "/f.npy", whole_file)
    kill_cell(ctx, "notate", [q, "notate", notes["notes_many"], "-o", o + "/n.musicxml"], o + "/n.musicxml", whole_file)
    kill_cell(ctx, "preprocess", [q, "preprocess", "--data", ctx.path("kill_corpus"), "--format", "pairs", "--split",
              "train", "--out", o + "/set", "--no-progress", "--num-workers", "1"], o + "/set", dataset_ok)
    run_dir = o + "/run"
    shutil.rmtree(run_dir, ignore_errors=True)
    kill_cell(ctx, "train", [q, "train", ctx.ds, "-o", run_dir] + TINY + ["--epochs", "2"], run_dir, train_state,
              rerun=[q, "train", ctx.ds, "-o", run_dir, "--resume"] + TINY + ["--epochs", "3"])
    kill_cell(ctx, "export", [q, "export", "--checkpoint", ctx.ckpt, "--out", o + "/m"], o + "/m.onnx", whole_file)
    kill_cell(ctx, "average", [q, "average", ctx.ckpt, ctx.ckpt, ctx.ckpt, "-o", o + "/a.pt"], o + "/a.pt",
              lambda p: "complete" if run([q, "export", "--checkpoint", p, "--out", o + "/am"])[0] == 0 else 1 / 0)
    kill_cell(ctx, "synth", [q, "synth", "--midi", ctx.path("synth_in"), "--variants", "4", "-o", o + "/synth",
              "--clip", "3", "-j", "1"], o + "/synth", synth_state)


def synth_state(folder):
    if not os.path.isdir(folder):
        return "nothing yet"
    for n in os.listdir(folder):
        if n.endswith(".wav") or n.endswith(".mid"):
            valid_output(os.path.join(folder, n))
    return "files whole"


# ---- main ---------------------------------------------------------------------------------------

CTX = None
ROWS = ["transcribe", "features", "evaluate", "notate", "preprocess", "train", "export", "average", "synth",
        "output_side", "kill_9"]


def main():
    global CTX
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("qscribe")
    ap.add_argument("models")
    ap.add_argument("work")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--markdown")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    ctx = CTX = Ctx(os.path.abspath(a.qscribe), os.path.abspath(a.models), os.path.abspath(a.work))
    audio = bf.make_audio_cases(ctx.path("audio"))
    notes = make_note_cases(ctx.path("notes"))
    long_wav = bf.silence_wav_long(ctx.path("audio", "three_hours.wav"), 3.0)
    ctx.medium_wav = bf.silence_wav_long(ctx.path("audio", "ten_minutes.wav"), 1 / 6.0, rate=22050)
    ctx.ds, ctx.ckpt = make_dataset(ctx)
    ctx.truncated_ckpt = ctx.path("truncated.pt")
    shutil.copy(ctx.ckpt, ctx.truncated_ckpt)
    truncate_file(ctx.truncated_ckpt, 0.6)
    ctx.garbage_ckpt = ctx.path("garbage.pt")  # a zip header and nothing of a checkpoint
    bf.write(ctx.garbage_ckpt, b"PK\x03\x04 not really a zip" * 10)
    os.makedirs(ctx.path("kill_corpus", "train"), exist_ok=True)
    for n in os.listdir(ctx.path("corpus", "train")):
        shutil.copy(ctx.path("corpus", "train", n), ctx.path("kill_corpus", "train", n))
    shutil.copy(ctx.medium_wav, ctx.path("kill_corpus", "train", "long.wav"))
    bf.write(ctx.path("kill_corpus", "train", "long.tsv"), b"1.0\t2.0\t60\n")
    models = model_cases(ctx)
    bf.write(ctx.path("a_file"), b"a file where a folder is expected\n")
    rows = a.rows.split(",")
    if "synth" in rows or "kill_9" in rows:
        os.makedirs(ctx.path("synth_in"), exist_ok=True)
    steps = {
        "transcribe": lambda: row_transcribe(ctx, audio, models, long_wav),
        "features": lambda: row_features(ctx, audio, long_wav),
        "evaluate": lambda: row_evaluate(ctx, audio, notes, models, ctx.ds),
        "notate": lambda: row_notate(ctx, notes),
        "preprocess": lambda: row_preprocess(ctx, audio, ctx.ds),
        "train": lambda: row_train(ctx, ctx.ds),
        "export": lambda: row_export(ctx),
        "average": lambda: row_average(ctx),
        "synth": lambda: row_synth(ctx, notes),
        "output_side": lambda: output_side(ctx, audio, notes, ctx.ds, long_wav),
        "kill_9": lambda: kills(ctx, notes, long_wav),
    }
    if "kill_9" in rows and "synth" not in rows:
        row_synth(ctx, notes)
    for r in rows:
        steps[r]()
    bad = [r for r in ctx.results if not r[2]]
    if a.markdown:
        write_markdown(ctx, a.markdown)
    print("\n%d cells, %d as expected, %d not" % (len(ctx.results), len(ctx.results) - len(bad), len(bad)))
    for r in bad:
        print("FAIL %s / %s: %s (expected %s)" % (r[0], r[1], r[3], r[4]))
    return 1 if bad else 0


def write_markdown(ctx, path):
    cases, rows = [], []
    for r in ctx.results:
        if r[1] not in cases:
            cases.append(r[1])
        if r[0] not in rows:
            rows.append(r[0])
    cell_of = {(r[0], r[1]): r for r in ctx.results}
    def clean(text):  # the message without the scratch paths, as a reader would want it
        text = text.replace("qscribe: error: ", "")
        text = re.sub(re.escape(ctx.work) + r"/[^ :]*/([^/ :]+)", r"\1", text)
        return text.replace(ctx.work + "/", "")
    with open(path, "w") as f:
        f.write("| case | " + " | ".join("`%s`" % r for r in rows) + " |\n")
        f.write("|---|" + "---|" * len(rows) + "\n")
        for c in cases:
            line = []
            for r in rows:
                x = cell_of.get((r, c))
                line.append("—" if x is None else ("" if x[2] else "❌ ") + short(clean(x[3]), 90))
            f.write("| %s | %s |\n" % (c, " | ".join(line)))


if __name__ == "__main__":
    sys.exit(main())
