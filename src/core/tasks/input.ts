/** Input pieces the text tasks share. */
import { z } from 'zod';

/** What every text task takes besides its own definitions (fields, labels). */
export const TextTaskShape = {
  text: z.string().trim().min(1, 'is empty'),
  /** Guidance for the task, e.g. "Dates as YYYY-MM-DD" or which label wins when several fit. */
  instructions: z.string().trim().optional(),
  /** The caller's own standing instructions, appended to the task's. */
  system: z.string().trim().optional(),
};

/** A superRefine that reports each entry whose name (as `key` folds it) an earlier entry already has. */
export function noRepeatedNames<T extends { name: string }>(
  issue: (item: T, index: number) => { message: string; path?: PropertyKey[] },
  key: (name: string) => string = (name) => name,
): (items: T[], ctx: z.core.$RefinementCtx<T[]>) => void {
  return (items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      if (seen.has(key(item.name))) ctx.addIssue({ code: 'custom', ...issue(item, index) });
      seen.add(key(item.name));
    });
  };
}
