import type { StepInputs } from "../inputs";
import type { Log } from "../session";

/** What each child resource does on create/update (apply), delete (remove) and refresh (read). */
export interface StepHandler {
  apply(inputs: StepInputs, log: Log): Promise<Record<string, unknown>>;
  remove(props: StepInputs, log: Log): Promise<void>;
  /** What the catalog says now; null when the object is gone (refresh then drops the resource). */
  read(props: StepInputs): Promise<Record<string, unknown> | null>;
}
