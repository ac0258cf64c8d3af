import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadServerConfig, parseServerConfig, type LoadConfigOptions } from '../../src/server/config';
import { createLogger } from '../../src/server/log';
import { startServer } from '../../src/server/server';
import { buildSwitchyard } from '../../src/server/switchyard-factory';

/** What `switchyard serve` / `route` would list for a configuration: every problem, or [] when it is valid. */
function problemsOf(raw: unknown, env: Record<string, string | undefined> = {}): string[] {
  try {
    parseServerConfig(raw, env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

function loadError(opts: LoadConfigOptions): ConfigError {
  try {
    loadServerConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('the configuration loaded without a problem');
}

const demo = { providers: { demo: { type: 'demo' } } };

describe('configuration validation', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sy-config-validation-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  describe('routing rules', () => {
    it('lists every invalid prompt_matches regex with the schema problems, under the file path', () => {
      const file = write(
        'switchyard.yaml',
        [
          'providers:',
          '  demo: { type: demo }',
          'server:',
          '  port: 99999',
          'routing:',
          '  rules:',
          '    - when: { prompt_matches: "(unclosed" }',
          '      use: [demo/prro]',
          '    - when: { prompt_matches: "fine|ok" }',
          '    - when: { prompt_matches: "[z-a]" }',
        ].join('\n'),
      );
      const error = loadError({ file, env: {} });
      expect(error.source).toBe(file);
      expect(error.message).toContain(`invalid configuration (${file})`);
      expect(error.problems).toEqual([
        expect.stringMatching(/^routing\.rules\[0\]\.when\.prompt_matches: Invalid regular expression: .*Unterminated group/),
        expect.stringMatching(/^routing\.rules\[2\]\.when\.prompt_matches: Invalid regular expression: .*out of order/),
        expect.stringMatching(/^server\.port: /),
        "routing.rules[0].use[0]: unknown model 'demo/prro' (did you mean 'demo/pro'?)",
      ]);
    });

    it('rejects a rule naming a model the catalog does not know, with the close names', () => {
      const problems = problemsOf({ ...demo, routing: { rules: [{ when: {}, use: ['demo/standard', 'demo/prro'] }, { when: { tag: 'x' }, use: ['auto:fastest'] }] } });
      expect(problems).toEqual([
        "routing.rules[0].use[1]: unknown model 'demo/prro' (did you mean 'demo/pro'?)",
        "routing.rules[1].use[0]: unknown model 'auto:fastest': use auto, auto:cost, auto:latency, auto:quality or auto:balanced",
      ]);
    });

    it('checks names in the same pass as the rest of the file', () => {
      const problems = problemsOf({ ...demo, server: { port: 'x' }, routing: { rules: [{ when: {}, use: ['demo/prro'] }] } });
      expect(problems).toEqual([expect.stringMatching(/^server\.port: /), expect.stringMatching(/^routing\.rules\[0\]\.use\[0\]: unknown model 'demo\/prro'/)]);
    });

    it('accepts every name the catalog resolves, even of providers without a key', () => {
      const config = {
        providers: { demo: { type: 'demo' }, 'my-openai': { type: 'openai', api_key: 'sk-test-1' } },
        models: [{ key: 'demo/house', aliases: ['house-model'] }],
        routing: {
          rules: [
            {
              when: {},
              use: [
                'anthropic/claude-haiku-4-5', // known, but no ANTHROPIC_API_KEY: unavailable, not a mistake
                'claude-haiku-4-5-20251001', // an alias
                'GPT-4o', // names resolve case-insensitively
                'my-openai/gpt-4.1-mini', // a configured provider of a known family
                'openai/gpt-4o-mini', // the family-qualified key stays an alias
                'demo/house', // a model config adds
                'house-model',
                'ollama/qwen3:8b', // Ollama's models are discovered at start
                'auto',
                'auto:cost',
              ],
            },
          ],
        },
      };
      expect(problemsOf(config)).toEqual([]);
    });

    it('checks the models webhook flows ask for', () => {
      const flow = { source: 'generic', generic: { bearer_token: 'bearer-token-0123456789abcdef' }, prompt: '{{body.text}}', action: { type: 'respond' } };
      const flows = {
        ok: { ...flow, model: 'demo/mini', routing: { fallback_models: ['auto:cost'] } },
        typos: { ...flow, model: 'demo/mnii', models: ['demo/pro', 'gtp-4o'], routing: { fallback_models: ['demo/standrd'] } },
      };
      expect(problemsOf({ ...demo, flows })).toEqual([
        "flows.typos.model: unknown model 'demo/mnii' (did you mean 'demo/mini'?)",
        "flows.typos.models[1]: unknown model 'gtp-4o' (did you mean 'gpt-4o'?)",
        "flows.typos.routing.fallback_models[0]: unknown model 'demo/standrd' (did you mean 'demo/standard'?)",
      ]);
    });

    it('keeps rules strict', () => {
      expect(problemsOf({ routing: { rules: [{ when: { prompt: 'x' } }] } })).toEqual([expect.stringMatching(/^routing\.rules\[0\]\.when: Unrecognized key: "prompt"/)]);
    });

    it('lets bare names through only when an Ollama may serve them', () => {
      const rule = { routing: { rules: [{ when: {}, use: ['qwen3:8b'] }] } };
      expect(problemsOf({ ...demo, ...rule })).toEqual(["routing.rules[0].use[0]: unknown model 'qwen3:8b'"]);
      expect(problemsOf({ ...demo, ...rule }, { OLLAMA_BASE_URL: 'http://127.0.0.1:11434' })).toEqual([]);
      // No provider at all: the gateway probes a local Ollama at start.
      expect(problemsOf(rule)).toEqual([]);
    });
  });

  describe('models', () => {
    it('rejects a model whose provider nothing configures or knows', () => {
      const problems = problemsOf({ ...demo, models: [{ key: 'demo/foo', provider: 'nope' }, { key: 'demi/bar' }] }, { GROQ_API_KEY: 'gsk-test-1' });
      expect(problems).toEqual([
        "models[0].provider: unknown provider 'nope'; configured: demo, groq",
        "models[1].key: unknown provider 'demi' (did you mean 'demo'?); configured: demo, groq",
      ]);
      // A known family without a key is unavailable, not unknown.
      expect(problemsOf({ ...demo, models: [{ key: 'openai/gpt-9', provider: 'openai' }] })).toEqual([]);
    });

    it('wants provider/model keys', () => {
      expect(problemsOf({ ...demo, models: [{ key: 'foo' }, { key: 'demo/' }] })).toEqual(["models[0].key: 'foo' must look like provider/model", "models[1].key: 'demo/' must look like provider/model"]);
    });

    it('still lets a models: entry change a demo model (the demo latency priors are added after it)', async () => {
      const config = parseServerConfig({ ...demo, models: [{ key: 'demo/pro', quality: 99 }], server: { demo: { latency_scale: 0 } } }, {});
      const built = await buildSwitchyard(config, { env: {} });
      try {
        expect(built.switchyard.models().find((m) => m.key === 'demo/pro')).toMatchObject({ quality: 99, latency_prior: { ttft_ms: 1 } });
      } finally {
        await built.switchyard.close();
      }
    });

    it('rejects duplicate model keys instead of letting the last one win', () => {
      const problems = problemsOf({ ...demo, models: [{ key: 'demo/foo' }, { key: 'demo/bar' }, { key: 'demo/foo', quality: 90 }] });
      expect(problems).toEqual(['models[2].key: duplicate of models[0]']);
    });
  });

  describe('providers', () => {
    it('says which provider names are allowed', () => {
      expect(problemsOf({ providers: { OpenAI: { type: 'openai' } } })).toEqual(['providers.OpenAI: invalid provider name: use lowercase letters, digits, - or _ (starting with a letter or digit)']);
    });

    it('validates base URLs taken from the environment like base_url in the file', () => {
      expect(problemsOf({}, { OPENAI_API_KEY: 'sk-test-1', OPENAI_BASE_URL: 'not-a-url' })).toEqual(['OPENAI_BASE_URL: not a valid http(s) URL']);
      expect(problemsOf({ providers: { mine: { type: 'openai-compatible' } } }, { MINE_BASE_URL: 'ftp://example.com' })).toEqual(['MINE_BASE_URL: not a valid http(s) URL']);
      expect(problemsOf({ providers: { openai: { type: 'openai', base_url: 'ftp://example.com' } } })).toEqual(['providers.openai.base_url: not a valid http(s) URL']);
      expect(problemsOf({ providers: { mine: { type: 'openai-compatible' } } })).toEqual([
        'providers.mine.base_url: required for an OpenAI-compatible server that is no known preset (or set MINE_BASE_URL)',
      ]);
      // Unused (no key enables OpenAI, or the file's base_url wins): not looked at.
      expect(problemsOf({}, { OPENAI_BASE_URL: 'not-a-url' })).toEqual([]);
      expect(problemsOf({ providers: { openai: { type: 'openai', base_url: 'https://proxy.example.com/v1' } } }, { OPENAI_BASE_URL: 'not-a-url' })).toEqual([]);
      expect(problemsOf({}, { OPENAI_API_KEY: 'sk-test-1', OPENAI_BASE_URL: 'https://proxy.example.com/v1', OLLAMA_BASE_URL: 'http://127.0.0.1:11434' })).toEqual([]);
    });
  });

  describe('empty sections', () => {
    it('reads an empty nested section as its defaults, like an empty top-level one', () => {
      const file = write('switchyard.yaml', ['server:', '  demo:', 'routing:', '  circuit:', '  rules:', 'providers:', '  demo:', '    type: demo', '    limits:', 'webhooks:'].join('\n'));
      const { config } = loadServerConfig({ file, env: {} });
      expect(config.server.demo).toEqual({ failure_rate: 0.08, latency_scale: 0.25 });
      expect(config.routing.circuit.consecutive_failures).toBe(5);
      expect(config.routing.rules).toEqual([]);
      expect(config.providers.demo).toEqual({ type: 'demo', limits: {}, enabled: true });
    });

    it('still rejects an empty scalar field', () => {
      const file = write('switchyard.yaml', ['server:', '  port:', '  demo:', '    failure_rate:'].join('\n'));
      expect(loadError({ file, env: {} }).problems).toEqual([expect.stringMatching(/^server\.port: .*received null/), expect.stringMatching(/^server\.demo\.failure_rate: .*received null/)]);
    });
  });

  describe('files', () => {
    it('reports a directory given as the configuration file as path: message', () => {
      const error = loadError({ file: dir, env: {} });
      expect(error.source).toBe(dir);
      expect(error.problems).toEqual(['(file): is a directory, not a configuration file']);
    });

    it('refuses a reload when the discovered switchyard.yaml is gone, keeping the running configuration', async () => {
      write('switchyard.yaml', ['providers:', '  demo:', '    type: demo', 'routing:', '  default_prefer: quality'].join('\n'));
      const gateway = await startServer({ cwd: dir, port: 0, env: {}, storePath: ':memory:', logger: createLogger({ level: 'silent' }) });
      try {
        unlinkSync(join(dir, 'switchyard.yaml'));
        const result = await gateway.reload();
        expect(result).toEqual({ ok: false, problems: ['(file): not found'] });
        expect(gateway.config.routing.default_prefer).toBe('quality');
      } finally {
        await gateway.shutdown();
      }
    });

    it('still finds a switchyard.yaml created after a start on defaults', async () => {
      const noOllama = async () => {
        throw new Error('connection refused');
      };
      const gateway = await startServer({ cwd: dir, port: 0, env: {}, storePath: ':memory:', logger: createLogger({ level: 'silent' }), fetch: noOllama });
      try {
        expect(gateway.config.routing.default_prefer).toBe('balanced');
        write('switchyard.yaml', ['providers:', '  demo:', '    type: demo', 'routing:', '  default_prefer: quality'].join('\n'));
        expect(await gateway.reload()).toMatchObject({ ok: true });
        expect(gateway.config.routing.default_prefer).toBe('quality');
      } finally {
        await gateway.shutdown();
      }
    });
  });

  it('a reload that adds flows to a server started without any names them as served after a restart', async () => {
    const noOllama = async () => {
      throw new Error('connection refused');
    };
    const logs: string[] = [];
    const gateway = await startServer({ cwd: dir, port: 0, env: {}, storePath: ':memory:', logger: createLogger({ level: 'info', write: (l) => logs.push(l) }), fetch: noOllama });
    try {
      const flow = (name: string) => [`  ${name}:`, '    source: generic', '    generic:', '      bearer_token: test-token-0123456789abcdef', '    prompt: "Say hi to {{body.name}}"', '    action: { type: respond }'];
      write('switchyard.yaml', ['providers:', '  demo:', '    type: demo', 'flows:', ...flow('lead'), ...flow('support')].join('\n'));
      expect(await gateway.reload()).toMatchObject({ ok: true });
      const warning = logs.map((l) => JSON.parse(l) as { msg: string; flows?: string[] }).find((l) => l.msg.startsWith('webhook flows were added'));
      expect(warning?.flows).toEqual(['lead', 'support']);
    } finally {
      await gateway.shutdown();
    }
  });

  describe('listen overrides', () => {
    const file = () => write('s.yaml', 'server:\n  port: 9001\n');

    it.each(['0x2000', '1e3', ' 8833', '8833 ', '12.0', '-1', '+80', '65536'])('refuses %j as --port and as PORT', (text) => {
      expect(loadError({ file: file(), env: {}, port: text }).source).toBe('--port');
      expect(loadError({ file: file(), env: { PORT: text } }).source).toBe('PORT');
    });

    it('accepts plain decimal ports 0-65535', () => {
      expect(loadServerConfig({ file: file(), env: {}, port: '0' }).config.server.port).toBe(0);
      expect(loadServerConfig({ file: file(), env: { PORT: '65535' } }).config.server.port).toBe(65_535);
      expect(loadServerConfig({ file: file(), env: {}, port: 8080 }).config.server.port).toBe(8080);
    });

    it('refuses empty --port, PORT, --host and HOST instead of falling back to the defaults', () => {
      expect(loadError({ file: file(), env: {}, port: '' })).toMatchObject({ source: '--port', problems: ["server.port: '' is not a port number (0-65535)"] });
      expect(loadError({ file: file(), env: { PORT: '' } })).toMatchObject({ source: 'PORT', problems: ["server.port: '' is not a port number (0-65535)"] });
      expect(loadError({ file: file(), env: {}, host: '' })).toMatchObject({ source: '--host', problems: ['server.host: must not be empty'] });
      expect(loadError({ file: file(), env: { HOST: ' ' } })).toMatchObject({ source: 'HOST', problems: ['server.host: must not be empty'] });
    });
  });
});
