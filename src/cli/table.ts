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

/**
 * US dollars for tables: `$0` for nothing, cents from one dollar up, four decimals below one dollar,
 * and two significant digits below a tenth of a cent, so a small spend never reads as `$0.0000`.
 */
export function formatMoney(usd: number | null): string {
  if (usd === null) return '-';
  if (usd === 0) return '$0';
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  if (Math.abs(usd) >= 0.001) return `$${usd.toFixed(4)}`;
  const decimals = 1 - Math.floor(Math.log10(Math.abs(usd)));
  return `$${usd.toFixed(decimals).replace(/0+$/, '')}`;
}
