import { PreferSchema, type Prefer } from './types';

/** What a requested model name means: "auto" and its shorthands, or a name for the catalog to resolve. */

/** Excluded entries for names the catalog does not know start with this. */
export const UNKNOWN_MODEL_REASON = 'unknown model';

const AUTO = 'auto';
const PREFERS: ReadonlySet<string> = new Set(PreferSchema.options);

export type ParsedModel = { kind: 'auto'; prefer?: Prefer } | { kind: 'model' } | { kind: 'bad-auto' };

/** "auto", "auto:cost" | "auto:latency" | "auto:quality" | "auto:balanced", a malformed "auto:…", or a model name. */
export function parseModel(model: string): ParsedModel {
  if (model === AUTO) return { kind: 'auto' };
  if (!model.startsWith(`${AUTO}:`)) return { kind: 'model' };
  const prefer = model.slice(AUTO.length + 1);
  return PREFERS.has(prefer) ? { kind: 'auto', prefer: prefer as Prefer } : { kind: 'bad-auto' };
}

/** True for "auto" and every "auto:…" name, so a rule's `when.model: "auto"` matches the shorthands too. */
export function isAuto(model: string): boolean {
  return model === AUTO || model.startsWith(`${AUTO}:`);
}

export function badAutoReason(name: string): string {
  return `${UNKNOWN_MODEL_REASON} '${name}': use auto, auto:cost, auto:latency, auto:quality or auto:balanced`;
}
