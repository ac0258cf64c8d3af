/**
 * Who may call the gateway, which models, how often and for how much.
 *
 * Exports:
 * - `createAccessControl({ store, adminKey?, requireKeys, clock? }) -> AccessControl`
 * - `AccessControl.authenticate(headers) -> KeyContext | undefined` — reads `Authorization: Bearer
 *   <key>`. Throws GatewayError 401 for a missing (when keys are required), malformed, unknown or
 *   revoked key. Returns undefined for anonymous local use (keys not required and no `sk-sy-` key
 *   sent: SDKs insist on some api key, so a placeholder like "none" is ignored then). The admin key
 *   authenticates as `{ admin: true }`, with no limits. Call once per request: the context carries
 *   that request's budget reservation.
 * - `AccessControl.admit(ctx, { model, candidates?, estimatedCostUsd? }) -> Admission` — before
 *   routing. 403 `model_not_allowed` when the key may not use the model; 429 `rate_limit_exceeded`
 *   with Retry-After over the key's requests per minute (sliding window); 429 `insufficient_quota`
 *   (type `budget_exceeded`) with Retry-After when spent + reserved + estimate exceeds the daily or
 *   monthly budget (UTC periods). Pass the plan's candidate keys as `candidates`: the returned
 *   `models` lists the ones this key may use and routing must be restricted to them.
 * - `AccessControl.settle(ctx, actualCostUsd)` — after the call, success or failure (0 then):
 *   releases the estimate and adds the actual cost to the key's running totals. Idempotent.
 * - `keyIdOf(ctx)` — the key id for usage rows (null for anonymous and admin calls).
 * - `isModelAllowed(allowed, model)` — the allow-list match used by admit.
 * GatewayError messages pass through redactSecrets, which masks anything shaped like `sk-…`, so
 * they name keys by name and id, never by prefix.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../core/errors';
import { looksLikeGatewayKey, type KeyRecord, type Store } from './store';
import { dayStart, monthStart, nextDayStart, nextMonthStart, systemClock, type Clock } from './store/time';

export interface KeyContext {
  readonly admin: boolean;
  /** The gateway key; undefined for the admin key. */
  readonly key?: KeyRecord;
  /** The estimate admit() holds against the budgets until settle(). */
  reservation?: { usd: number; at: number };
}

export interface AdmitRequest {
  /** The model the caller asked for ("auto", an alias or a catalog key). */
  model: string;
  /** Catalog keys the request may be routed to (the plan's candidates). */
  candidates?: string[];
  /** The most the call may cost (the plan's maxCostUsd): reserved against the budgets until settle(). */
  estimatedCostUsd?: number;
}

export interface Admission {
  /** The candidates this key may use, in the given order; undefined means no restriction. */
  models?: string[];
}

export interface AccessControl {
  authenticate(headers: IncomingHttpHeaders): KeyContext | undefined;
  admit(ctx: KeyContext | undefined, request: AdmitRequest): Admission;
  settle(ctx: KeyContext | undefined, actualCostUsd: number): void;
}

export interface AccessControlOptions {
  store: Pick<Store, 'keys' | 'usage'>;
  adminKey?: string;
  /** True, or a function read per request (e.g. `() => store.keys.everCreated()`). */
  requireKeys: boolean | (() => boolean);
  clock?: Clock;
}

const WINDOW_MS = 60_000;
const HOW_TO_GET_A_KEY = 'create one with `switchyard keys create --name NAME` or POST /admin/keys';

export function createAccessControl(opts: AccessControlOptions): AccessControl {
  const clock = opts.clock ?? systemClock;
  const adminHash = opts.adminKey ? sha256(opts.adminKey) : undefined;
  const limiters = new Map<string, SlidingWindow>();
  const reserved = new Map<string, number>();
  const settled = new WeakSet<KeyContext>();
  const requireKeys = typeof opts.requireKeys === 'function' ? opts.requireKeys : () => opts.requireKeys as boolean;

  const limiterFor = (key: KeyRecord, limit: number): SlidingWindow => {
    let window = limiters.get(key.id);
    if (!window || window.limit !== limit) {
      window = new SlidingWindow(limit);
      limiters.set(key.id, window);
    }
    return window;
  };

  const release = (ctx: KeyContext): void => {
    if (!ctx.key || !ctx.reservation) return;
    const left = (reserved.get(ctx.key.id) ?? 0) - ctx.reservation.usd;
    if (left > 1e-12) reserved.set(ctx.key.id, left);
    else reserved.delete(ctx.key.id);
    ctx.reservation = undefined;
  };

  return {
    authenticate(headers) {
      const token = bearerToken(headers.authorization);
      if (token === undefined) {
        if (!requireKeys()) return undefined;
        throw unauthorized(`Missing API key: send the header 'Authorization: Bearer <key>' with a Switchyard API key; ${HOW_TO_GET_A_KEY}.`, 'missing_api_key');
      }
      if (adminHash && timingSafeEqual(sha256(token), adminHash)) return { admin: true };
      if (!looksLikeGatewayKey(token)) {
        if (!requireKeys()) return undefined;
        throw unauthorized(
          `That is not a Switchyard API key; provider keys belong in the gateway's config, not in requests. ${capitalize(HOW_TO_GET_A_KEY)}.`,
          'invalid_api_key',
        );
      }
      const key = opts.store.keys.verify(token);
      if (!key) throw unauthorized(`Invalid or revoked API key; check the key you send or ${HOW_TO_GET_A_KEY}.`, 'invalid_api_key');
      return { admin: false, key };
    },

    admit(ctx, request) {
      const key = ctx?.key;
      if (!ctx || !key) return {};
      const now = clock();
      const models = allowedModels(key, request);
      const limit = key.requests_per_minute;
      const window = limit !== null ? limiterFor(key, limit) : undefined;
      const waitMs = window?.waitMs(now) ?? 0;
      if (waitMs > 0) throw rateLimited(key, waitMs);
      release(ctx);
      const estimate = Number.isFinite(request.estimatedCostUsd) ? Math.max(0, request.estimatedCostUsd!) : 0;
      const held = reserved.get(key.id) ?? 0;
      checkBudget(key, 'daily', key.daily_budget_usd, opts.store.usage.spendSince(key.id, dayStart(now)) + held, estimate, nextDayStart(now), now);
      checkBudget(key, 'monthly', key.monthly_budget_usd, opts.store.usage.spendSince(key.id, monthStart(now)) + held, estimate, nextMonthStart(now), now);
      window?.add(now);
      settled.delete(ctx);
      reserved.set(key.id, held + estimate);
      ctx.reservation = { usd: estimate, at: now };
      return models ? { models } : {};
    },

    settle(ctx, actualCostUsd) {
      const key = ctx?.key;
      if (!ctx || !key || settled.has(ctx)) return;
      settled.add(ctx);
      const at = ctx.reservation?.at ?? clock();
      release(ctx);
      if (Number.isFinite(actualCostUsd) && actualCostUsd > 0) opts.store.usage.addSpend(key.id, actualCostUsd, at);
    },
  };
}

export function keyIdOf(ctx: KeyContext | undefined): string | null {
  return ctx?.key?.id ?? null;
}

/**
 * Allow-list entries are model names or globs (`*`). An entry without a provider also matches
 * that model at any provider: `gpt-4.1-mini` allows `openai/gpt-4.1-mini`.
 */
export function isModelAllowed(allowed: readonly string[] | null, model: string): boolean {
  if (allowed === null) return true;
  const bare = model.includes('/') ? model.slice(model.indexOf('/') + 1) : undefined;
  return allowed.some((pattern) => {
    const re = globToRegExp(pattern);
    return re.test(model) || (bare !== undefined && !pattern.includes('/') && re.test(bare));
  });
}

function allowedModels(key: KeyRecord, request: AdmitRequest): string[] | undefined {
  if (key.allowed_models === null) return undefined;
  // A plan with no candidates calls nothing: routing reports why (unknown model, nothing fits).
  if (request.candidates?.length === 0) return undefined;
  const candidates = request.candidates;
  const allowed = candidates?.filter((c) => isModelAllowed(key.allowed_models, c));
  if (allowed ? allowed.length > 0 : isModelAllowed(key.allowed_models, request.model)) return allowed;
  throw new GatewayError(
    403,
    `API key '${key.name}' (${key.id}) may not use model '${request.model}'${candidates ? ' or any model it routes to' : ''}; it allows: ${key.allowed_models.join(', ')}.`,
    { param: 'model', code: 'model_not_allowed' },
  );
}

function checkBudget(
  key: KeyRecord,
  period: 'daily' | 'monthly',
  budget: number | null,
  spent: number,
  estimate: number,
  resetsAt: number,
  now: number,
): void {
  if (budget === null || (spent < budget && spent + estimate <= budget)) return;
  const seconds = Math.max(1, Math.ceil((resetsAt - now) / 1000));
  const state =
    spent >= budget
      ? `is used up: ${usd(spent)} spent or reserved`
      : `has ${usd(budget - spent)} left, and this request may cost up to ${usd(estimate)} with its output limit (set a lower max_tokens, choose a cheaper model or raise the budget)`;
  throw new GatewayError(
    429,
    `The ${period} budget of ${usd(budget)} for API key '${key.name}' (${key.id}) ${state}. It resets at ${new Date(resetsAt).toISOString()}.`,
    { type: 'budget_exceeded', code: 'insufficient_quota', headers: { 'retry-after': String(seconds) } },
  );
}

function rateLimited(key: KeyRecord, waitMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new GatewayError(
    429,
    `Rate limit of ${key.requests_per_minute} requests per minute for API key '${key.name}' (${key.id}) reached; retry in ${seconds} s.`,
    { code: 'rate_limit_exceeded', headers: { 'retry-after': String(seconds) } },
  );
}

/**
 * Exact sliding window over the last `limit` admissions, kept in a ring: the request is allowed
 * when fewer than `limit` admissions happened in the past minute, i.e. when the oldest of the last
 * `limit` is at least a minute old. O(1) per request, `limit` numbers of memory per key.
 */
class SlidingWindow {
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;

  constructor(readonly limit: number) {
    this.times = new Float64Array(limit);
  }

  /** 0 when a request may pass now, otherwise how long until it may. */
  waitMs(now: number): number {
    if (this.size < this.limit) return 0;
    const oldest = this.times[this.next]!;
    return Math.max(0, oldest + WINDOW_MS - now);
  }

  add(now: number): void {
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    this.size = Math.min(this.size + 1, this.limit);
  }
}

function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value.trim());
  if (!match) {
    throw unauthorized("Malformed Authorization header: expected 'Bearer <api key>'.", 'invalid_api_key');
  }
  return match[1]!;
}

function unauthorized(message: string, code: string): GatewayError {
  return new GatewayError(401, message, { code, headers: { 'www-authenticate': 'Bearer' } });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

const globCache = new Map<string, RegExp>();
function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
    globCache.set(pattern, re);
  }
  return re;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function usd(amount: number): string {
  return `$${amount.toFixed(amount !== 0 && Math.abs(amount) < 1 ? 4 : 2)}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
