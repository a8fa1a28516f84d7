/**
 * bench/results/backfill.svg: wall time and longest writer stall per operation as two panels of
 * horizontal bars, drawn as plain SVG text (no plotting dependency, and the file diffs in review).
 */
import type { Measurement } from "./measure";

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 0 and 4 to 6 round steps up to at least `max`. */
function ticks(max: number): number[] {
  const raw = max / 5;
  const pow = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => max / s <= 6) ?? 10 * pow;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

/** Two panels of horizontal bars: wall time and longest writer stall per operation, in seconds. */
export function svgChart(ms: Measurement[], subtitle: string): string {
  const W = 1060;
  const labelW = 410;
  const plotW = W - labelW - 90;
  const barH = 22;
  const gap = 8;
  const panelH = ms.length * (barH + gap) + 80;
  const top = 62;
  const H = top + 2 * panelH + 10;
  // the latency plot's colours: pgshift green, the plain ALTER red, pgroll blue
  const color = (m: Measurement) => (m.id.startsWith("pgshift") ? "#2e7d32" : m.id === "alter" ? "#c62828" : m.id.startsWith("pgroll") ? "#1565c0" : "#616161");
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Changing file_size integer -&gt; bigint: wall time and application stall</text>`);
  parts.push(`<text x="${W / 2}" y="44" text-anchor="middle" fill="#444">${escapeXml(subtitle)}</text>`);
  const panel = (y0: number, title: string, value: (m: Measurement) => number) => {
    const max = Math.max(...ms.map(value), 0.001);
    const tk = ticks(max);
    const scaleMax = tk[tk.length - 1];
    const x = (v: number) => labelW + (v / scaleMax) * plotW;
    const plotTop = y0 + 22;
    const plotBottom = plotTop + ms.length * (barH + gap);
    parts.push(`<text x="${labelW + plotW / 2}" y="${y0 + 12}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
    for (const t of tk) {
      parts.push(`<line x1="${x(t).toFixed(1)}" y1="${plotTop - 4}" x2="${x(t).toFixed(1)}" y2="${plotBottom}" stroke="#e0e0e0"/>`);
      parts.push(`<text x="${x(t).toFixed(1)}" y="${plotBottom + 15}" text-anchor="middle" fill="#444">${t}</text>`);
    }
    parts.push(`<line x1="${labelW}" y1="${plotBottom}" x2="${labelW + plotW}" y2="${plotBottom}" stroke="#333"/>`);
    parts.push(`<line x1="${labelW}" y1="${plotTop - 4}" x2="${labelW}" y2="${plotBottom}" stroke="#333"/>`);
    parts.push(`<text x="${labelW + plotW / 2}" y="${plotBottom + 32}" text-anchor="middle" fill="#222">seconds</text>`);
    ms.forEach((m, i) => {
      const y = plotTop + i * (barH + gap);
      const v = value(m);
      const w = Math.max(1, x(v) - labelW);
      parts.push(`<text x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${escapeXml(m.operation)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color(m)}"/>`);
      parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH / 2 + 4}" fill="#222">${v >= 10 ? v.toFixed(1) : v.toFixed(2)} s</text>`);
    });
  };
  panel(top, "Wall time", (m) => m.wallMs / 1000);
  panel(top + panelH, "Longest writer stall (longest single application statement while it ran)", (m) => m.writerStallMs / 1000);
  parts.push(`<text x="12" y="${H - 12}" fill="#666" font-size="11">red: ALTER TABLE (ACCESS EXCLUSIVE); grey: plain UPDATE / CREATE INDEX; green: pgshift (keyset batches, index copies CONCURRENTLY); blue: pgroll v0.16.2</text>`);
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
