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

BackgroundSnapshotSink::BackgroundSnapshotSink(SnapshotSink& inner) : inner_(inner) {
  thread_ = std::thread([this] { run(); });
}

BackgroundSnapshotSink::~BackgroundSnapshotSink() {
  std::string ignored;
  flush(&ignored);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool BackgroundSnapshotSink::write(const core::Snapshot& snapshot, std::string* error) {
  bool ok = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = snapshot;
    if (!lastOk_) {
      *error = lastError_;
      ok = false;
    }
  }
  changed_.notify_all();
  return ok;
}

bool BackgroundSnapshotSink::flush(std::string* error) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_ && !writing_; });
  if (!lastOk_) {
    *error = lastError_;
  }
  return lastOk_;
}

void BackgroundSnapshotSink::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return pending_.has_value() || stopping_; });
    if (!pending_) {
      return;  // stopping, nothing left to write
    }
    core::Snapshot snapshot = std::move(*pending_);
    pending_.reset();
    writing_ = true;
    lock.unlock();
    std::string error;
    bool ok = inner_.write(snapshot, &error);
    lock.lock();
    writing_ = false;
    lastOk_ = ok;
    lastError_ = ok ? "" : error;
    changed_.notify_all();
  }
}

}  // namespace tokenstorm::runner
