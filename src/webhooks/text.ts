/** Text limits of the messaging platforms. */

/**
 * At most `max` UTF-16 code units of `text`, cut between code points: a surrogate pair (an emoji)
 * that would straddle the limit is left out whole rather than cut in half, which would send a lone
 * surrogate (invalid UTF-8 on the wire, a U+FFFD at best). Counting code units keeps the text
 * within the limit however the platform counts (UTF-16 units or code points).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const splitsPair = max > 0 && last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, splitsPair ? max - 1 : max);
}
