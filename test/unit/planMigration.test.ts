import assert from "node:assert/strict";
import { IllegalTransitionError } from "../../src/errors";
import { checkTransition } from "../../src/planMigration";
import type { Stage } from "../../src/spec";

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
