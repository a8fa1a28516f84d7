import type { ChildKind } from "../inputs";
import { backfill } from "./backfill";
import { contract } from "./contract";
import { cutover } from "./cutover";
import { mirrorTrigger } from "./mirrorTrigger";
import { shadowColumn } from "./shadowColumn";
import { shadowIndexes } from "./shadowIndexes";
import type { ChildHandler } from "./types";

export const handlers: Record<ChildKind, ChildHandler> = {
  "shadow-column": shadowColumn,
  "mirror-trigger": mirrorTrigger,
  backfill,
  "shadow-indexes": shadowIndexes,
  cutover,
  contract,
};
