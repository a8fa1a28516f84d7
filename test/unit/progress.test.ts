import assert from "node:assert/strict";
import { formatDuration, progressLine, sizeLine, type ProgressSnapshot } from "../../src/backfill/progress";

describe("formatDuration", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [-5000, "0s"],
    [499, "0s"],
    [59_000, "59s"],
    [59_600, "1m00s"], // rounds to whole seconds first
    [65_000, "1m05s"],
    [3_599_000, "59m59s"],
    [3_600_000, "1h00m"],
    [(2 * 3600 + 3 * 60) * 1000, "2h03m"],
    [(2 * 3600 + 3 * 60 + 59) * 1000, "2h03m"], // seconds dropped once in hours
    [100 * 3600 * 1000, "100h00m"],
  ];
  for (const [ms, expected] of cases) {
    it(`${ms} ms -> ${expected}`, () => assert.equal(formatDuration(ms), expected));
  }
});

describe("progressLine", () => {
  const base: ProgressSnapshot = {
    label: "public.contentcuration_file.file_size",
    scanned: 250_000,
    scannedThisRun: 200_000,
    updated: 199_000,
    total: 1_000_000,
    elapsedMs: 20_000,
    batchSize: 5000,
  };

  it("shows rows, percentage, rows/s from this run's rows, ETA and batch size", () => {
    // 200,000 rows this run in 20 s = 10,000 rows/s; 750,000 left -> 75 s
    assert.equal(
      progressLine(base),
      "pgshift: backfill public.contentcuration_file.file_size: 250,000/1,000,000 rows (25.0%), 199,000 updated, 10,000 rows/s, ETA 1m15s, batch 5,000",
    );
  });

  it("a resumed run is not flattered: the rate counts only rows scanned since it started", () => {
    const line = progressLine({ ...base, scanned: 900_000, scannedThisRun: 1000, elapsedMs: 10_000 });
    assert.match(line, /900,000\/1,000,000 rows \(90\.0%\), .* 100 rows\/s, ETA 16m40s,/);
  });

  it("no rate yet: ETA ?", () => {
    assert.match(progressLine({ ...base, scannedThisRun: 0, elapsedMs: 0 }), /, 0 rows\/s, ETA \?, /);
    assert.match(progressLine({ ...base, scannedThisRun: 0, elapsedMs: 5000 }), /, 0 rows\/s, ETA \?, /);
  });

  it("more rows than the estimate (stale reltuples): the total follows, 100%, ETA 0s", () => {
    const line = progressLine({ ...base, scanned: 1_200_000, total: 1_000_000 });
    assert.match(line, / 1,200,000\/1,200,000 rows \(100\.0%\), .* ETA 0s,/);
  });

  it("an empty table is 100% done", () => {
    assert.match(progressLine({ ...base, scanned: 0, scannedThisRun: 0, updated: 0, total: 0 }), / 0\/0 rows \(100\.0%\), 0 updated, /);
  });

  it("one decimal of percentage, rounded rows/s", () => {
    const line = progressLine({ ...base, scanned: 1, scannedThisRun: 1, total: 3, elapsedMs: 3000 });
    assert.match(line, / 1\/3 rows \(33\.3%\), .* 0 rows\/s, ETA 6s,/);
  });
});

describe("sizeLine", () => {
  it("reports the table's size before and after and the VACUUMs", () => {
    assert.equal(sizeLine("t.c", 149_200_000, 187_000_000, 1), "pgshift: backfill t.c: table 149.2 MB before, 187.0 MB after (1 VACUUM by backfill.vacuumEveryRows)");
    assert.equal(sizeLine("t.c", 2_500_000_000, 2_600_000_000, 0), "pgshift: backfill t.c: table 2.50 GB before, 2.60 GB after (0 VACUUMs by backfill.vacuumEveryRows)");
  });
});
