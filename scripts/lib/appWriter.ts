/**
 * The application both scripts run against the file table while pgshift (or the bench's
 * baselines) change it: the test rig's writer (test/support/writer.ts), started the same way,
 * read in windows of time, one window per measured operation or per demo stage.
 */
import { startWriter, type WriterStats } from "../../test/support/writer";
import { COLUMN, TABLE } from "./fileTable";

/** What the writer saw during one window. */
export interface WriterWindow {
  /** Longest single statement, ms: the longest the application was blocked. */
  stallMs: number;
  /** Messages of the statements that failed. */
  failures: string[];
  /** Statements completed (inserts + updates). */
  statements: number;
}

/** One writer statement: when it ended (epoch ms), how long it took (ms), whether it succeeded. */
export interface LatencySample {
  t: number;
  ms: number;
  ok: boolean;
}

export class AppWriter {
  private w: ReturnType<typeof startWriter>;
  private mark = { failures: 0, statements: 0 };
  /** Every statement since the writer started, in order (a few hundred bytes a second). */
  private trace: LatencySample[] = [];

  /** Starts writing now: `rows` is the table's highest id (updates pick ids up to it). */
  constructor(url: string, rows: number, pauseMs: number) {
    const onStatement = (t: number, ms: number, ok: boolean) => this.trace.push({ t, ms, ok });
    this.w = startWriter({ url, table: TABLE, column: COLUMN, maxId: rows, insertExtras: { checksum: "md5(random()::text)" }, pauseMs, onStatement });
  }

  /** The statements that ended between `from` and `to` (epoch ms): a statement blocked by an operation ends after it, so pass `to` a little after the operation ends. */
  samples(from: number, to: number): LatencySample[] {
    return this.trace.filter((s) => s.t >= from && s.t <= to);
  }

  /** The writer's running totals (cumulative since it started). */
  get stats(): WriterStats {
    return this.w.stats;
  }

  /** Starts a window: resets the writer's running maximum (its stats object is shared, by design of the rig). */
  begin(): void {
    this.w.stats.maxLatencyMs = 0;
    this.mark = { failures: this.w.stats.failures.length, statements: this.w.stats.inserts + this.w.stats.updates };
  }

  /** Ends a window (a statement still in flight is counted in the next window, or by stop()). */
  end(): WriterWindow {
    const s = this.w.stats;
    return { stallMs: s.maxLatencyMs, failures: s.failures.slice(this.mark.failures), statements: s.inserts + s.updates - this.mark.statements };
  }

  /** Stops writing; waits for the statement in flight, so a blocked one is counted with its full time. */
  async stop(): Promise<WriterStats> {
    return this.w.stop();
  }
}
