import { runSwapPlan } from "../../db/executor";
import { IllegalTransitionError } from "../../errors";
import { planContract } from "../../plan/contract";
import { contextOf, familyLive, familyOf, requireRow, withSession } from "../session";
import type { ChildHandler } from "./types";

export const contract: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Contract");
      if (row.stage === "contract") return { stage: "contract" };
      if (row.stage !== "cutover") {
        throw new IllegalTransitionError(`contract of ${s.names.id} refused: the migration is at "${row.stage}"; run stage "cutover" first`);
      }
      const stats = await runSwapPlan(s.db, planContract(contextOf(s, row), s.stateSchema, await familyLive(s, familyOf(s, row))), s.exec);
      return { stage: "contract", ...stats };
    });
  },
  async remove(props, log) {
    // a contracted change is finished: removing the component (or destroying the stack)
    // leaves the database as it is. Stepping back from contract is refused at preview.
    await withSession(props, log, async (s) => {
      if (s.row?.stage === "contract") log(`pgshift: ${s.names.id} is contracted; nothing to undo`);
    });
  },
  async read(props) {
    return withSession(props, () => undefined, async (s) => (s.row?.stage === "contract" ? { stage: "contract" } : null));
  },
};
