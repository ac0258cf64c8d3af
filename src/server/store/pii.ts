/**
 * PII redaction for prompts and completions kept in the usage store (only when prompt logging is on).
 * Exports: `redactPii(text)`, `luhnValid(digits)`.
 *
 * Emails, payment card numbers (13-19 digits, Luhn-checked) and phone numbers are replaced by
 * `[EMAIL]`, `[CARD]` and `[PHONE]`. The rules lean towards over-redaction: a 10+ digit run is
 * treated as a phone number, while dates, decimals and short numbers are left alone.
 */

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13-19 digits, optionally grouped by single spaces or hyphens. */
const CARD = /(?<![\d+-])\d(?:[ -]?\d){12,18}(?!\d)/g;
/** Optional +country code, optional (area), then 2-6 groups of digits. Candidates; see isPhone. */
const PHONE = /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,8}){1,5}(?!\w)/g;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function redactPii(text: string): string {
  return text
    .replace(EMAIL, '[EMAIL]')
    .replace(CARD, (match) => (luhnValid(match.replace(/\D/g, '')) ? '[CARD]' : match))
    .replace(PHONE, (match) => (isPhone(match) ? '[PHONE]' : match));
}

/** The Luhn checksum every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function isPhone(match: string): boolean {
  const digits = match.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15) return false;
  if (match.startsWith('+') || match.includes('(')) return true;
  if (ISO_DATE.test(match)) return false;
  const groups = match.split(/[ .-]+/);
  if (groups.length === 1) return digits.length >= 10;
  // "3.1415926" is a decimal, not a phone number.
  if (groups.length === 2 && !/[ -]/.test(match)) return false;
  // "3 4 5 6 7 8 9" is a list of numbers: at most the leading group may be a single digit.
  return groups.slice(1).every((g) => g.length >= 2);
}
