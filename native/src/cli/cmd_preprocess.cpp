// `qscribe preprocess`: MusicNet or aligned audio/MIDI pairs -> the preprocessed data set that
// `qscribe train` reads lazily (docs/data-format.md).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/cli_options.hpp"
#include "cli/command.hpp"
#include "data/preprocess.hpp"
#include "qscribe/error.hpp"

namespace {

QS_COMMAND("preprocess", "Turn audio + labels (MusicNet or audio/MIDI pairs) into a training data set", 20,
           [](CLI::App& sub) {
             auto o = std::make_shared<qs::PreprocessOptions>();
             auto n_batches_opt = std::make_shared<CLI::Option*>(nullptr);
             sub.footer(
                 "Input layouts:\n"
                 "  musicnet: ROOT/SPLIT_data/ID.wav (44.1 kHz) + ROOT/SPLIT_labels/ID.csv\n"
                 "  pairs:    ROOT/SPLIT/NAME.{wav,flac,ogg,opus,mp3} + NAME.{tsv,mid,midi} (subfolders\n"
                 "            searched; NAME.tsv preferred over NAME.mid). Without ROOT/SPLIT, ROOT itself.\n"
                 "Output (docs/data-format.md): OUT/dataset.json, cqt.f32 [frames x 88*B] float32,\n"
                 "frames.u8 / onsets.u8 [frames x notes] 0/1, notes/NAME.tsv. Unreadable audio, bad or\n"
                 "missing labels, unmatched and empty files are skipped with a warning and counted in\n"
                 "the summary; the run fails only on bad options, a missing layout or an output error.");
             sub.add_option("--data", o->data_root, "Root folder of the source data (see layouts below)")->required();
             sub.add_option("--format", o->format, "Source layout: musicnet | pairs")
                 ->check(CLI::IsMember({"musicnet", "pairs"}))
                 ->capture_default_str();
             sub.add_option("--split", o->split,
                            "Split to process: train | test (pairs also accept any folder name, e.g. validation)")
                 ->capture_default_str();
             sub.add_option("--out", o->out_dir, "Output data set folder (default: data/preprocessed/SPLIT)");
             sub.add_option("--num-workers", o->num_workers, "Worker threads (each decodes, resamples and transforms one file)")
                 ->check(CLI::Range(1, 1024))
                 ->capture_default_str();
             sub.add_option("--batch-seconds", o->batch_seconds,
                            "Length of one training segment in seconds (segment_frames = round(s * sr / hop))")
                 ->check(CLI::PositiveNumber)
                 ->capture_default_str();
             qs::cli::add_cqt_options(sub, o->bins_per_note, o->sample_rate, o->hop_length, o->fmin, o->filter_scale, o->future_fraction);
             sub.add_flag("--only-note-names", o->only_note_names,
                          "Label 12 pitch classes (notes modulo 12) instead of 88 piano keys");
             *n_batches_opt =
                 sub.add_option("--n-batches", o->n_batches,
                                "Original option: segments per saved shard file. qscribe writes one set of\n"
                                "lazily read arrays instead of shards (no shard has to fit in memory), so the\n"
                                "value has no effect; it is accepted so original command lines keep working")
                     ->check(CLI::Range(1, 1 << 30))
                     ->capture_default_str();
             auto no_progress = std::make_shared<bool>(false);
             sub.add_flag("--no-progress", *no_progress, "Do not draw the progress bar (stderr)");
             sub.callback([o, n_batches_opt, no_progress] {
               o->progress = !*no_progress;
               if ((*n_batches_opt)->count() > 0)
                 std::fprintf(stderr,
                              "qscribe: note: --n-batches has no effect: the data set is one set of lazily read "
                              "arrays, not shards\n");
               if (o->format == "musicnet" && o->split != "train" && o->split != "test")
                 throw qs::Error("--split must be train or test for the MusicNet layout, got \"" + o->split + "\"");
               const qs::PreprocessSummary s = qs::preprocess(*o);
               std::fprintf(stderr, "%s\n", qs::format_preprocess_summary(s).c_str());
             });
           });

}  // namespace
