import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/core/json-depth';
import { parseByteSize } from '../../src/server/body';
import { createLogger } from '../../src/server/log';

describe('structured logger', () => {
  it('writes one JSON object per line, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l), now: () => Date.UTC(2026, 0, 2) });
    log.debug('hidden');
    log.info('chat', { status: 200, model: 'demo/mini' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ time: '2026-01-02T00:00:00.000Z', level: 'info', msg: 'chat', status: 200, model: 'demo/mini' });
    expect(log.enabled('debug')).toBe(false);
  });

  it('never writes secrets or stack traces', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const err = new Error('upstream said: invalid key sk-proj-abcdefghijklmnop');
    log.error('call failed with Bearer sk-live-123456789', { err, header: 'Authorization: Bearer abc.def.ghi', url: 'https://x.test/v1?key=AIzaSyA1234567890abcdef' });
    const text = lines.join('');
    expect(text).not.toMatch(/sk-proj-abcdefghijklmnop|sk-live-123456789|abc\.def\.ghi|AIzaSyA1234567890abcdef/);
    expect(text).not.toContain('at ');
    expect(JSON.parse(text).err).toEqual({ name: 'Error', message: 'upstream said: invalid key [redacted]' });
  });
});

describe('body size limits', () => {
  it('reads sizes the way the config writes them', () => {
    expect(parseByteSize('4mb')).toBe(4 * 1024 * 1024);
    expect(parseByteSize('512kb')).toBe(512 * 1024);
    expect(parseByteSize('1.5 MB')).toBe(1.5 * 1024 * 1024);
    expect(parseByteSize(1000)).toBe(1000);
    expect(() => parseByteSize('lots')).toThrow(/not a size/);
  });
});

describe('body nesting limit', () => {
  const nested = (levels: number): unknown => JSON.parse(`${'{"a":['.repeat(levels / 2)}1${']}'.repeat(levels / 2)}`);

  it('accepts MAX_JSON_DEPTH levels and refuses one more, counting objects and arrays alike', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan([nested(MAX_JSON_DEPTH)], MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan({ a: 'x', b: [1, { c: null }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: 'x', b: [1, { c: {} }] }, 3)).toBe(true);
  });

  it('checks a value nested far deeper than the stack would allow to recurse into', () => {
    expect(nestsDeeperThan(nested(50_000), MAX_JSON_DEPTH)).toBe(true);
  });
});
