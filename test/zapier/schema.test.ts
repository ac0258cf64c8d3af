/** The app definition, checked by Zapier's own schema validator and by the conventions users rely on. */
import { compileApp, serializeApp } from 'zapier-platform-core/src/tools/schema';
import { validateAppDefinition } from 'zapier-platform-schema';
import App from '../../connectors/zapier/src/index';
import { authentication } from '../../connectors/zapier/src/authentication';

type Field = { key: string; label?: string; helpText?: string };
type Operation = { inputFields?: unknown[]; outputFields?: unknown[]; sample?: Record<string, unknown> };
type Action = { key: string; noun: string; display: { label: string; description: string; hidden?: boolean }; operation: Operation };

function validate(app: unknown): string[] {
  return validateAppDefinition(serializeApp(compileApp(app))).errors.map((e) => `${e.property}: ${e.message}`);
}

const staticFields = (list: unknown[] | undefined): Field[] => (list ?? []).filter((f): f is Field => typeof f === 'object' && f !== null);
const actions = [...Object.values(App.creates), ...Object.values(App.triggers)] as unknown as Action[];

describe('Zapier app definition', () => {
  test("passes zapier-platform-schema's validator", () => {
    expect(validate(App)).toEqual([]);
  });

  test.each([
    ['a noun that is not a string', (app: typeof App) => ({ ...app, creates: { ...app.creates, generate_text: { ...app.creates.generate_text, noun: 42 } } }), /noun/],
    ['an input field without a key', (app: typeof App) => ({ ...app, creates: { ...app.creates, summarize: { ...app.creates.summarize, operation: { ...app.creates.summarize.operation, inputFields: [{ label: 'No key' }] } } } }), /inputFields/],
    ['an unknown authentication type', (app: typeof App) => ({ ...app, authentication: { ...authentication, type: 'magic' } }), /authentication/],
  ])('a malformed definition (%s) fails the same validator', (_name, breakIt, expected) => {
    expect(validate(breakIt(App)).join('\n')).toMatch(expected);
  });

  test('every action has a noun, a label and a description', () => {
    for (const action of actions) {
      expect(action.noun).toBeTruthy();
      expect(action.display.label).toBeTruthy();
      expect(action.display.description.length).toBeGreaterThan(20);
    }
  });

  test('every input field, connection fields included, has helpText and a label', () => {
    const fields = [...staticFields(authentication.fields), ...actions.flatMap((a) => staticFields(a.operation.inputFields))];
    expect(fields.length).toBeGreaterThan(20);
    for (const field of fields) {
      expect({ key: field.key, helpText: field.helpText && field.helpText.length > 10, label: Boolean(field.label) }).toEqual({ key: field.key, helpText: true, label: true });
    }
  });

  test('every output field has a label, and every action a sample with its static outputs', () => {
    for (const action of actions) {
      const outputs = staticFields(action.operation.outputFields);
      expect(outputs.length).toBeGreaterThan(0);
      for (const field of outputs) expect({ action: action.key, key: field.key, label: Boolean(field.label) }).toEqual({ action: action.key, key: field.key, label: true });
      expect(Object.keys(action.operation.sample ?? {}).sort()).toEqual(expect.arrayContaining(outputs.map((f) => f.key).sort()));
    }
  });

  test('every create reports the answer and model, provider, cost_usd, latency_ms, attempts and why that model', () => {
    for (const create of Object.values(App.creates) as unknown as Action[]) {
      const fields = staticFields(create.operation.outputFields);
      expect(fields.map((f) => f.key)).toEqual(expect.arrayContaining(['model', 'provider', 'cost_usd', 'latency_ms', 'attempts', 'why_this_model']));
      expect(fields.find((f) => f.key === 'why_this_model')?.label).toBe('Why This Model');
      expect(String(create.operation.sample?.why_this_model)).toMatch(/anthropic\/claude-haiku-4-5/);
    }
  });

  test('the model dropdowns are fed by the hidden models trigger', () => {
    expect(App.triggers.models.display.hidden).toBe(true);
    const model = staticFields(App.creates.generate_text.operation.inputFields).find((f) => f.key === 'model') as Field & { dynamic?: string };
    expect(model.dynamic).toBe('models.id.name');
  });
});
