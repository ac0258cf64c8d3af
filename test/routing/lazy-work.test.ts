/**
 * Work the routing core skips on the hot path: loading gpt-tokenizer for catalogs without
 * OpenAI-family models, and validating a request the caller already validated.
 */
import { FakeAdapter, catalog, model, runtime } from './helpers/fakes';
import type { RoutedChatRequest } from '../../src/core/routing/types';

type TokensModule = typeof import('../../src/core/routing/tokens');
type SwitchyardModule = typeof import('../../src/core/routing/switchyard');

/** Fresh copies of the routing modules: the tokenizer is not loaded in them yet. */
function fresh(): { tokens: TokensModule; switchyard: SwitchyardModule } {
  let modules!: { tokens: TokensModule; switchyard: SwitchyardModule };
  jest.isolateModules(() => {
    modules = {
      tokens: jest.requireActual<TokensModule>('../../src/core/routing/tokens'),
      switchyard: jest.requireActual<SwitchyardModule>('../../src/core/routing/switchyard'),
    };
  });
  return modules;
}

const neverSleeps = { now: () => 0, sleep: () => new Promise<void>(() => undefined), timer: () => () => undefined };
const request: RoutedChatRequest = { model: 'auto', messages: [{ role: 'user', content: 'Say hello to the team' }] };

describe('gpt-tokenizer loading', () => {
  it('happens on the first OpenAI-family count, not for the character estimate', () => {
    const { tokens } = fresh();
    const estimate = tokens.estimateTokens(request);
    expect(estimate.generic).toBe(Math.ceil('Say hello to the team'.length / tokens.GENERIC_CHARS_PER_TOKEN) + tokens.GENERIC_TOKENS_PER_MESSAGE);
    expect(tokens.tokenizerLoaded()).toBe(false);
    expect(estimate.openai).toBe(5 + tokens.OPENAI_TOKENS_PER_MESSAGE + tokens.OPENAI_REPLY_PRIMING_TOKENS);
    expect(tokens.tokenizerLoaded()).toBe(true);
  });

  it('never happens in a switchyard whose catalog has no OpenAI-family model', async () => {
    const { tokens, switchyard } = fresh();
    const sy = switchyard.createSwitchyard({}, { runtimes: [runtime(new FakeAdapter('a', neverSleeps))], catalog: catalog(model('a/llama-3.3-70b')) });
    await sy.chat(request);
    expect(tokens.tokenizerLoaded()).toBe(false);
    await sy.close();
  });

  it('happens when the switchyard is created if its catalog has OpenAI-family models', async () => {
    const { tokens, switchyard } = fresh();
    const sy = switchyard.createSwitchyard({}, { runtimes: [runtime(new FakeAdapter('a', neverSleeps))], catalog: catalog(model('a/gpt-4.1-mini')) });
    expect(tokens.tokenizerLoaded()).toBe(true);
    await sy.close();
  });
});

describe('request validation', () => {
  it('takes a request from parseRoutedRequest as it is, and still validates any other', async () => {
    const { parseRoutedRequest } = jest.requireActual<typeof import('../../src/core/routing/validate')>('../../src/core/routing/validate');
    const { createSwitchyard } = jest.requireActual<SwitchyardModule>('../../src/core/routing/switchyard');
    const adapter = new FakeAdapter('a', neverSleeps);
    const sy = createSwitchyard({}, { runtimes: [runtime(adapter)], catalog: catalog(model('a/m')) });

    const validated = parseRoutedRequest({ model: 'a/m', messages: [{ role: 'user', content: 'Hi' }], temperature: 0.5 });
    await sy.chat(validated);
    expect(adapter.calls[0]?.req.temperature).toBe(0.5);

    await expect(sy.chat({ model: 'a/m', messages: [{ role: 'user', content: 'Hi' }], temperature: 7 })).rejects.toMatchObject({ status: 400, param: 'temperature' });
    // A copy is not the validated object: what the copy changed is checked.
    await expect(sy.chat({ ...validated, temperature: 7 })).rejects.toMatchObject({ status: 400, param: 'temperature' });
    expect(() => parseRoutedRequest({ model: 'a/m', messages: [] })).toThrow(expect.objectContaining({ status: 400, param: 'messages' }));
    await sy.close();
  });
});
