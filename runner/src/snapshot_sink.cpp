#include "tokenstorm/runner/snapshot_sink.h"

#include <nlohmann/json.hpp>

namespace tokenstorm::runner {

FileSnapshotSink::FileSnapshotSink(std::string path) : path_(std::move(path)), out_(path_, std::ios::app) {}

bool FileSnapshotSink::write(const core::Snapshot& snapshot, std::string* error) {
  if (!out_) {
    *error = path_ + ": cannot write snapshots";
    return false;
  }
  out_ << core::toJson(snapshot).dump() << '\n';
  out_.flush();
  if (!out_) {
    *error = path_ + ": write failed";
    return false;
  }
  return true;
}

bool StreamSnapshotSink::write(const core::Snapshot& snapshot, std::string* error) {
  out_ << core::toJson(snapshot).dump() << '\n';
  out_.flush();
  if (!out_) {
    *error = "cannot write the snapshot to the output stream";
    return false;
  }
  return true;
}

}  // namespace tokenstorm::runner
