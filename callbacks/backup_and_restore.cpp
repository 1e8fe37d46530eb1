// BackupAndRestore: keras/src/callbacks/backup_and_restore.py's files, resumed exactly.
#include "fitrun/callbacks/backup_and_restore.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fitrun/error.hpp"
#include "fitrun/model.hpp"
#include "io/atomic_file.hpp"

namespace fitrun::callbacks {

BackupAndRestore::BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions o)
    : dir_(std::move(backup_dir)), o_(std::move(o)) {
  if (dir_.empty()) throw ConfigError("BackupAndRestore: backup_dir is empty");
}

void BackupAndRestore::on_train_begin(const Logs&) {
  epoch_ = 0;
  batches_done_ = 0;
  counter_ = BatchCounter();
  namespace fs = std::filesystem;
  if (!fs::exists(weights_path()) || !fs::exists(metadata_path())) return;
  std::ifstream in(metadata_path());
  std::stringstream text;
  text << in.rdbuf();
  json meta;
  try {
    meta = json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw IOError(metadata_path() + ": not valid JSON (" + e.what() + ")");
  }
  for (const char* key : {"epoch", "batch", "train_steps"})
    if (!meta.contains(key) || !meta[key].is_number_integer() || meta[key].get<int64_t>() < 0)
      throw IOError(metadata_path() + ": \"" + key + "\" must be an integer >= 0, got " +
                    (meta.contains(key) ? meta[key].dump() : std::string("nothing")));
  model()->load_weights(weights_path());
  // Position in batches since the start of epoch 0. The weights file is written first, so a
  // kill between the two writes leaves weights that are ahead of the metadata: the step counts
  // say by how many batches.
  const int64_t steps = params().value("steps", int64_t(0));
  int64_t epoch = meta["epoch"], batch = meta["batch"];
  const int64_t ahead =
      static_cast<int64_t>(model()->train_steps()) - meta["train_steps"].get<int64_t>();
  if (ahead != 0) {
    if (steps <= 0 || ahead < 0)
      throw IOError(metadata_path() + ": does not match " + weights_path() +
                    " (training steps differ by " + std::to_string(ahead) + ")");
    batch += ahead;
  }
  if (steps > 0 && batch >= steps) {  // a save after an epoch's last batch
    epoch += batch / steps;
    batch %= steps;
  }
  model()->resume_from = {static_cast<int>(epoch), batch};
}

void BackupAndRestore::on_epoch_begin(int epoch, const Logs&) {
  epoch_ = epoch;
  const Model::ResumePoint& r = model()->resume_from;
  batches_done_ = epoch == r.epoch ? r.batch : 0;
}

void BackupAndRestore::on_train_batch_end(int batch, const Logs&) {
  batches_done_ = batch + 1;
  if (counter_.should_save(batch, o_.save_freq)) save(epoch_, batches_done_);
}

void BackupAndRestore::on_epoch_end(int epoch, const Logs&) {
  if (o_.save_freq.per_epoch()) save(epoch + 1, 0);
}

void BackupAndRestore::on_train_end(const Logs&) {
  if (model()->history().interrupted) {  // Ctrl-C: keep a backup of where training stopped
    save(epoch_, batches_done_);
    return;
  }
  if (!o_.delete_checkpoint) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void BackupAndRestore::save(int epoch, int64_t batch) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw IOError("BackupAndRestore: cannot create \"" + dir_ + "\": " + ec.message());
  model()->save_weights(weights_path());
  const json meta = {{"epoch", epoch},
                     {"batch", batch},
                     {"train_steps", static_cast<int64_t>(model()->train_steps())}};
  io::AtomicFile file(metadata_path());
  {
    std::ofstream out(file.temp_path());
    out << meta.dump();
    if (!out.flush())
      throw IOError("BackupAndRestore: cannot write \"" + metadata_path() + "\": " +
                    std::strerror(errno));
  }
  file.commit();
}

json BackupAndRestore::get_config() const {
  return {{"backup_dir", dir_},
          {"save_freq", o_.save_freq.to_json()},
          {"delete_checkpoint", o_.delete_checkpoint}};
}

}  // namespace fitrun::callbacks
