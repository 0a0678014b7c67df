// Where a runner's snapshots go every report.interval: a file (JSON lines), stdout, and in-cluster a shard
// ConfigMap (cluster.h, library tokenstorm_runner_cluster, behind this same interface).
#pragma once

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "tokenstorm/core/metrics.h"

namespace tokenstorm::runner {

class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  // Snapshots are cumulative: a reader keeps the latest one of each runner. Returns false (with a message)
  // when it could not be written; the engine goes on measuring and tries again at the next interval.
  virtual bool write(const core::Snapshot& snapshot, std::string* error) = 0;
};

// One JSON object per line, appended and flushed per snapshot.
class FileSnapshotSink final : public SnapshotSink {
 public:
  explicit FileSnapshotSink(std::string path);
  // SnapshotSink
  bool write(const core::Snapshot& snapshot, std::string* error) override;

 private:
  std::string path_;
  std::ofstream out_;
};

class StreamSnapshotSink final : public SnapshotSink {
 public:
  explicit StreamSnapshotSink(std::ostream& out) : out_(out) {}
  // SnapshotSink
  bool write(const core::Snapshot& snapshot, std::string* error) override;

 private:
  std::ostream& out_;
};

// Writes through another sink on a thread of its own, so that a slow write (an API server round trip,
// with its retries) never holds the engine's event loop, whose timing is the measurement. write() hands
// the snapshot over and returns at once; only the latest snapshot waiting is kept (snapshots are
// cumulative, so one replaced before it was written loses nothing). write() returns false with the error
// of the last completed write when that failed: the snapshot handed over now is its retry.
class BackgroundSnapshotSink final : public SnapshotSink {
 public:
  explicit BackgroundSnapshotSink(SnapshotSink& inner);
  ~BackgroundSnapshotSink() override;  // flushes, then joins
  BackgroundSnapshotSink(const BackgroundSnapshotSink&) = delete;
  BackgroundSnapshotSink& operator=(const BackgroundSnapshotSink&) = delete;

  // SnapshotSink
  bool write(const core::Snapshot& snapshot, std::string* error) override;

  // Waits until the snapshot handed over last has been written; the result of that write.
  bool flush(std::string* error);

 private:
  void run();

  SnapshotSink& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<core::Snapshot> pending_;
  bool writing_ = false;
  bool stopping_ = false;
  bool lastOk_ = true;
  std::string lastError_;
  std::thread thread_;
};

}  // namespace tokenstorm::runner
