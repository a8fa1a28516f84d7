/**
 * bench/results/latency.svg: the application's write latency over time, one line per way of
 * making the change (pgshift's whole lifecycle, the plain ALTER, pgroll start + complete), each
 * from its own start, as the longest a writer statement had waited in each 100 ms, on a log
 * scale (a stall of seconds and a 5 ms write on one chart; a blocked statement is a ramp). Drawn as plain SVG text: no plotting dependency,
 * and the file diffs in review.
 */
import type { BenchRig } from "./measure";
import { waitPerBucket, type SeriesPoint } from "./stats";
import { escapeXml } from "./svg";

export interface LatencySeries {
  label: string;
  color: string;
  points: SeriesPoint[];
  /** Where its stages began, seconds since its start (vertical marks). */
  marks: { s: number; label: string }[];
  /** When its failed writes ended, seconds since its start (triangles on the time axis). */
  failures: number[];
}

export function latencySvg(series: LatencySeries[], subtitle: string): string {
  const W = 1060;
  const H = 520;
  const left = 70;
  const right = 30;
  const top = 70;
  const bottom = 110;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const all = series.flatMap((s) => s.points);
  const maxS = Math.max(1, ...all.map((p) => p.s));
  const maxMs = Math.max(10, ...all.map((p) => p.maxMs));
  const decades = Math.ceil(Math.log10(maxMs));
  const x = (s: number) => left + (s / maxS) * plotW;
  const y = (ms: number) => top + plotH - (Math.log10(Math.max(1, ms)) / decades) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Application write latency while file_size changes integer -&gt; bigint</text>`);
  parts.push(`<text x="${W / 2}" y="44" text-anchor="middle" fill="#444">${escapeXml(subtitle)}</text>`);
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    parts.push(`<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + plotW}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#444">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  const step = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600].find((s) => maxS / s <= 12) ?? 1200;
  for (let s = 0; s <= maxS; s += step) {
    parts.push(`<line x1="${x(s).toFixed(1)}" y1="${top}" x2="${x(s).toFixed(1)}" y2="${top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle" fill="#444">${s}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle" fill="#222">seconds since the operation started</text>`);
  parts.push(`<text x="16" y="${top + plotH / 2}" text-anchor="middle" fill="#222" transform="rotate(-90 16 ${top + plotH / 2})">longest writer wait per 100 ms</text>`);
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  let row = 0;
  for (const s of series) {
    s.marks.forEach((m) => {
      const i = row++;
      // stages that start close together (the first three) get labels on rows of their own
      parts.push(`<line x1="${x(m.s).toFixed(1)}" y1="${top}" x2="${x(m.s).toFixed(1)}" y2="${top + plotH}" stroke="${s.color}" stroke-dasharray="3,4" stroke-opacity="0.6"/>`);
      parts.push(`<text x="${(x(m.s) + 3).toFixed(1)}" y="${top + 12 + (i % 8) * 12}" fill="${s.color}" font-size="10">${escapeXml(m.label)}</text>`);
    });
    for (const f of s.failures) {
      const fx = x(f);
      parts.push(`<path d="M${(fx - 4).toFixed(1)},${top + plotH} L${fx.toFixed(1)},${top + plotH - 8} L${(fx + 4).toFixed(1)},${top + plotH} Z" fill="${s.color}"/>`);
    }
    const pts = s.points.map((p) => `${x(p.s).toFixed(1)},${y(p.maxMs).toFixed(1)}`).join(" ");
    if (pts) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`);
  }
  series.forEach((s, i) => {
    const ly = top + plotH + 56 + i * 16;
    const peak = Math.max(0, ...s.points.map((p) => p.maxMs));
    parts.push(`<rect x="${left}" y="${ly - 9}" width="18" height="4" fill="${s.color}"/>`);
    const failed = s.failures.length ? `, ${s.failures.length} failed writes (triangles)` : ", no failed write";
    parts.push(`<text x="${left + 26}" y="${ly}" fill="#222">${escapeXml(`${s.label} (longest wait ${peak >= 1000 ? `${(peak / 1000).toFixed(2)} s` : `${Math.round(peak)} ms`}${failed})`)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}

/** The plotted series from the run's writer traces and phases: pgshift's lifecycle, the plain ALTER, pgroll. */
export function latencySeries(rig: BenchRig): LatencySeries[] {
  const spec = [
    { id: "pgshift-lifecycle", label: "pgshift: expand, cutover, contract", color: "#2e7d32", stages: "pgshift-" },
    { id: "alter", label: "plain ALTER COLUMN ... TYPE", color: "#c62828", stages: null },
    { id: "pgroll", label: "pgroll start + complete", color: "#1565c0", stages: "pgroll-" },
  ];
  return spec.flatMap(({ id, label, color, stages }) => {
    const trace = rig.traces.get(id);
    if (!trace) return [];
    // a statement blocked by the operation ends after it: show a second more
    const points = waitPerBucket(trace.samples, trace.start, trace.end + 1000, 100);
    const failures = trace.samples.filter((x) => !x.ok && x.t >= trace.start).map((x) => (x.t - trace.start) / 1000);
    const marks = stages === null ? [] : rig.phases.filter((p) => p.id.startsWith(stages) && p.id !== id && p.start >= trace.start && p.end <= trace.end).map((p) => ({ s: (p.start - trace.start) / 1000, label: p.id.slice(stages.length) }));
    return [{ label, color, points, marks, failures }];
  });
}
