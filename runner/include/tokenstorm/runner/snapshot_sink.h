// Where a runner's snapshots go every report.interval: a file (JSON lines), stdout, and in-cluster a shard
// ConfigMap (the operator issue adds that sink behind this same interface).
#pragma once

#include <fstream>
#include <ostream>
#include <string>

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

}  // namespace tokenstorm::runner
