/** Rows as aligned plain text: columns padded to their widest cell, those in `numeric` right-aligned. */
export function formatRows(rows: string[][], numeric: ReadonlySet<number> = new Set()): string[] {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((cells) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A table with a header line. */
export function formatTable(headers: string[], rows: string[][], numeric?: ReadonlySet<number>): string[] {
  return formatRows([headers, ...rows], numeric);
}
