import { z } from 'zod';
import { GatewayError, issueParam, validationError } from '../../src/core/errors';
import { parseUsageQuery } from '../../src/server/usage-query';
import { assertOpenAIError } from '../helpers/openai-schema';

/** zod issue -> GatewayError, shared by request bodies, the routing header, the admin API and the usage query. */

const Body = z.strictObject({ name: z.string(), routing: z.strictObject({ prefer: z.string().optional() }).optional() });

function errorFor(input: unknown, prefix?: string): GatewayError {
  const result = Body.safeParse(input);
  if (result.success) throw new Error('expected a validation error');
  const err = validationError(result.error, prefix);
  assertOpenAIError(err.toBody());
  return err;
}

function usageQueryError(raw: unknown): GatewayError {
  try {
    parseUsageQuery(raw);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

describe('validation errors', () => {
  it('names an unrecognized key at the root by its own name', () => {
    const err = errorFor({ name: 'x', bogus: 1 });
    expect(err).toMatchObject({ status: 400, param: 'bogus', code: 'invalid_value' });
    expect(err.message).toBe("Invalid request: unrecognized key 'bogus'");
  });

  it('names a nested unrecognized key by its path, and lists every unrecognized key of the object', () => {
    const err = errorFor({ name: 'x', routing: { prefer: 'cost', speed: 1, colour: 2 } });
    expect(err.param).toBe('routing.speed');
    expect(err.message).toBe("Invalid request: unrecognized keys 'routing.speed', 'routing.colour'");
  });

  it('answers param null, not "", for a problem with the whole input', () => {
    const err = errorFor('just text');
    expect(err.param).toBeNull();
    expect(err.message).toBe('Invalid request: Invalid input: expected object, received string');
    expect(err.toBody().error.param).toBeNull();
  });

  it('names the field of any other issue as before', () => {
    const err = errorFor({ name: 5 });
    expect(err.param).toBe('name');
    expect(err.message).toBe("Invalid request: 'name': Invalid input: expected string, received number");
  });

  it('puts the prefix in front of the key, and names the prefix itself for a root problem', () => {
    expect(errorFor({ name: 'x', bogus: 1 }, 'x-switchyard-route.')).toMatchObject({
      param: 'x-switchyard-route.bogus',
      message: "Invalid request: unrecognized key 'x-switchyard-route.bogus'",
    });
    expect(errorFor(7, 'x-switchyard-route.').param).toBe('x-switchyard-route');
  });

  it('masks a key-like unrecognized key in param and message', () => {
    const err = errorFor({ name: 'x', 'sk-proj-abcdef123456': 1 });
    expect(err.param).toBe('[redacted]');
    expect(err.message).not.toContain('abcdef123456');
  });

  it('shares the param rule with the usage query', () => {
    const result = z.strictObject({}).safeParse({ a: 1 });
    expect(issueParam(result.error!.issues[0]!)).toBe('a');
    expect(usageQueryError({ groupby: 'day' })).toMatchObject({ param: 'groupby' });
    const root = usageQueryError('group_by=day');
    expect(root.param).toBeNull();
    expect(root.message).not.toContain("''");
    assertOpenAIError(root.toBody());
  });
});
