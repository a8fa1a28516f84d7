import type { ChildInputs } from "../inputs";
import type { Log } from "../session";

/** What each child resource does on create/update (apply), delete (remove) and refresh (read). */
export interface ChildHandler {
  apply(inputs: ChildInputs, log: Log): Promise<Record<string, unknown>>;
  remove(props: ChildInputs, log: Log): Promise<void>;
  /** What the catalog says now; null when the object is gone (refresh then drops the resource). */
  read(props: ChildInputs): Promise<Record<string, unknown> | null>;
}
