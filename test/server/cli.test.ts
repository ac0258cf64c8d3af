import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream, type MockUpstream } from '../../src/bench/mock-upstream';
import { buildProgram } from '../../src/cli/main';
import { closeUpstreamPools } from '../../src/core/http';

const SECRET = 'sk-test-doctor-secret-424242';

describe('switchyard CLI', () => {
  let dir: string;
  let upstream: MockUpstream;
  let out: string[];
  let err: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
    upstream = await startMockUpstream();
    out = [];
    err = [];
    process.exitCode = undefined;
  });
  afterEach(async () => {
    process.exitCode = undefined;
    await upstream.close();
    await closeUpstreamPools();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(args: string[], env: Record<string, string> = {}): Promise<string> {
    const program = buildProgram({ out: (l) => out.push(l), err: (l) => err.push(l), env, cwd: dir }).exitOverride();
    await program.parseAsync(['node', 'switchyard', ...args]);
    return out.join('\n');
  }

  function writeConfig(): string {
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(
      file,
      [
        'server:',
        `  store_path: ${join(dir, 'store.sqlite')}`,
        'providers:',
        '  demo:',
        '    type: demo',
        'routing:',
        '  rules:',
        '    - name: analysis-to-pro',
        '      when: { prompt_matches: "analy[sz]e" }',
        '      use: [demo/pro]',
      ].join('\n'),
    );
    return file;
  }

  it('route --explain prints the chosen model, the ranked candidates with scores and why', async () => {
    writeConfig();
    const text = await run(['route', '--explain', 'Write a short greeting', '--prefer', 'cost']);
    expect(text).toContain('Providers: demo');
    expect(text).toMatch(/Request: model "auto", prefer cost, about \d+ prompt tokens/);
    expect(text).toMatch(/Chosen: {2}demo\/mini \(provider demo\)/);
    expect(text).toMatch(/Why: {5}\S/);
    const rows = text.split('\n').filter((l) => /^\s+\d\s+demo\//.test(l));
    expect(rows.map((r) => r.trim().split(/\s+/)[1])).toEqual(['demo/mini', 'demo/standard', 'demo/pro']);
    expect(rows[0]).toMatch(/\d\.\d{3}\s+\$[\d.]+\s+\d/);
  });

  it('route shows the rule that fired, exclusions with reasons, and JSON on request', async () => {
    writeConfig();
    const text = await run(['route', '--explain', 'Please analyse these numbers']);
    expect(text).toContain('Rule:    analysis-to-pro');
    expect(text).toMatch(/Chosen: {2}demo\/pro/);
    out.length = 0;
    const vision = await run(['route', 'Describe this picture', '--require', 'vision']);
    expect(vision).toMatch(/Excluded:\n\s+demo\/mini\s+no support for vision/);
    expect(vision).toMatch(/Chosen: {2}demo\/standard/);
    out.length = 0;
    const json = JSON.parse(await run(['route', 'hello', '--json']));
    expect(json.candidates[0].key).toBe('demo/mini');
    await run(['route', '--explain', 'x', '--prefer', 'cheapest']);
    expect(err.join('\n')).toMatch(/--prefer: must be one of cost, latency, quality, balanced/);
    expect(process.exitCode).toBe(1);
  });

  it('route exits 1 with the reason when no model can take the request', async () => {
    writeConfig();
    const text = await run(['route', '--explain', 'hi', '--model', 'nope/x']);
    expect(text).toContain('Chosen:  nothing');
    expect(process.exitCode).toBe(1);
    expect(err.join('\n')).toMatch(/^switchyard: no model can take this request: .*nope\/x: /);
  });

  it('route scales the demo models\' latency estimates by server.demo.latency_scale; a configured prior wins', async () => {
    const plan = async (scale: number, models: string[] = []) => {
      const file = join(dir, `scale-${scale}.yaml`);
      writeFileSync(file, ['server:', `  demo: { latency_scale: ${scale} }`, 'providers:', '  demo:', '    type: demo', ...models].join('\n'));
      out.length = 0;
      const json = JSON.parse(await run(['route', 'hello', '--json', '--config', file])) as { candidates: Array<{ key: string; expectedLatencyMs: number }> };
      return new Map(json.candidates.map((c) => [c.key, c.expectedLatencyMs]));
    };
    const real = await plan(1);
    const fast = await plan(0.01, ['models:', '  - { key: demo/pro, latency_prior: { ttft_ms: 7, tokens_per_second: 1000 } }']);
    // Estimates are whole milliseconds.
    const near = (a: number | undefined, b: number) => expect(Math.abs(a! - b)).toBeLessThanOrEqual(1);
    near(fast.get('demo/mini'), real.get('demo/mini')! * 0.01);
    near(fast.get('demo/standard'), real.get('demo/standard')! * 0.01);
    const outputTokens = ((real.get('demo/pro')! - 900) / 1000) * 50;
    near(fast.get('demo/pro'), 7 + outputTokens);
    expect((await plan(0)).get('demo/mini')).toBeLessThanOrEqual(2);
  });

  it('doctor reports config, which keys are present (never their values) and reachability', async () => {
    writeFileSync(
      join(dir, 'switchyard.yaml'),
      [
        'server:',
        `  store_path: ${join(dir, 'store.sqlite')}`,
        'providers:',
        '  demo: { type: demo }',
        '  up: { type: openai-compatible, base_url: "${UP_URL}/v1", api_key: "${UP_KEY}" }',
        '  down: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }',
      ].join('\n'),
    );
    const text = await run(['doctor', '--timeout', '2000'], { UP_URL: upstream.url, UP_KEY: SECRET, GROQ_API_KEY: 'gsk_secretvalue123456' });
    expect(text).toMatch(/^config: ok \(.*switchyard\.yaml\)/m);
    expect(text).toMatch(/GROQ_API_KEY\s+set/);
    expect(text).toMatch(/OPENAI_API_KEY\s+not set/);
    expect(text).toMatch(/providers\.up\s+key set in the configuration/);
    expect(text).toMatch(/^\s+up\s+ok\s+1 model\(s\) listed/m);
    expect(text).toMatch(/^\s+demo\s+ok\s+3 model\(s\) listed/m);
    expect(text).toMatch(/^\s+down\s+FAIL\s+\S/m);
    expect(text).toMatch(/^store: .*store\.sqlite: not created yet/m);
    expect(existsSync(join(dir, 'store.sqlite'))).toBe(false);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('gsk_secretvalue123456');
    expect(process.exitCode).toBe(1);
  });

  it('doctor counts the active keys of an existing store', async () => {
    writeConfig();
    await run(['keys', 'create', '--name', 'ci']);
    out.length = 0;
    const text = await run(['doctor']);
    expect(text).toMatch(/^store: .*store\.sqlite: 1 active gateway key\(s\)$/m);
    expect(process.exitCode).toBeUndefined();
  });

  it('doctor lists every problem of an invalid configuration', async () => {
    writeFileSync(join(dir, 'switchyard.yaml'), 'server:\n  port: nope\nproviders:\n  x: { type: nope }\n');
    const text = await run(['doctor']);
    expect(text).toMatch(/config: INVALID/);
    expect(text).toMatch(/server\.port: /);
    expect(text).toMatch(/providers\.x\.type: /);
    expect(process.exitCode).toBe(1);
  });

  it('mounts the keys and usage commands', async () => {
    writeConfig();
    await run(['keys', 'create', '--name', 'ci']);
    expect(out.join('\n')).toMatch(/sk-sy-/);
    out.length = 0;
    await run(['keys', 'list']);
    expect(out.join('\n')).toContain('ci');
    out.length = 0;
    await run(['usage']);
    expect(out.join('\n')).toMatch(/No usage recorded/);
  });
});
