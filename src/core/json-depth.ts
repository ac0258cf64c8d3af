/**
 * How deeply parsed request bodies may nest. Deeper ones are refused: code that walks a value
 * recursively (JSON.stringify, schema conversion) would overflow the stack.
 */
export const MAX_JSON_DEPTH = 100;

/** True when arrays/objects in `value` nest deeper than `max` levels (iterative: any depth is safe to check). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
