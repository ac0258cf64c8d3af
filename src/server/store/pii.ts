/**
 * PII redaction for prompts and completions kept in the usage store (only when prompt logging is on).
 * Exports: `redactPii(text)`, `luhnValid(digits)`.
 *
 * Emails, payment card numbers (13-19 digits, Luhn-checked) and phone numbers are replaced by
 * `[EMAIL]`, `[CARD]` and `[PHONE]`. The rules lean towards over-redaction: a 10+ digit run is
 * treated as a phone number (also glued to letters), extensions included, while dates and times,
 * decimals, amounts with thousands separators or a currency, IPv4 addresses, ids such as
 * ORD-2026-123456 and short numbers are left alone.
 */

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13-19 digits, optionally grouped by spaces, dots or hyphens (at most two in a row); not inside a longer number. */
const CARD = /(?<![\d+])(?<!\d[ .-])\d(?:[ .-]{0,2}\d){12,18}(?![ .-]?\d)/g;
/**
 * Optional +country code, optional (area), then 2-6 groups of digits, an optional extension.
 * Not right after a word character, "+", "-", "/" or "." (the tail of an id such as ORD-2026-123456,
 * an ISBN or a dotted number). Candidates; see isPhone.
 */
const PHONE = /(?<![\w+\-/.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,8}){1,5}(?:\s*(?:x|ext\.?)\s*\d{1,6})?(?![\w])/g;
/** Ten or more digits glued to letters ("call5551234567"): a phone number written without a space. */
const GLUED_PHONE = /(?<=[A-Za-z])\d{10,15}(?!\d)/g;
/** Dates: 2026-11-22, 22.11.2026, 11-22-2026, 22/11/26 (and a time after them). */
const DATE_START = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})(?:$|[ T])/;
/** A dotted quad: an IPv4 address. (Numbers grouped by thousands look like 612 345 678, a phone number: only a currency or decimals tell them apart.) */
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const CURRENCY_AFTER = /^\s?(?:[A-Z]{3}\b|[€$£¥₹])/;
const CURRENCY_BEFORE = /[€$£¥₹]\s?$/;

export function redactPii(text: string): string {
  return text
    .replace(EMAIL, '[EMAIL]')
    .replace(CARD, (match) => (luhnValid(match.replace(/\D/g, '')) ? '[CARD]' : match))
    .replace(PHONE, (match, offset: number, whole: string) => (isPhone(match, whole.slice(0, offset), whole.slice(offset + match.length)) ? '[PHONE]' : match))
    .replace(GLUED_PHONE, '[PHONE]');
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

function isPhone(match: string, before: string, after: string): boolean {
  const extension = /\s*(?:x|ext\.?)\s*\d+$/.exec(match);
  const number = extension ? match.slice(0, extension.index) : match;
  const digits = number.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15) return false;
  // What follows says it is a number: a time (10:30), decimals (1.234.567,89) or a currency.
  if (/^(?::\d|[.,]\d)/.test(after) || CURRENCY_AFTER.test(after) || CURRENCY_BEFORE.test(before)) return false;
  if (match.startsWith('+') || match.includes('(') || extension) return true;
  if (DATE_START.test(number) || IPV4.test(number)) return false;
  const groups = number.split(/[ .-]+/);
  if (groups.length === 1) return digits.length >= 10;
  // "3.1415926" is a decimal, not a phone number.
  if (groups.length === 2 && !/[ -]/.test(number)) return false;
  // "3 4 5 6 7 8 9" is a list of numbers: at most the leading group may be a single digit.
  return groups.slice(1).every((g) => g.length >= 2);
}
