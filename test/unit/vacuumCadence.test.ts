import assert from "node:assert/strict";
import { vacuumEveryRowsOf, vacuumJobSchedule } from "../../src/backfill/vacuumCadence";

describe("vacuum cadence (backfill.vacuumEveryRows)", () => {
  it('"auto" VACUUMs after a tenth of the table\'s rows, at least 1,000,000: about ten VACUUMs at any size', () => {
    assert.equal(vacuumEveryRowsOf("auto", 0), 1_000_000);
    assert.equal(vacuumEveryRowsOf("auto", 1_000_000), 1_000_000);
    assert.equal(vacuumEveryRowsOf("auto", 9_999_999), 1_000_000);
    assert.equal(vacuumEveryRowsOf("auto", 20_000_000), 2_000_000);
    assert.equal(vacuumEveryRowsOf("auto", 2_000_000_001), 200_000_001);
  });

  it("a count given is kept whatever the table's size, 0 (no VACUUM) too", () => {
    assert.equal(vacuumEveryRowsOf(500_000, 1_000_000_000), 500_000);
    assert.equal(vacuumEveryRowsOf(0, 1_000_000_000), 0);
  });

  it("the database runner's VACUUM job runs at the interval in which it updates about that many rows, on minutes that divide the hour", () => {
    // 2,500,000 rows a minute, as measured at 20,000,000 rows
    assert.equal(vacuumJobSchedule(1_000_000), "* * * * *");
    assert.equal(vacuumJobSchedule(2_000_000), "* * * * *");
    assert.equal(vacuumJobSchedule(5_000_000), "*/2 * * * *");
    // 17.6 minutes: the largest even interval under it
    assert.equal(vacuumJobSchedule(44_000_000), "*/15 * * * *");
    assert.equal(vacuumJobSchedule(100_000_000), "*/30 * * * *");
    assert.equal(vacuumJobSchedule(150_000_000), "0 * * * *");
    assert.equal(vacuumJobSchedule(200_000_001), "0 * * * *");
  });
});
