import { maskingLogger } from '../../src/webhooks';
import { captureLogger } from './helpers';

describe('maskingLogger', () => {
  // JSON escapes `"` and `\`: a secret holding them must still be masked in the fields.
  const SECRET = 'pa"ss\\word-0123456789';

  it('masks a secret containing quote and backslash in the message and in every field, nested or not', () => {
    const cap = captureLogger();
    const log = maskingLogger(cap.logger, () => [SECRET]);
    log.warn(`upstream echoed ${SECRET}`, {
      error: `upstream said ${SECRET}`,
      nested: { deeper: [`x${SECRET}y`, 42, null, true] },
      err: new Error(`token ${SECRET} refused`),
      [`key-${SECRET}`]: 'v',
    });
    const text = cap.text();
    expect(text).not.toContain('pa\\"ss\\\\word'); // the JSON-escaped form
    expect(text).not.toContain('ss\\\\word');
    expect(JSON.stringify(cap.lines[0]?.fields)).not.toContain('word-0123456789');
    expect(cap.lines[0]).toEqual({
      level: 'warn',
      msg: 'upstream echoed [redacted]',
      fields: {
        error: 'upstream said [redacted]',
        nested: { deeper: ['x[redacted]y', 42, null, true] },
        err: { name: 'Error', message: 'token [redacted] refused' },
        'key-[redacted]': 'v',
      },
    });
  });

  it('still reports fields it cannot serialise instead of throwing', () => {
    const cap = captureLogger();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    maskingLogger(cap.logger, () => [SECRET]).error('boom', { cyclic });
    expect(cap.lines[0]).toEqual({ level: 'error', msg: 'boom', fields: { fields: 'unserializable' } });
  });
});
