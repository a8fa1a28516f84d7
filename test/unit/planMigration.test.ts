import assert from "node:assert/strict";
import { IllegalTransitionError } from "../../src/errors";
import { checkSameTarget, checkTransition } from "../../src/planning/planMigration";
import { parseSpec, withoutStage, type Stage } from "../../src/spec";

const ID = "public.contentcuration_file.file_size";

describe("checkTransition", () => {
  const allowed: [Stage | null, Stage][] = [
    [null, "expand"],
    [null, "cutover"],
    ["expand", "expand"],
    ["expand", "cutover"],
    ["cutover", "cutover"],
    ["cutover", "contract"],
    ["cutover", "expand"],
    ["contract", "contract"],
  ];
  for (const [recorded, wanted] of allowed) {
    it(`allows ${recorded ?? "nothing"} -> ${wanted}`, () => assert.doesNotThrow(() => checkTransition(recorded, wanted, ID)));
  }

  const refused: { recorded: Stage | null; wanted: Stage; fragments: string[] }[] = [
    {
      recorded: "expand",
      wanted: "contract",
      fragments: [`${ID} cannot go to "contract" from "expand"`, 'run stage "cutover" first'],
    },
    {
      recorded: null,
      wanted: "contract",
      fragments: [`${ID} cannot go to "contract" from nothing`, 'run stage "cutover" first'],
    },
    {
      recorded: "contract",
      wanted: "cutover",
      fragments: [`${ID} is contracted`, "cannot be undone", 'Keep stage "contract"'],
    },
    {
      recorded: "contract",
      wanted: "expand",
      fragments: [`${ID} is contracted`, "cannot be undone", "remove the component, which changes nothing in the database"],
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.recorded ?? "nothing"} -> ${c.wanted} with IllegalTransitionError`, () => {
      assert.throws(
        () => checkTransition(c.recorded, c.wanted, ID),
        (err: unknown) => {
          assert.ok(err instanceof IllegalTransitionError, String(err));
          assert.equal(err.name, "IllegalTransitionError");
          for (const f of c.fragments) assert.ok(err.message.includes(f), `${JSON.stringify(err.message)} should include ${JSON.stringify(f)}`);
          return true;
        },
      );
    });
  }
});

describe("checkSameTarget", () => {
  const started = withoutStage(parseSpec({ table: "t", column: "c", toType: "bigint", stage: "expand" }));

  it("accepts the same target, whatever else changed (backfill tuning, lock policy)", () => {
    const wanted = withoutStage(parseSpec({ table: "t", column: "c", toType: "bigint", stage: "cutover", backfill: { pauseMs: 50 }, lockTimeoutMs: 300 }));
    checkSameTarget(started, wanted, "expand", ID);
  });

  it("refuses a new toType midway, with the way forward for the stage it is at", () => {
    const wanted = withoutStage(parseSpec({ table: "t", column: "c", toType: "numeric(30,0)", stage: "expand" }));
    assert.throws(() => checkSameTarget(started, wanted, "expand", ID), (err: unknown) => {
      assert.ok(err instanceof IllegalTransitionError);
      assert.equal(err.message, `${ID} was started with toType "bigint"; it cannot change to toType "numeric(30,0)" midway. To change the target, remove the component (pulumi up drops everything it added), then add it again with the new arguments.`);
      return true;
    });
    assert.throws(() => checkSameTarget(started, wanted, "cutover", ID), /Step back to stage "expand" first/);
  });

  it("compares toType as resolved by the catalog when given: int8 is the same target as bigint", () => {
    const wanted = withoutStage(parseSpec({ table: "t", column: "c", toType: "int8", stage: "cutover" }));
    checkSameTarget(started, wanted, "expand", ID, { recorded: "bigint", wanted: "bigint" });
    assert.throws(() => checkSameTarget(started, wanted, "expand", ID, { recorded: "bigint", wanted: "numeric" }), /started with toType "bigint"; it cannot change to toType "int8"/);
  });

  it("compares using and reverseUsing as written, trimmed", () => {
    const a = withoutStage(parseSpec({ table: "t", column: "c", toType: "bigint", using: "c::bigint", stage: "expand" }));
    checkSameTarget({ ...a, using: " c::bigint " }, a, "expand", ID, { recorded: "bigint", wanted: "bigint" });
    assert.throws(() => checkSameTarget(a, { ...a, using: "c::int8" }, "expand", ID, { recorded: "bigint", wanted: "bigint" }), /started with using "c::bigint"/);
  });

  it("refuses a new using expression", () => {
    const wanted = withoutStage(parseSpec({ table: "t", column: "c", toType: "bigint", using: "c::bigint * 2", stage: "expand" }));
    assert.throws(() => checkSameTarget(started, wanted, "expand", ID), /started with using null; it cannot change to using "c::bigint \* 2"/);
  });
});
