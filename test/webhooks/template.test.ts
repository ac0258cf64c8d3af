import { lookup, renderTemplate, templateProblems } from '../../src/webhooks/template';

describe('prompt templates', () => {
  const fields = { message: { text: 'Hi there', id: 'w1' }, items: [{ name: 'a' }, { name: 'b' }], n: 3, ok: false, nested: { a: [1, 2] } };

  it('fills dotted paths, array indexes, numbers, booleans and objects', () => {
    expect(renderTemplate('Q: {{message.text}} ({{ message.id }})', fields)).toBe('Q: Hi there (w1)');
    expect(renderTemplate('{{items.1.name}}/{{items[0].name}}', fields)).toBe('b/a');
    expect(renderTemplate('{{n}} {{ok}} {{nested}}', fields)).toBe('3 false {"a":[1,2]}');
  });

  it('renders missing values as empty text', () => {
    expect(renderTemplate('[{{message.missing}}][{{nope.deeper}}][{{items.9.name}}]', fields)).toBe('[][][]');
  });

  it('never reads inherited properties or evaluates code', () => {
    expect(lookup(fields, 'message.constructor')).toBeUndefined();
    expect(lookup(fields, '__proto__')).toBeUndefined();
    expect(lookup({ a: 'x' }, 'a.length')).toBeUndefined();
    expect(renderTemplate('{{ process.exit(1) }}{{toString}}', fields)).toBe('');
  });

  it('reports invalid placeholders and stray braces at config time', () => {
    expect(templateProblems('{{message.text}} and {{ items[0].name }}')).toEqual([]);
    expect(templateProblems('{{ 1 + 2 }}')).toHaveLength(1);
    expect(templateProblems('{{a.__proto__}}')).toHaveLength(1);
    expect(templateProblems('{{message.text}')).toEqual(['unbalanced {{ or }}']);
  });
});
