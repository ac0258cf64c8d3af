import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, interpolateEnv, loadServerConfig, parseServerConfig } from '../../src/server/config';

describe('server configuration', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sy-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('runs on defaults with no file: port 8787, host decided at start, demo options', () => {
    const { config, file } = loadServerConfig({ env: {}, cwd: dir });
    expect(file).toBeUndefined();
    expect(config.server).toMatchObject({ port: 8787, body_limit: '4mb', log_prompts: false, log_level: 'info', demo: { failure_rate: 0.08, latency_scale: 0.25 } });
    expect(config.server.host).toBeUndefined();
    expect(config.providers).toEqual({});
    expect(config.routing.default_prefer).toBe('balanced');
  });

  it('finds switchyard.yaml in the working directory, and --config / SWITCHYARD_CONFIG elsewhere', () => {
    write('switchyard.yaml', 'server:\n  port: 9001\n');
    expect(loadServerConfig({ env: {}, cwd: dir }).config.server.port).toBe(9001);
    const other = write('other.json', JSON.stringify({ server: { port: 9002 } }));
    expect(loadServerConfig({ env: { SWITCHYARD_CONFIG: other }, cwd: dir }).config.server.port).toBe(9002);
    expect(loadServerConfig({ file: other, env: {}, cwd: dir }).config.server.port).toBe(9002);
  });

  it('lets --port beat PORT beat the file, and HOST / --host set the interface', () => {
    const file = write('s.yaml', 'server:\n  port: 9001\n  host: 127.0.0.1\n');
    expect(loadServerConfig({ file, env: { PORT: '9100' } }).config.server.port).toBe(9100);
    expect(loadServerConfig({ file, env: { PORT: '9100' }, port: 9200 }).config.server.port).toBe(9200);
    expect(loadServerConfig({ file, env: { HOST: '0.0.0.0' } }).config.server.host).toBe('0.0.0.0');
    expect(() => loadServerConfig({ file, env: { PORT: 'eighty' } })).toThrow(/not a port number/);
    expect(loadServerConfig({ file, env: {}, port: '9300' }).config.server.port).toBe(9300);
    expect(() => loadServerConfig({ file, env: {}, port: '70000' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/--port.*'70000' is not a port number/s) }));
  });

  it('lists every problem of an invalid file as path: message', () => {
    const file = write(
      'bad.yaml',
      [
        'server:',
        '  port: 99999',
        '  body_limit: lots',
        '  colour: blue',
        'providers:',
        '  openai:',
        '    type: openia',
        '    base_url: not a url',
        'routing:',
        '  default_prefer: cheapest',
        '  rules:',
        '    - when: { prompt_matches: 42 }',
      ].join('\n'),
    );
    let error: ConfigError | undefined;
    try {
      loadServerConfig({ file, env: {} });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = error!.problems.join('\n');
    expect(problems).toMatch(/^server\.port: /m);
    expect(problems).toMatch(/^server\.body_limit: /m);
    expect(problems).toMatch(/^server: .*colour/m);
    expect(problems).toMatch(/^providers\.openai\.type: /m);
    expect(problems).toMatch(/^providers\.openai\.base_url: /m);
    expect(problems).toMatch(/^routing\.default_prefer: /m);
    expect(problems).toMatch(/^routing\.rules\[0\]\.when\.prompt_matches: /m);
    expect(error!.problems.length).toBeGreaterThanOrEqual(7);
    expect(error!.message).toContain(file);
  });

  it('accepts the shipped switchyard.example.yaml', () => {
    const { config } = loadServerConfig({ file: join(__dirname, '..', '..', 'src', 'server', 'examples', 'switchyard.example.yaml'), env: {} });
    expect(config.providers.demo).toMatchObject({ type: 'demo' });
    expect(config.routing.rules.map((r) => r.name)).toEqual(['analysis-to-pro', 'creative-by-quality']);
    expect(config.server.port).toBe(8787);
  });

  it('reports unreadable YAML and JSON with where it broke', () => {
    const yaml = write('broken.yaml', 'server:\n  port: 8787\n  host: "127.0.0.1\nrouting: {}\n');
    expect(() => loadServerConfig({ file: yaml, env: {} })).toThrow(/invalid YAML at line 5: Missing closing "quote/);
    const json = write('broken.json', '{"server": ');
    expect(() => loadServerConfig({ file: json, env: {} })).toThrow(/invalid JSON/);
    expect(() => loadServerConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(/not found/);
  });

  it('reports a typo inside a model override instead of ignoring it', () => {
    const raw = { models: [{ key: 'demo/mini', pricng: { input: 3 }, pricing: { input: 1, output: 2, cahced_input: 0.5 } }] };
    let message = '';
    try {
      parseServerConfig(raw, {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/models\[0\].*pricng/);
    expect(message).toMatch(/models\[0\]\.pricing.*cahced_input/);
  });

  it('interpolates ${VAR} and ${VAR:-default}; a missing variable is a listed problem', () => {
    const config = parseServerConfig(
      { providers: { openai: { type: 'openai', api_key: '${OPENAI_KEY}', base_url: '${BASE:-https://api.openai.com/v1}' } }, server: { admin_key: 'prefix-$${LITERAL}-0123456789' } },
      { OPENAI_KEY: 'sk-test-123' },
    );
    expect(config.providers.openai).toMatchObject({ api_key: 'sk-test-123', base_url: 'https://api.openai.com/v1' });
    expect(config.server.admin_key).toBe('prefix-${LITERAL}-0123456789');

    const problems: string[] = [];
    interpolateEnv({ providers: { groq: { api_key: '${GROQ_KEY}' } }, list: ['${A}', 'ok'] }, {}, problems);
    expect(problems).toEqual(['providers.groq.api_key: environment variable GROQ_KEY is not set', 'list[0]: environment variable A is not set']);
    expect(() => parseServerConfig({ providers: { groq: { type: 'openai-compatible', api_key: '${GROQ_KEY}' } } }, {})).toThrow(
      /providers\.groq\.api_key: environment variable GROQ_KEY is not set/,
    );
  });
});
