import type { StepKind } from "../inputs";
import { backfill } from "./backfill";
import { contract } from "./contract";
import { cutover } from "./cutover";
import { mirrorTrigger } from "./mirrorTrigger";
import { shadowColumn } from "./shadowColumn";
import { shadowIndexes } from "./shadowIndexes";
import type { StepHandler } from "./types";

export const handlers: Record<StepKind, StepHandler> = {
  "shadow-column": shadowColumn,
  "mirror-trigger": mirrorTrigger,
  backfill,
  "shadow-indexes": shadowIndexes,
  cutover,
  contract,
};
