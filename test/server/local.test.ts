import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallContext } from '../../src/core/adapter';
import { ProviderError } from '../../src/core/errors';
import type { ChatRequest } from '../../src/core/schema';
import { LOCAL_PACKAGE_MISSING, LocalAdapter, localModelId, toHistory, type NodeLlamaCppModule } from '../../src/providers/local';
import { ADAPTER_FACTORIES } from '../../src/providers/registry';
import { collect } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIResponse } from '../helpers/openai-schema';

const ctx: CallContext = { credentials: { baseUrl: 'http://in-process.invalid' } };
const hello: ChatRequest = { model: 'tiny', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] };

/**
 * node-llama-cpp's API as the adapter uses it, answering from a script: the adapter's mapping is
 * tested without model weights (none ship with the project).
 */
function fakeModule(script: { text?: string[]; functionCall?: { functionName: string; params: unknown }; fail?: Error }) {
  const seen: { history?: unknown; options?: Record<string, unknown>; loads: number } = { loads: 0 };
  const meter = { usedInputTokens: 0, usedOutputTokens: 0 };
  const sequence = { tokenMeter: meter, clearHistory: async () => undefined };
  const mod: NodeLlamaCppModule = {
    async getLlama() {
      return {
        async loadModel() {
          seen.loads += 1;
          return { async createContext() { return { getSequence: () => sequence, dispose: async () => undefined }; }, dispose: async () => undefined };
        },
        async createGrammarForJsonSchema(schema: unknown) {
          return { schema } as never;
        },
        async getGrammarFor() {
          return { json: true } as never;
        },
        dispose: async () => undefined,
      };
    },
    LlamaChat: class {
      async generateResponse(history: unknown, options: Record<string, unknown> & { onTextChunk?: (s: string) => void }) {
        seen.history = history;
        seen.options = options;
        if (script.fail) throw script.fail;
        for (const t of script.text ?? []) options.onTextChunk?.(t);
        meter.usedInputTokens += 11;
        meter.usedOutputTokens += (script.text ?? []).length;
        return {
          response: (script.text ?? []).join(''),
          functionCalls: script.functionCall ? [script.functionCall] : undefined,
          metadata: { stopReason: script.functionCall ? 'functionCalls' : 'eogToken' },
        };
      }
      dispose() {}
    } as unknown as NodeLlamaCppModule['LlamaChat'],
  };
  return { mod, seen };
}

describe('local provider (node-llama-cpp)', () => {
  let dir: string;
  let model: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-local-'));
    model = join(dir, 'tiny.gguf');
    writeFileSync(model, 'GGUF');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is registered as provider type local and serves the file name as model id', () => {
    expect(ADAPTER_FACTORIES.local!('local', { type: 'local', enabled: true, model_path: model })).toBeInstanceOf(LocalAdapter);
    expect(localModelId('/models/Qwen2.5-0.5B-Q4.gguf')).toBe('Qwen2.5-0.5B-Q4');
  });

  it('fails clearly when the model file is missing or model_path is not set', async () => {
    const a = new LocalAdapter({ modelPath: join(dir, 'absent.gguf'), load: async () => fakeModule({}).mod });
    await expect(a.complete(hello, ctx)).rejects.toThrow(/model file not found: .*absent\.gguf/);
    await expect(new LocalAdapter({ modelPath: '' }).complete(hello, ctx)).rejects.toThrow(/set model_path/);
    await expect(a.listModels()).rejects.toBeInstanceOf(ProviderError);
  });

  it('tells the user to install node-llama-cpp when the package cannot be loaded, and is not retried', async () => {
    const a = new LocalAdapter({
      modelPath: model,
      load: async () => {
        throw Object.assign(new Error("Cannot find module 'node-llama-cpp'"), { code: 'ERR_MODULE_NOT_FOUND' });
      },
    });
    const err = (await a.complete(hello, ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(LOCAL_PACKAGE_MISSING);
    expect(err.retryable).toBe(false);
    await expect(collect(a.stream(hello, ctx))).rejects.toThrow(LOCAL_PACKAGE_MISSING);
  });

  it('maps OpenAI messages to chat history, tool results attached to their calls', () => {
    const history = toHistory([
      { role: 'system', content: 'sys' },
      { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"temp":21}' },
      { role: 'user', content: 'thanks' },
    ]);
    expect(history).toEqual([
      { type: 'system', text: 'sys' },
      { type: 'user', text: 'weather?' },
      { type: 'model', response: [{ type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: { temp: 21 } }] },
      { type: 'user', text: 'thanks' },
      { type: 'model', response: [] },
    ]);
  });

  it('flattens multi-part content to its text, images left out and parts joined without a separator', () => {
    const history = toHistory([
      { role: 'developer', content: [{ type: 'text', text: 'Be ' }, { type: 'text', text: 'brief.' }] },
      { role: 'user', content: [{ type: 'text', text: 'What is ' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'text', text: 'this?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'A ' }, { type: 'text', text: 'cat.' }] },
    ]);
    expect(history).toEqual([
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'What is this?' },
      { type: 'model', response: ['A cat.'] },
      { type: 'model', response: [] },
    ]);
  });

  it('answers, streams and reports token usage through the library API', async () => {
    const { mod, seen } = fakeModule({ text: ['Hel', 'lo', '!'] });
    const a = new LocalAdapter({ modelPath: model, load: async () => mod });
    const res = await a.complete({ ...hello, max_tokens: 20, temperature: 0.2 }, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.message.content).toBe('Hello!');
    expect(res.usage).toEqual({ prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 });
    expect(seen.options).toMatchObject({ maxTokens: 20, temperature: 0.2 });
    const chunks = await collect(a.stream(hello, ctx));
    chunks.forEach((c) => assertOpenAIChunk(c));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello!');
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 });
    expect(seen.loads).toBe(1);
  });

  it('turns tools into functions and function calls into tool_calls; json_schema into a grammar', async () => {
    const { mod, seen } = fakeModule({ functionCall: { functionName: 'get_weather', params: { city: 'Paris' } } });
    const a = new LocalAdapter({ modelPath: model, load: async () => mod });
    const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const res = await a.complete({ ...hello, tools }, ctx);
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    expect(res.choices[0]!.message.tool_calls![0]!.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(seen.options!.functions).toEqual({ get_weather: { description: 'weather', params: { type: 'object', properties: { city: { type: 'string' } } } } });
    await a.complete({ ...hello, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } }, ctx);
    expect(seen.options!.grammar).toEqual({ schema: { type: 'object' } });
  });

  it('says why node-llama-cpp failed to load when it is installed but broken', async () => {
    const a = new LocalAdapter({
      modelPath: model,
      load: async () => {
        throw new Error('libllama.so: cannot open shared object file');
      },
    });
    await expect(a.complete(hello, ctx)).rejects.toThrow('node-llama-cpp failed to load: libllama.so: cannot open shared object file');
  });

  it('reports generation failures as provider errors', async () => {
    const a = new LocalAdapter({ modelPath: model, load: async () => fakeModule({ fail: new Error('context overflow') }).mod });
    await expect(a.complete(hello, ctx)).rejects.toMatchObject({ kind: 'bad_request', message: 'local model: context overflow' });
  });
});
