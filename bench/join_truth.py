#!/usr/bin/env python3
"""Joins tokenstorm's request log with the simulator's ground-truth log on the request id, and prints the
measurement error of TTFT and of inter-chunk gaps: client read time minus server write time (both on the
same CLOCK_MONOTONIC), as percentiles in microseconds.

usage: join_truth.py REQUEST_LOG TRUTH_LOG
"""
import json
import sys


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def main():
    truth = {}
    with open(sys.argv[2]) as f:
        for line in f:
            t = json.loads(line)
            truth[t["id"]] = t
    ttft_err, gap_err, joined, skipped = [], [], 0, 0
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            t = truth.get(r.get("serverRequestId"))
            if t is None or r["outcome"] != "ok" or t["firstTokenWriteNs"] is None:
                skipped += 1
                continue
            joined += 1
            ttft_err.append((r["tFirst"] - t["firstTokenWriteNs"]) / 1e3)
            server_times = [c[0] for c in t["chunks"]]
            server_gaps = [b - a for a, b in zip(server_times, server_times[1:])]
            client_gaps = [g[0] for g in r["gaps"]]
            if len(server_gaps) != len(client_gaps):
                skipped += 1
                continue
            gap_err.extend(abs(c - s) / 1e3 for c, s in zip(client_gaps, server_gaps))
    print(f"joined {joined} requests ({skipped} skipped)")
    for name, errs in (("ttft (client first-byte read - server write)", ttft_err),
                       ("|inter-chunk gap error|", gap_err)):
        print(f"{name}: n={len(errs)} p50={pct(errs, 50):.1f}us p99={pct(errs, 99):.1f}us "
              f"p99.9={pct(errs, 99.9):.1f}us max={max(errs) if errs else float('nan'):.1f}us")


if __name__ == "__main__":
    main()
