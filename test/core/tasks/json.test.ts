import { checkJsonAnswer, compileJsonSchema, jsonSchemaProblem, parseJsonAnswer } from '../../../src/core/tasks';

describe('reading a model answer as JSON', () => {
  it('parses plain, fenced and chatty JSON', () => {
    expect(parseJsonAnswer(' {"a":1} ')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonAnswer('```json\n{"a":2}\n```')).toEqual({ ok: true, value: { a: 2 } });
    expect(parseJsonAnswer('Here you go:\n```\n[1,2]\n```')).toEqual({ ok: true, value: [1, 2] });
    expect(parseJsonAnswer('Sure! {"a":{"b":3}} Anything else?')).toEqual({ ok: true, value: { a: { b: 3 } } });
  });

  it('says what is wrong, phrased after "the answer"', () => {
    expect(parseJsonAnswer(null)).toEqual({ ok: false, problem: 'is empty' });
    expect(parseJsonAnswer('  ')).toEqual({ ok: false, problem: 'is empty' });
    expect(parseJsonAnswer('Sure! {company: ')).toMatchObject({ ok: false, problem: expect.stringMatching(/^is not valid JSON \(.+\)$/) });
  });

  it('describes schema errors by path, enum values included', () => {
    const schema = {
      type: 'object',
      properties: { size: { enum: ['1-10', '11-50'] }, people: { type: 'array', items: { type: 'object', properties: { age: { type: 'integer' } } } } },
      required: ['size'],
    };
    expect(checkJsonAnswer('{"size":"huge","people":[{"age":1},{"age":"x"}]}', schema)).toEqual({
      ok: false,
      problem: 'does not match the schema: size must be equal to one of the allowed values: "1-10", "11-50"; people[1].age must be integer',
    });
    expect(checkJsonAnswer('{"size":"1-10"}', schema)).toEqual({ ok: true, value: { size: '1-10' } });
  });

  it('caps the list of errors', () => {
    const schema = { type: 'object', properties: Object.fromEntries('abcdefg'.split('').map((k) => [k, { type: 'string' }])) };
    const problem = (checkJsonAnswer(JSON.stringify(Object.fromEntries('abcdefg'.split('').map((k) => [k, 1]))), schema) as { problem: string }).problem;
    expect(problem).toMatch(/e must be string; and 2 more$/);
  });
});

describe('compiling schemas', () => {
  it('reuses the validator of an equal schema, even one with an $id or internal $refs', () => {
    const make = () => ({ $id: 'https://example.test/lead', type: 'object', definitions: { n: { type: 'integer' } }, properties: { n: { $ref: '#/definitions/n' } } });
    const a = compileJsonSchema(make());
    expect(compileJsonSchema(make())).toBe(a);
    expect(a({ n: 1 })).toBe(true);
    expect(a({ n: 'x' })).toBe(false);
    // Another schema under the same $id compiles too: ajv keeps no registry of ours.
    expect(compileJsonSchema({ ...make(), title: 'changed' })({ n: 2 })).toBe(true);
  });

  it('says why a schema is unusable', () => {
    expect(jsonSchemaProblem({ type: 'nope' })).toMatch(/type/);
    expect(jsonSchemaProblem({ type: 'object' })).toBeUndefined();
  });
});
