import { providersFromEnv, resolveProviders } from '../../src/providers/registry';

describe('providers from the environment', () => {
  it.each([
    ['OPENAI_API_KEY', 'openai', 'https://api.openai.com/v1'],
    ['ANTHROPIC_API_KEY', 'anthropic', 'https://api.anthropic.com'],
    ['GEMINI_API_KEY', 'gemini', 'https://generativelanguage.googleapis.com'],
    ['GOOGLE_API_KEY', 'gemini', 'https://generativelanguage.googleapis.com'],
    ['DEEPSEEK_API_KEY', 'deepseek', 'https://api.deepseek.com/v1'],
    ['MISTRAL_API_KEY', 'mistral', 'https://api.mistral.ai/v1'],
    ['GROQ_API_KEY', 'groq', 'https://api.groq.com/openai/v1'],
    ['TOGETHER_API_KEY', 'together', 'https://api.together.xyz/v1'],
    ['OPENROUTER_API_KEY', 'openrouter', 'https://openrouter.ai/api/v1'],
  ])('%s switches on %s at its default URL', (variable, name, baseUrl) => {
    const [runtime, ...rest] = resolveProviders({ providers: {} }, { [variable]: 'key-123' });
    expect(rest).toHaveLength(0);
    expect(runtime).toMatchObject({ name, credentials: { apiKey: 'key-123', baseUrl } });
    expect(runtime!.adapter.name).toBe(name);
  });

  it.each([
    ['OPENAI', 'openai'],
    ['ANTHROPIC', 'anthropic'],
    ['GEMINI', 'gemini'],
    ['DEEPSEEK', 'deepseek'],
    ['MISTRAL', 'mistral'],
    ['GROQ', 'groq'],
    ['TOGETHER', 'together'],
    ['OPENROUTER', 'openrouter'],
  ])('%s_BASE_URL overrides where %s lives', (prefix, name) => {
    const keyVar = `${prefix}_API_KEY`;
    const [runtime] = resolveProviders({ providers: {} }, { [keyVar]: 'k', [`${prefix}_BASE_URL`]: 'http://127.0.0.1:9999/x' });
    expect(runtime).toMatchObject({ name, credentials: { baseUrl: 'http://127.0.0.1:9999/x' } });
  });

  it.each([
    ['http://localhost:11434', 'http://localhost:11434/v1'],
    ['http://localhost:11434/', 'http://localhost:11434/v1'],
    ['http://gpu-box:11434/v1', 'http://gpu-box:11434/v1'],
  ])('OLLAMA_BASE_URL=%s (no key needed) serves the OpenAI API at %s', (url, expected) => {
    const [runtime] = resolveProviders({ providers: {} }, { OLLAMA_BASE_URL: url });
    expect(runtime).toMatchObject({ name: 'ollama', credentials: { apiKey: undefined, baseUrl: expected } });
  });

  it('fills a configured provider from the env and lets config win', () => {
    const runtimes = resolveProviders(
      { providers: { ollama: { type: 'openai-compatible', preset: 'ollama', enabled: true }, work: { type: 'openai', api_key: 'cfg-key', enabled: true } } },
      { OLLAMA_BASE_URL: 'http://127.0.0.1:11434', OPENAI_API_KEY: 'env-key' },
    );
    expect(runtimes.find((r) => r.name === 'ollama')?.credentials.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(runtimes.find((r) => r.name === 'work')?.credentials).toMatchObject({ apiKey: 'cfg-key', baseUrl: 'https://api.openai.com/v1' });
    expect(runtimes.find((r) => r.name === 'openai')?.credentials.apiKey).toBe('env-key');
  });

  it('enables nothing without keys', () => {
    expect(providersFromEnv({})).toEqual({});
    expect(resolveProviders({ providers: {} }, {})).toEqual([]);
  });

  it('skips disabled providers and names the fix for a missing URL', () => {
    expect(resolveProviders({ providers: { openai: { type: 'openai', enabled: false } } }, { OPENAI_API_KEY: 'k' })).toEqual([]);
    expect(() => resolveProviders({ providers: { mine: { type: 'openai-compatible', enabled: true } } }, {})).toThrow(/set base_url \(or MINE_BASE_URL\)/);
  });
});
