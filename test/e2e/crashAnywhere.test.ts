import assert from "node:assert/strict";
import { envInt } from "../../scripts/lib/env";
import { calibrate, CRASH_SETTINGS, runTrial, summaryLine, trialLine, type TrialResult } from "../support/crashTrial";

/**
 * `pulumi up` SIGKILLed, with its whole process tree, at a seeded random statement of every
 * stage (shadow column, trigger, backfill batches, index builds, VALIDATE, the cutover swap,
 * the rollback swap, contract), under a concurrent writer; then `pulumi cancel` and `pulumi up`
 * (sometimes back to expand first). Each trial ends with the catalog of an uncrashed run and
 * every write in the table. The suite runs CRASH_TRIALS (default 5: one crash in each run of the
 * path, about 2 minutes on an idle 2-core machine) trials from SOAK_SEED (default 0: the same
 * moments every run); `npm run soak` runs many (scripts/soak.ts).
 */
describe("crash anywhere: SIGKILL at a random moment of every stage, then cancel + up", function () {
  const plan = { seed: envInt("SOAK_SEED", 0, 0), trials: envInt("CRASH_TRIALS", 5, 1), settings: CRASH_SETTINGS };
  const results: TrialResult[] = [];
  let calibration: Awaited<ReturnType<typeof calibrate>>;

  before(async function () {
    calibration = await calibrate(plan.settings);
    console.log(`  [crash] seed ${plan.seed}, ${plan.trials} trials; statements per run of the path: ${calibration.statements.join(", ")}`);
  });

  after(function () {
    if (results.length) console.log(`  [crash] ${summaryLine(results, plan.seed)}`);
  });

  // the moment the random trials found once (seed 18 then): the cutover's swap has committed,
  // Pulumi has not recorded the Cutover child, and the operator goes back to expand. The step
  // back must still happen (ShadowIndexes does it when no Cutover is there to delete)
  it("a crash right after the cutover swap committed, then back to expand: swapped back", async function () {
    const at = calibration.statements[1] - 1;
    const r = await runTrial(1_000_000, plan.settings, calibration, { position: 1, at, delayMs: 15, retreat: true });
    console.log(`    ${trialLine(r)}`);
    assert.match(r.crashed, /ANALYZE/, `statement ${at} of the cutover run is no longer the one after its swap: ${r.crashed}`);
    assert.ok(r.killed && r.retreated, `${trialLine(r)}\n${r.problems.join("\n")}`);
    assert.deepEqual(r.problems, []);
    assert.equal(r.lost, 0);
    assert.equal(r.mismatched, 0);
  });

  // a crash at the COMMIT of the rollback's swap (seed 2 found it): the copies the swap handed
  // back are rebuilt after it, and the re-run at expand (the Cutover's delete) builds what is missing
  it("a crash at the rollback swap's COMMIT: the re-run rebuilds the copies", async function () {
    const r = await runTrial(3_000_037, plan.settings, calibration, { position: 2, at: 37, delayMs: 0, retreat: false });
    console.log(`    ${trialLine(r)}`);
    assert.match(r.crashed, /\(COMMIT\)/, `statement 37 of the rollback run is no longer its swap's COMMIT: ${r.crashed}`);
    assert.ok(r.killed, trialLine(r));
    assert.deepEqual(r.problems, []);
    assert.equal(r.lost, 0);
    assert.equal(r.mismatched, 0);
  });

  for (let i = 0; i < plan.trials; i++) {
    it(`trial ${i + 1}: converges with no lost or mismatched row`, async function () {
      const r = await runTrial(plan.seed + i, plan.settings, calibration);
      results.push(r);
      console.log(`    ${trialLine(r)}`);
      assert.deepEqual(r.problems, [], `${trialLine(r)} (reproduce: SOAK_SEED=${plan.seed + i} SOAK_TRIALS=1 npm run soak)`);
      assert.equal(r.lost, 0);
      assert.equal(r.mismatched, 0);
      assert.ok(r.rowsChecked > plan.settings.rows);
    });
  }
});
