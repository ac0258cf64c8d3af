import { LabelListSchema, StructuredOutputError, classificationTask, classifyText, matchLabel } from '../../../src/core/tasks';
import { FakeSwitchyard } from './fake-switchyard';

const labels = [{ name: 'billing', description: 'Invoices and refunds' }, { name: 'Bug report' }, { name: 'other' }];

describe('classification task', () => {
  it('constrains the label to the list in the schema sent, and lists the labels in the system message', () => {
    const task = classificationTask({ text: 'I was charged twice', labels, instructions: 'Refunds are billing.' });
    expect(task.spec.schema).toEqual({
      type: 'object',
      properties: {
        label: { type: 'string', enum: ['billing', 'Bug report', 'other'], description: expect.any(String) },
        confidence: { type: 'number', description: expect.any(String) },
      },
      required: ['label', 'confidence'],
      additionalProperties: false,
    });
    expect(task.spec).toMatchObject({ name: 'classification', strict: true });
    expect(String(task.messages[0]?.content)).toContain('- billing: Invoices and refunds\n- Bug report\n- other');
    expect(String(task.messages[0]?.content)).toMatch(/Refunds are billing\.$/);
    expect(task.messages[1]).toEqual({ role: 'user', content: 'I was charged twice' });
  });

  it('needs two distinct labels (whatever their case), each with a name', () => {
    const first = (raw: unknown) => LabelListSchema.safeParse(raw).error?.issues[0]?.message;
    expect(first([{ name: 'only' }])).toBe('needs at least two labels');
    expect(first([{ name: 'a' }, { name: 'A ' }])).toBe('lists "A" twice');
    expect(first([{ name: 'a' }, { name: ' ' }])).toBe('has no name');
    expect(first(Array.from({ length: 101 }, (_, i) => ({ name: `l${i}` })))).toBe('accepts at most 100 labels');
    expect(() => classificationTask({ text: 'x', labels: [{ name: 'a' }] })).toThrow(expect.objectContaining({ status: 400, param: 'labels' }));
  });

  it('answers with the label as the caller spelled it, whatever the case or spaces of the answer', () => {
    expect(matchLabel(LabelListSchema.parse(labels), { label: ' bug REPORT ', confidence: 0.8 })).toEqual({ ok: true, value: { label: 'Bug report', confidence: 0.8 } });
    expect(matchLabel(LabelListSchema.parse(labels), { label: 'refund', confidence: 0.8 })).toEqual({
      ok: false,
      problem: 'has a label that is not in the list: label must be one of "billing", "Bug report", "other" (got "refund")',
    });
  });
});

describe('classifyText', () => {
  it('returns one label with its confidence', async () => {
    const sy = new FakeSwitchyard(['{"label":"BILLING","confidence":0.92}']);
    const result = await classifyText(sy, { text: 'I was charged twice', labels });
    expect(result).toMatchObject({ data: { label: 'billing', confidence: 0.92 }, repaired: false });
    expect(sy.requests[0]).toMatchObject({ model: 'auto', temperature: 0 });
  });

  it('repairs a label that is not in the list, and a confidence outside 0..1', async () => {
    const sy = new FakeSwitchyard(['{"label":"refund","confidence":0.6}', '{"label":"billing","confidence":0.6}']);
    await expect(classifyText(sy, { text: 'Refund please', labels })).resolves.toMatchObject({ data: { label: 'billing' }, repaired: true });
    expect(sy.requests[1]?.messages.at(-1)?.content).toMatch(/label must be one of "billing", "Bug report", "other" \(got "refund"\)/);

    const sure = new FakeSwitchyard(['{"label":"other","confidence":7}', '{"label":"other","confidence":0.7}']);
    await expect(classifyText(sure, { text: 'Hm', labels })).resolves.toMatchObject({ data: { label: 'other', confidence: 0.7 }, repaired: true });
    expect(sure.requests[1]?.messages.at(-1)?.content).toMatch(/confidence must be <= 1/);
  });

  it('rejects a label outside the list that survives the repair', async () => {
    const sy = new FakeSwitchyard(['{"label":"refund","confidence":0.6}', '{"label":"refunds","confidence":0.6}']);
    const err = await classifyText(sy, { text: 'Refund please', labels }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StructuredOutputError);
    expect(err).toMatchObject({ status: 502, code: 'invalid_model_output', repair: 'failed' });
    expect((err as Error).message).toContain('(got "refunds")');
  });
});
