import { z } from 'zod';
import { ProviderError } from '../../src/core/errors';
import { contentText, parseEventJson, parseWire, textSegments, tokenCount } from '../../src/providers/wire';

describe('provider wire helpers', () => {
  const Schema = z.looseObject({ id: z.string() });

  it('parseWire returns the parsed payload, extra fields kept', () => {
    expect(parseWire(Schema, { id: 'a', extra: 1 }, 'p', 'thing')).toEqual({ id: 'a', extra: 1 });
  });

  it('parseWire throws upstream_error naming the provider and what was expected', () => {
    const err = (() => {
      try {
        return parseWire(Schema, { id: 5 }, 'acme', 'model list');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'upstream_error', provider: 'acme', message: 'upstream sent an unexpected model list' });
  });

  it('parseEventJson returns the JSON object of an event', () => {
    expect(parseEventJson('{"type":"ping"}', 'p')).toEqual({ type: 'ping' });
  });

  it.each(['{not json', '', 'null', '42', '"text"'])('parseEventJson rejects %j as an invalid stream event', (data) => {
    expect(() => parseEventJson(data, 'acme')).toThrow(expect.objectContaining({ kind: 'upstream_error', provider: 'acme', message: 'upstream sent an invalid stream event', partial: false }));
  });

  it('parseEventJson marks the error partial when output already reached the caller', () => {
    expect(() => parseEventJson('{', 'acme', true)).toThrow(expect.objectContaining({ partial: true }));
  });

  it.each([
    [12, 12],
    [3.6, 4],
    [-5, 0],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
    [null, 0],
    [undefined, 0],
  ])('tokenCount(%p) is %p', (value, expected) => {
    expect(tokenCount(value)).toBe(expected);
  });

  it('textSegments lists text pieces in order and skips images and missing content', () => {
    const parts = [
      { type: 'text' as const, text: 'a' },
      { type: 'image_url' as const, image_url: { url: 'https://x.test/i.png' } },
      { type: 'text' as const, text: '' },
      { type: 'text' as const, text: 'b' },
    ];
    expect(textSegments(parts)).toEqual(['a', '', 'b']);
    expect(textSegments('plain')).toEqual(['plain']);
    expect(textSegments(null)).toEqual([]);
    expect(textSegments(undefined)).toEqual([]);
  });

  it('contentText joins text pieces with the separator (none by default)', () => {
    const parts = [
      { type: 'text' as const, text: 'a' },
      { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,AAAA' } },
      { type: 'text' as const, text: 'b' },
    ];
    expect(contentText(parts)).toBe('ab');
    expect(contentText(parts, '\n')).toBe('a\nb');
    expect(contentText('plain', '\n')).toBe('plain');
    expect(contentText(null)).toBe('');
  });
});
