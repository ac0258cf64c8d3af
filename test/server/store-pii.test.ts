import { luhnValid, redactPii } from '../../src/server/store/pii';

describe('redactPii', () => {
  it.each([
    ['write to jane.doe+tag@mail.example.co.uk today', 'write to [EMAIL] today'],
    ['A@B.io', '[EMAIL]'],
  ])('redacts emails: %s', (input, output) => expect(redactPii(input)).toBe(output));

  it.each([
    ['pay with 4111 1111 1111 1111 please', 'pay with [CARD] please'],
    ['card: 4111-1111-1111-1111.', 'card: [CARD].'],
    ['5500005555555559', '[CARD]'],
    ['amex 3782 822463 10005', 'amex [CARD]'],
  ])('redacts Luhn-valid card numbers: %s', (input, output) => expect(redactPii(input)).toBe(output));

  it('leaves long digit runs that fail the Luhn check (order or tracking numbers) alone', () => {
    expect(redactPii('tracking 4111 1111 1111 1112')).toBe('tracking 4111 1111 1111 1112');
    expect(redactPii('order 1234567890123456')).toBe('order 1234567890123456');
  });

  it.each([
    ['call +1 (555) 123-4567 now', 'call [PHONE] now'],
    ['call +44 20 7946 0958', 'call [PHONE]'],
    ['ring 555-123-4567 or 555.123.4567', 'ring [PHONE] or [PHONE]'],
    ['(555) 123 4567', '[PHONE]'],
    ['tél 01 23 45 67 89', 'tél [PHONE]'],
    ['+4915112345678', '[PHONE]'],
    ['number 5551234567', 'number [PHONE]'],
    ['local 555-1234', 'local [PHONE]'],
    ['móvil 612 345 678', 'móvil [PHONE]'],
    ['555-123-4567x12 or +1-555-123-4567 ext. 89', '[PHONE] or [PHONE]'],
    ['call5551234567 now', 'call[PHONE] now'],
  ])('redacts phone numbers: %s', (input, output) => expect(redactPii(input)).toBe(output));

  it.each([
    ['card-4111111111111111', 'card-[CARD]'],
    ['4111.1111.1111.1111', '[CARD]'],
    ['4111  1111  1111  1111', '[CARD]'],
  ])('redacts card numbers written with dots, double spaces or after a hyphen: %s', (input, output) => expect(redactPii(input)).toBe(output));

  it.each([
    'due 22.11.2026 or 11-22-2026, at 2026-11-22 10:30:00',
    'orders ORD-2026-123456 and INV-2026-000123',
    'price 1 299 000 EUR, or 1.234.567,89 €, or $ 1 299 000',
    'server 192.168.100.200',
    'ISBN 978-3-16-148410-0',
  ])('leaves dates, times, ids, amounts and addresses alone: %s', (input) => expect(redactPii(input)).toBe(input));

  it.each([
    'on 2026-11-22 at 10:30',
    'pi is 3.1415926',
    'version 1.2.3 of 42 items, 1,234,567 tokens',
    'numbers 3 4 5 6 7 8 9',
    'ids 12345678 and 999',
    'cost $0.0042 for 1500 tokens',
  ])('leaves ordinary numbers alone: %s', (input) => expect(redactPii(input)).toBe(input));

  it('redacts everything in one text and keeps the rest', () => {
    expect(redactPii('Hi, I am Ann (ann@x.org, +33 6 12 34 56 78). Card 4242424242424242 exp 12/29.')).toBe(
      'Hi, I am Ann ([EMAIL], [PHONE]). Card [CARD] exp 12/29.',
    );
  });
});

describe('luhnValid', () => {
  it('accepts valid numbers and rejects others', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('411111111111')).toBe(false); // too short for a card
    expect(luhnValid('41111111111111x1')).toBe(false);
  });
});
