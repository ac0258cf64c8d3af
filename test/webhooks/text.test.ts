import { truncate } from '../../src/webhooks/text';
import { clip } from '../../src/webhooks/runner';
import { twiml } from '../../src/webhooks/sources/twilio';

/** True when the string holds a high or low surrogate without its other half. */
function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

describe('truncate', () => {
  it('leaves out a surrogate pair (emoji) that straddles the limit instead of cutting it in half', () => {
    const text = `${'a'.repeat(9)}😀tail`;
    expect(text.slice(0, 10)).toMatch(/\uD83D$/); // what a plain slice sends
    expect(truncate(text, 10)).toBe('a'.repeat(9));
    expect(truncate(text, 11)).toBe(`${'a'.repeat(9)}😀`);
    expect(truncate(text, 12)).toBe(`${'a'.repeat(9)}😀t`);
  });

  it('keeps text within the limit as it is', () => {
    expect(truncate('😀😀', 4)).toBe('😀😀');
    expect(truncate('😀😀', 3)).toBe('😀');
    expect(truncate('abc', 2)).toBe('ab');
  });

  it('flow answers clipped at max_chars never end in half an emoji', () => {
    const clipped = clip(`${'x'.repeat(9)}😀😀`, 10);
    expect(clipped).toBe('x'.repeat(9));
    expect(hasLoneSurrogate(clipped)).toBe(false);
  });

  it('TwiML answers longer than 1600 characters are cut between code points', () => {
    const reply = twiml(`${'a'.repeat(1599)}😀 and more`);
    const body = /<Message>(.*)<\/Message>/s.exec(reply.body ?? '')?.[1] ?? '';
    expect(body).toBe('a'.repeat(1599));
  });
});
