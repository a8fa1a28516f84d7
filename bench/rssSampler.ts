/**
 * The bench process's resident memory over the run. pgshift's backfill runs in this process
 * (through the provider's create()), so its RSS is the backfill's memory: sampled every 100 ms
 * for the whole run, and each measurement reads the peak of its own window.
 */
import { performance } from "node:perf_hooks";

export const MB = 1024 * 1024;

export class RssSampler {
  private samples: { t: number; rss: number }[] = [];
  private timer: NodeJS.Timeout;

  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** Takes a sample now and returns it (bytes). */
  sample(): number {
    const rss = process.memoryUsage().rss;
    this.samples.push({ t: performance.now(), rss });
    return rss;
  }

  /** Peak (bytes) and count of the samples between t0 and t1 (performance.now() times). */
  window(t0: number, t1: number): { peak: number; samples: number } {
    const w = this.samples.filter((s) => s.t >= t0 && s.t <= t1);
    return { peak: Math.max(0, ...w.map((s) => s.rss)), samples: w.length };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
