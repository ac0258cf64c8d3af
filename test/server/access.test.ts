import { GatewayError } from '../../src/core/errors';
import { createAccessControl, isModelAllowed, keyIdOf, type AccessControl, type KeyContext } from '../../src/server/access';
import { openStore, type KeyCreateInput, type Store } from '../../src/server/store';
import { fakeClock, tempDir } from './helpers/store';

const ADMIN = 'admin-secret-0123456789';

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

describe('access control', () => {
  let store: Store;
  let clock: ReturnType<typeof fakeClock>;
  let access: AccessControl;

  beforeEach(() => {
    clock = fakeClock(Date.UTC(2026, 10, 22, 12));
    store = openStore(':memory:', { clock: clock.now });
    access = createAccessControl({ store, adminKey: ADMIN, requireKeys: true, clock: clock.now });
  });
  afterEach(() => store.close());

  function keyCtx(input: Partial<KeyCreateInput> = {}): () => KeyContext {
    const { key } = store.keys.create({ name: 'team', ...input });
    return () => access.authenticate({ authorization: `Bearer ${key}` })!;
  }

  describe('authenticate', () => {
    it('accepts a valid key and the admin key', () => {
      const { key, record } = store.keys.create({ name: 'ci' });
      const ctx = access.authenticate({ authorization: `Bearer ${key}` });
      expect(ctx).toEqual({ admin: false, key: record });
      expect(keyIdOf(ctx)).toBe(record.id);
      expect(access.authenticate({ authorization: `bearer   ${key}  ` })?.key?.id).toBe(record.id);
      expect(access.authenticate({ authorization: `Bearer ${ADMIN}` })).toEqual({ admin: true });
      expect(keyIdOf(access.authenticate({ authorization: `Bearer ${ADMIN}` }))).toBeNull();
    });

    it('answers 401 saying what to fix, without echoing the key', () => {
      const missing = thrown(() => access.authenticate({}));
      expect(missing).toMatchObject({ status: 401, code: 'missing_api_key', headers: { 'www-authenticate': 'Bearer' } });
      expect(missing.message).toContain("'Authorization: Bearer <key>' with a Switchyard API key");
      expect(missing.message).not.toContain('[redacted]');
      expect(missing.message).toMatch(/switchyard keys create/);

      const bogus = 'sk-sy-' + 'x'.repeat(43);
      const unknown = thrown(() => access.authenticate({ authorization: `Bearer ${bogus}` }));
      expect(unknown).toMatchObject({ status: 401, code: 'invalid_api_key' });
      expect(unknown.message).not.toContain('xxxx');

      const provider = thrown(() => access.authenticate({ authorization: 'Bearer sk-proj-abcdef123456' }));
      expect(provider.message).toMatch(/not a Switchyard API key/);
      expect(provider.message).not.toContain('abcdef');

      expect(thrown(() => access.authenticate({ authorization: 'Basic dXNlcjpwYXNz' })).message).toMatch(/Bearer <api key>/);
    });

    it('rejects revoked keys', () => {
      const { key, record } = store.keys.create({ name: 'old' });
      store.keys.revoke(record.id);
      expect(thrown(() => access.authenticate({ authorization: `Bearer ${key}` })).status).toBe(401);
    });

    it('allows anonymous local use when keys are not required, ignoring SDK placeholder keys', () => {
      let required = false;
      const local = createAccessControl({ store, requireKeys: () => required, clock: clock.now });
      expect(local.authenticate({})).toBeUndefined();
      expect(local.authenticate({ authorization: 'Bearer none' })).toBeUndefined();
      // A Switchyard key that does not verify is still an error: the caller meant to use it.
      expect(thrown(() => local.authenticate({ authorization: `Bearer sk-sy-${'y'.repeat(43)}` })).status).toBe(401);
      // Without an admin key configured, nothing authenticates as admin.
      expect(local.authenticate({ authorization: `Bearer ${ADMIN}` })).toBeUndefined();
      required = true;
      expect(thrown(() => local.authenticate({})).status).toBe(401);
      // Anonymous and admin contexts have no limits and nothing to settle.
      expect(local.admit(undefined, { model: 'any', estimatedCostUsd: 1e6 })).toEqual({});
      expect(() => local.settle(undefined, 5)).not.toThrow();
      expect(access.admit({ admin: true }, { model: 'any', estimatedCostUsd: 1e6 })).toEqual({});
    });
  });

  describe('allowed models', () => {
    it('matches names, globs and bare ids at any provider', () => {
      const allowed = ['openai/*', 'claude-haiku', 'auto'];
      expect(isModelAllowed(allowed, 'openai/gpt-4o')).toBe(true);
      expect(isModelAllowed(allowed, 'anthropic/claude-haiku')).toBe(true);
      expect(isModelAllowed(allowed, 'claude-haiku')).toBe(true);
      expect(isModelAllowed(allowed, 'auto')).toBe(true);
      expect(isModelAllowed(allowed, 'anthropic/claude-sonnet')).toBe(false);
      expect(isModelAllowed(allowed, 'gpt-4o')).toBe(false); // 'openai/*' needs the provider
      expect(isModelAllowed(['gpt-4.1.mini'], 'gpt-4.1-mini')).toBe(false); // dots are literal
      expect(isModelAllowed(null, 'anything')).toBe(true);
    });

    it('answers 403 naming the model for a model the key may not use', () => {
      const ctx = keyCtx({ allowed_models: ['openai/*'] });
      expect(access.admit(ctx(), { model: 'openai/gpt-4.1-mini' })).toEqual({});
      const err = thrown(() => access.admit(ctx(), { model: 'anthropic/claude-sonnet' }));
      expect(err).toMatchObject({ status: 403, code: 'model_not_allowed', param: 'model' });
      expect(err.message).toContain("'anthropic/claude-sonnet'");
      expect(err.message).toContain('openai/*');
    });

    it('restricts routed requests to the candidates the key may use', () => {
      const ctx = keyCtx({ allowed_models: ['openai/*', 'gemini-2.5-flash'] });
      const candidates = ['anthropic/claude-haiku', 'openai/gpt-4.1-mini', 'gemini/gemini-2.5-flash'];
      expect(access.admit(ctx(), { model: 'auto', candidates })).toEqual({ models: ['openai/gpt-4.1-mini', 'gemini/gemini-2.5-flash'] });
      expect(thrown(() => access.admit(ctx(), { model: 'auto', candidates: ['anthropic/claude-haiku'] })).status).toBe(403);
      // No candidates (an unknown model, nothing fits the caps): nothing will be called, routing says why.
      expect(access.admit(ctx(), { model: 'openai/gpt-9', candidates: [] })).toEqual({});
      expect(access.admit(ctx(), { model: 'auto', candidates: [] })).toEqual({});
      // Without a plan (no candidates given) the name decides.
      expect(thrown(() => access.admit(ctx(), { model: 'mystery' })).status).toBe(403);
    });
  });

  describe('requests per minute', () => {
    it('answers 429 with Retry-After once the sliding minute is full', () => {
      const ctx = keyCtx({ requests_per_minute: 3 });
      access.admit(ctx(), { model: 'm' });
      clock.advance(10_000);
      access.admit(ctx(), { model: 'm' });
      access.admit(ctx(), { model: 'm' });
      const err = thrown(() => access.admit(ctx(), { model: 'm' }));
      expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'rate_limit_error' });
      expect(err.headers['retry-after']).toBe('50');
      expect(err.message).toMatch(/3 requests per minute/);

      clock.advance(49_999);
      expect(thrown(() => access.admit(ctx(), { model: 'm' })).headers['retry-after']).toBe('1');
      clock.advance(1); // the first admission is now a minute old
      access.admit(ctx(), { model: 'm' });
      // The two admitted at t=10s still hold the window until t=70s.
      expect(thrown(() => access.admit(ctx(), { model: 'm' })).headers['retry-after']).toBe('10');
      clock.advance(10_000);
      access.admit(ctx(), { model: 'm' });
      access.admit(ctx(), { model: 'm' });
    });

    it('counts keys separately and does not count rejected requests', () => {
      const a = keyCtx({ requests_per_minute: 1, allowed_models: ['ok'] });
      const b = keyCtx({ requests_per_minute: 1 });
      expect(thrown(() => access.admit(a(), { model: 'forbidden' })).status).toBe(403);
      access.admit(a(), { model: 'ok' });
      access.admit(b(), { model: 'ok' });
      expect(thrown(() => access.admit(a(), { model: 'ok' })).status).toBe(429);
    });
  });

  describe('budgets', () => {
    it('holds the estimate until settle, then counts the actual cost', () => {
      const ctx = keyCtx({ daily_budget_usd: 1 });
      const first = ctx();
      access.admit(first, { model: 'm', estimatedCostUsd: 0.6 });
      expect(first.reservation).toEqual({ usd: 0.6, at: clock.now() });

      const err = thrown(() => access.admit(ctx(), { model: 'm', estimatedCostUsd: 0.5 }));
      expect(err).toMatchObject({ status: 429, type: 'budget_exceeded', code: 'insufficient_quota' });
      expect(err.message).toMatch(/daily budget of \$1\.00/);
      expect(err.message).toMatch(/has \$0\.4000 left, and this request may cost up to \$0\.5000 with its output limit \(set a lower max_tokens/);
      expect(err.message).toContain('resets at 2026-11-23T00:00:00.000Z');
      expect(err.headers['retry-after']).toBe(String(12 * 3600));

      access.settle(first, 0.3);
      access.settle(first, 0.3); // idempotent: the estimate is released once, the actual counted once
      expect(first.reservation).toBeUndefined();
      expect(store.usage.spendSince(first.key!.id, Date.UTC(2026, 10, 22))).toBeCloseTo(0.3);
      access.admit(ctx(), { model: 'm', estimatedCostUsd: 0.7 });
    });

    it('rejects once the budget is used up, even for a zero estimate', () => {
      const ctx = keyCtx({ daily_budget_usd: 1 });
      const c = ctx();
      access.admit(c, { model: 'm', estimatedCostUsd: 0.2 });
      access.settle(c, 1);
      const err = thrown(() => access.admit(ctx(), { model: 'm', estimatedCostUsd: 0 }));
      expect(err.code).toBe('insufficient_quota');
      expect(err.message).toMatch(/is used up: \$1\.00 spent or reserved/);
    });

    it('resets the daily budget at UTC midnight and the monthly one on the 1st', () => {
      const ctx = keyCtx({ daily_budget_usd: 1, monthly_budget_usd: 1.5 });
      const spend = (usd: number) => {
        const c = ctx();
        access.admit(c, { model: 'm', estimatedCostUsd: usd });
        access.settle(c, usd);
      };
      spend(0.9);
      expect(thrown(() => spend(0.2)).message).toMatch(/daily budget/);

      clock.set(Date.UTC(2026, 10, 23, 0, 0, 0));
      spend(0.5);
      const monthly = thrown(() => spend(0.2));
      expect(monthly.message).toMatch(/monthly budget of \$1\.50/);
      expect(monthly.message).toContain('resets at 2026-12-01T00:00:00.000Z');
      expect(monthly.headers['retry-after']).toBe(String(8 * 86_400));

      clock.set(Date.UTC(2026, 11, 1, 0, 0, 1));
      spend(0.9);
    });

    it('releases the estimate of a failed call settled at zero', () => {
      const ctx = keyCtx({ monthly_budget_usd: 1 });
      const c = ctx();
      access.admit(c, { model: 'm', estimatedCostUsd: 0.9 });
      expect(thrown(() => access.admit(ctx(), { model: 'm', estimatedCostUsd: 0.2 })).status).toBe(429);
      access.settle(c, 0);
      access.admit(ctx(), { model: 'm', estimatedCostUsd: 0.9 });
    });

    it('counts spend recorded before the process started', async () => {
      const tmp = tempDir();
      try {
        const first = openStore(tmp.file(), { clock: clock.now });
        const { key, record } = first.keys.create({ name: 'seeded', daily_budget_usd: 1 });
        first.usage.record({ time: clock.now() - 1000, key_id: record.id, requested_model: 'm', attempts: 1, latency_ms: 1, status: 200, cost_usd: 0.95 });
        await first.close();

        const reopened = openStore(tmp.file(), { clock: clock.now });
        const restarted = createAccessControl({ store: reopened, requireKeys: true, clock: clock.now });
        const ctx = restarted.authenticate({ authorization: `Bearer ${key}` });
        restarted.admit(ctx, { model: 'm', estimatedCostUsd: 0.05 });
        expect(thrown(() => restarted.admit(restarted.authenticate({ authorization: `Bearer ${key}` }), { model: 'm', estimatedCostUsd: 0.01 })).code).toBe(
          'insufficient_quota',
        );
        await reopened.close();
      } finally {
        tmp.remove();
      }
    });
  });
});
