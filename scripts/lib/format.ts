/** Text formatting both scripts print with, so their tables and numbers look alike. */

/** A whole number with thousands separators: 1,000,000. */
export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");

/**
 * A plain-text table for the terminal: a header, a dashed rule and the rows, columns two
 * spaces apart and indented by two, each column padded to its widest cell (right-aligned where
 * `rightAlign[i]`, for numbers). Trailing blanks are trimmed.
 */
export function textTable(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const cell = (s: string, i: number) => (rightAlign[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (r: string[]) => `  ${r.map(cell).join("  ")}`.trimEnd();
  return [line(header), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`, ...rows.map(line)].join("\n");
}
