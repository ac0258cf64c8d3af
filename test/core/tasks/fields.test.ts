import { ZodError } from 'zod';
import { FieldListSchema, checkJsonAnswer, describeFields, extractData, extractionTask, fieldsJsonSchema, type FieldDefinitionInput } from '../../../src/core/tasks';
import { FakeSwitchyard } from './fake-switchyard';

function issue(fields: unknown): { path: PropertyKey[]; message: string } | undefined {
  const parsed = FieldListSchema.safeParse(fields);
  return parsed.success ? undefined : { path: parsed.error.issues[0]!.path, message: parsed.error.issues[0]!.message };
}

describe('field definitions -> strict JSON schema', () => {
  it('maps every scalar type, nullable unless required, descriptions kept', () => {
    expect(
      fieldsJsonSchema([
        { name: 'name', type: 'string', description: 'Full name', required: true },
        { name: 'score', type: 'number' },
        { name: 'employees', type: 'integer' },
        { name: 'active', type: 'boolean', required: true },
        { name: 'founded', type: 'date', description: 'Founding day' },
        { name: 'note' },
      ]),
    ).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', description: 'Full name' },
        score: { type: ['number', 'null'] },
        employees: { type: ['integer', 'null'] },
        active: { type: 'boolean' },
        founded: { type: ['string', 'null'], description: 'Founding day. ISO 8601 date (YYYY-MM-DD)' },
        note: { type: ['string', 'null'] },
      },
      required: ['name', 'score', 'employees', 'active', 'founded', 'note'],
      additionalProperties: false,
    });
  });

  it('maps arrays (of strings by default, of any scalar, of objects) and nested objects, strict at every level', () => {
    const schema = fieldsJsonSchema([
      { name: 'tags', type: 'array', description: 'Topics' },
      { name: 'dates', type: 'array', items: 'date', required: true },
      { name: 'contacts', type: 'array', items: 'object', fields: [{ name: 'email', required: true }, { name: 'phone' }] },
      { name: 'address', type: 'object', fields: [{ name: 'city', required: true }] },
    ]);
    expect(schema.properties).toEqual({
      tags: { type: ['array', 'null'], items: { type: 'string' }, description: 'Topics' },
      dates: { type: 'array', items: { type: 'string', description: 'ISO 8601 date (YYYY-MM-DD)' } },
      contacts: {
        type: ['array', 'null'],
        items: {
          type: 'object',
          properties: { email: { type: 'string' }, phone: { type: ['string', 'null'] } },
          required: ['email', 'phone'],
          additionalProperties: false,
        },
      },
      address: { type: ['object', 'null'], properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    });
  });

  it('produces schemas that accept what they describe and reject the rest', () => {
    const fields: FieldDefinitionInput[] = [
      { name: 'name', required: true },
      { name: 'employees', type: 'integer' },
      { name: 'contacts', type: 'array', items: 'object', fields: [{ name: 'email', required: true }] },
    ];
    const schema = fieldsJsonSchema(fields);
    expect(checkJsonAnswer('{"name":"Ada","employees":null,"contacts":[{"email":"a@b.c"}]}', schema).ok).toBe(true);
    const problem = (checkJsonAnswer('{"name":null,"employees":1.5,"contacts":[{}]}', schema) as { problem: string }).problem;
    expect(problem).toContain('name must be string');
    expect(problem).toContain('employees must be integer,null');
    expect(problem).toContain('contacts[0].email is missing');
  });

  it('refuses unusable definitions, naming the field', () => {
    expect(issue([])).toEqual({ path: [], message: 'is empty' });
    expect(issue([{ name: '  ', type: 'string' }])).toEqual({ path: [0, 'name'], message: 'has no name' });
    expect(issue([{ name: 'a' }, { name: 'a ', type: 'number' }])).toEqual({ path: [1, 'name'], message: "repeats the name 'a'; field names must be unique" });
    expect(issue([{ name: 'a', type: 'decimal' }])?.path).toEqual([0, 'type']);
    expect(issue([{ name: 'a', type: 'object' }])).toEqual({ path: [0, 'fields'], message: 'is needed: an object field lists its own fields' });
    expect(issue([{ name: 'a', type: 'string', fields: [{ name: 'b' }] }])?.path).toEqual([0, 'fields']);
    expect(issue([{ name: 'a', type: 'string', items: 'number' }])?.path).toEqual([0, 'items']);
    expect(issue([{ name: 'a', type: 'object', fields: [{ name: '' }] }])).toEqual({ path: [0, 'fields', 0, 'name'], message: 'has no name' });
    expect(issue(Array.from({ length: 101 }, (_, i) => ({ name: `f${i}` })))?.message).toBe('has more than 100 fields');
    expect(() => fieldsJsonSchema([])).toThrow(ZodError);
  });

  it('lists the fields for the prompt', () => {
    const parsed = FieldListSchema.parse([
      { name: 'company', description: 'Legal name', required: true },
      { name: 'tags', type: 'array' },
      { name: 'address', type: 'object', fields: [{ name: 'city' }] },
    ]);
    expect(describeFields(parsed)).toBe(
      '- company (string): Legal name\n- tags (list of string, may be null)\n- address (object, may be null)\n  - city (string, may be null)',
    );
  });
});

describe('extraction task', () => {
  const fields = [
    { name: 'company', description: 'Legal name', required: true },
    { name: 'employees', type: 'integer' as const },
  ];

  it('puts the task and the field list in the system message, the text alone in the user message', () => {
    const task = extractionTask({ text: '  Acme Corp, 40 people ', fields, instructions: 'Names in title case.', system: 'Be careful.' });
    expect(task.messages[1]).toEqual({ role: 'user', content: 'Acme Corp, 40 people' });
    expect(task.messages[0]?.role).toBe('system');
    expect(String(task.messages[0]?.content)).toMatch(/^Extract the requested fields[\s\S]*- company \(string\): Legal name\n- employees \(integer, may be null\)\n\nNames in title case\.\n\nBe careful\.$/);
    expect(task.spec).toEqual({ name: 'extracted_fields', strict: true, schema: fieldsJsonSchema(fields) });
  });

  it('refuses an empty text or bad fields with a 400 naming the parameter', () => {
    expect(() => extractionTask({ text: ' ', fields })).toThrow(expect.objectContaining({ status: 400, param: 'text' }));
    expect(() => extractionTask({ text: 'x', fields: [{ name: 'a' }, { name: 'a' }] })).toThrow(expect.objectContaining({ status: 400, param: 'fields[1].name' }));
  });

  it('extracts through a Switchyard at temperature 0, with one repair', async () => {
    const sy = new FakeSwitchyard(['{"company":"Acme"}', '{"company":"Acme","employees":40}']);
    const result = await extractData(sy, { text: 'Acme Corp, 40 people', fields, model: 'openai/gpt-4.1-mini' });
    expect(result).toMatchObject({ data: { company: 'Acme', employees: 40 }, repaired: true });
    expect(sy.requests[0]).toMatchObject({ model: 'openai/gpt-4.1-mini', temperature: 0, response_format: { json_schema: { name: 'extracted_fields', strict: true } } });
    expect(sy.requests[1]?.messages.at(-1)?.content).toMatch(/employees is missing/);
  });
});
