import { existsSync, readFileSync } from 'node:fs';
import { registerKeysCommands } from '../../src/cli/keys';
import { registerUsageCommand } from '../../src/cli/usage';
import { openStore } from '../../src/server/store';
import { runCli, type CliRun } from '../helpers/cli';
import { tempDir, usageRow } from '../server/helpers/store';

/** Runs `switchyard <args>` in-process against the store at `storePath`. */
function run(args: string[], storePath?: string | (() => string | undefined)): Promise<CliRun> {
  return runCli(args, (program, out) => {
    // As main.ts does: the usage follows a command-line mistake.
    program.showHelpAfterError();
    registerKeysCommands(program, { storePath, out });
    registerUsageCommand(program, { storePath, out });
  });
}

describe('switchyard keys', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(() => {
    tmp = tempDir();
    file = tmp.file();
  });
  afterEach(() => tmp.remove());

  it('creates a key, prints it once, and stores only its hash', async () => {
    const res = await run(['keys', 'create', '--name', 'ci', '--models', 'openai/*, gpt-4.1-mini', '--rpm', '60', '--daily-budget', '5', '--monthly-budget', '$50'], file);
    expect(res.error).toBeUndefined();
    const text = res.out.join('\n');
    const key = /sk-sy-[A-Za-z0-9_-]{43}/.exec(text)?.[0];
    expect(key).toBeDefined();
    expect(text.split(key!)).toHaveLength(2); // shown exactly once
    expect(text).toMatch(/shown only this once/);
    expect(text).toContain('models openai/*, gpt-4.1-mini; rpm 60; daily budget $5.00; monthly budget $50.00');

    const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((p) => readFileSync(p)));
    expect(bytes.includes(Buffer.from(key!))).toBe(false);
    const store = openStore(file);
    expect(store.keys.verify(key!)).toMatchObject({
      name: 'ci',
      allowed_models: ['openai/*', 'gpt-4.1-mini'],
      requests_per_minute: 60,
      daily_budget_usd: 5,
      monthly_budget_usd: 50,
    });
    await store.close();
  });

  it('prints JSON with --json', async () => {
    const res = await run(['keys', 'create', '--name', 'n8n', '--json'], file);
    const body = JSON.parse(res.out.join('\n'));
    expect(body).toMatchObject({ name: 'n8n', allowed_models: null, spend_today_usd: 0 });
    expect(body.key).toMatch(/^sk-sy-/);
  });

  it('lists keys with prefixes and spend but never the secret', async () => {
    const created = JSON.parse((await run(['keys', 'create', '--name', 'zapier', '--daily-budget', '2', '--json'], file)).out.join(''));
    const store = openStore(file);
    store.usage.record(usageRow({ key_id: created.id, time: Date.now(), cost_usd: 0.125 }));
    await store.close();

    const res = await run(['keys', 'list'], file);
    const text = res.out.join('\n');
    expect(text).toMatch(/^ID\s+NAME\s+PREFIX\s+MODELS\s+RPM\s+DAILY\s+MONTHLY\s+SPENT TODAY\s+SPENT MONTH\s+CREATED\s+STATUS$/m);
    expect(text).toContain(created.id);
    expect(text).toContain(created.prefix);
    expect(text).toContain('$0.1250');
    expect(text).toContain('active');
    expect(text).not.toContain(created.key.slice(12));

    const json = JSON.parse((await run(['keys', 'list', '--json'], file)).out.join(''));
    expect(json).toHaveLength(1);
    expect(json[0]).not.toHaveProperty('key');
  });

  it('says how to start when there are no keys', async () => {
    expect((await run(['keys', 'list'], file)).out.join('\n')).toMatch(/No keys yet/);
  });

  it('revokes by prefix or id, and fails clearly for an unknown key', async () => {
    const a = JSON.parse((await run(['keys', 'create', '--name', 'a', '--json'], file)).out.join(''));
    const b = JSON.parse((await run(['keys', 'create', '--name', 'b', '--json'], file)).out.join(''));
    const byPrefix = await run(['keys', 'revoke', a.prefix], file);
    expect(byPrefix.out.join('\n')).toMatch(new RegExp(`Revoked key 'a' \\(${a.id}`));
    await run(['keys', 'revoke', b.id], file);
    const list = (await run(['keys', 'list'], file)).out.join('\n');
    expect(list.match(/revoked \d{4}-\d{2}-\d{2}/g)).toHaveLength(2);

    const store = openStore(file);
    expect(store.keys.verify(a.key)).toBeUndefined();
    expect(store.keys.count()).toBe(0);
    await store.close();

    const unknown = await run(['keys', 'revoke', 'key_nope'], file);
    expect(unknown.error?.exitCode).toBe(1);
    expect(unknown.err.join('')).toMatch(/error: No key has that id or prefix/);
    // The command line was right: no usage text after the error.
    expect(unknown.err.join('')).not.toContain('Usage:');
  });

  it.each([
    [['--rpm', 'many'], /--rpm: .*number/],
    [['--rpm', '0'], /--rpm: /],
    [['--daily-budget', '-3'], /--daily-budget: /],
    [['--models', ' , '], /--models: list at least one model/],
  ])('rejects bad flags naming them: %j', async (flags, message) => {
    const res = await run(['keys', 'create', '--name', 'x', ...flags], file);
    expect(res.error?.exitCode).toBe(1);
    expect(res.err.join('')).toMatch(message);
    expect(existsSync(file)).toBe(false); // nothing was written, not even an empty store
  });

  it('lists every bad flag, one per line, not only the first', async () => {
    const res = await run(['keys', 'create', '--name', ' ', '--rpm', 'many', '--daily-budget', '-3', '--models', ' , '], file);
    expect(res.error?.exitCode).toBe(1);
    // The usage text follows (a command-line mistake); the errors come first, one per line.
    const lines = res.err.join('').split('\n').filter((line) => line.startsWith('error:'));
    expect(res.err.join('')).toContain('Usage: switchyard keys create');
    expect(lines).toEqual([
      'error: --name: give the key a name',
      expect.stringMatching(/^error: --models: list at least one model/),
      expect.stringMatching(/^error: --rpm: .*number/),
      expect.stringMatching(/^error: --daily-budget: /),
    ]);
    expect(existsSync(file)).toBe(false);
  });

  it('shows small spends with significant digits and no spend as $0', async () => {
    const tiny = JSON.parse((await run(['keys', 'create', '--name', 'tiny', '--json'], file)).out.join(''));
    await run(['keys', 'create', '--name', 'idle', '--json'], file);
    const store = openStore(file);
    store.usage.record(usageRow({ key_id: tiny.id, time: Date.now(), cost_usd: 0.000012 }));
    await store.close();
    const rows = (await run(['keys', 'list'], file)).out;
    const spent = (name: string) => rows.find((r) => r.includes(` ${name} `))!.split(/\s+/).slice(7, 9); // SPENT TODAY, SPENT MONTH
    expect(spent('tiny')).toEqual(['$0.000012', '$0.000012']);
    expect(spent('idle')).toEqual(['$0', '$0']);
  });

  it('requires --name', async () => {
    const res = await run(['keys', 'create'], file);
    expect(res.error?.code).toBe('commander.missingMandatoryOptionValue');
  });

  it('finds the store by --store, then SWITCHYARD_STORE, then the configured path', async () => {
    const flagged = tmp.file('flag.sqlite');
    const fromEnv = tmp.file('env.sqlite');
    await run(['keys', 'create', '--name', 'by-flag', '--store', flagged], () => file);
    const saved = process.env.SWITCHYARD_STORE;
    process.env.SWITCHYARD_STORE = fromEnv;
    try {
      await run(['keys', 'create', '--name', 'by-env'], () => file);
    } finally {
      if (saved === undefined) delete process.env.SWITCHYARD_STORE;
      else process.env.SWITCHYARD_STORE = saved;
    }
    await run(['keys', 'create', '--name', 'by-config'], () => file);
    for (const [path, name] of [
      [flagged, 'by-flag'],
      [fromEnv, 'by-env'],
      [file, 'by-config'],
    ]) {
      const store = openStore(path!);
      expect(store.keys.list().map((k) => k.name)).toEqual([name]);
      await store.close();
    }
  });
});

describe('switchyard usage', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(async () => {
    tmp = tempDir();
    file = tmp.file();
    const store = openStore(file);
    const { record } = store.keys.create({ name: 'team-a' });
    for (let i = 1; i <= 3; i++) store.usage.record(usageRow({ key_id: record.id, latency_ms: i * 100, cost_usd: 0.5 }));
    store.usage.record(usageRow({ model: 'anthropic/claude-haiku', provider: 'anthropic', latency_ms: 50, status: 503, time: Date.UTC(2026, 10, 23) }));
    await store.close();
  });
  afterEach(() => tmp.remove());

  it('prints a table grouped by model with a total line', async () => {
    const res = await run(['usage'], file);
    expect(res.error).toBeUndefined();
    const [header, first, second, total] = res.out;
    expect(header).toMatch(/^MODEL\s+CALLS\s+SHARE\s+PROMPT TOK\s+COMPL TOK\s+COST\s+P50 MS\s+P95 MS\s+ERRORS\s+FALLBACKS\s+CACHE HITS$/);
    expect(first!.split(/\s+/)).toEqual(['openai/gpt-4.1-mini', '3', '75.0%', '30', '15', '$1.50', '200', '300', '0', '0', '0']);
    expect(second!.split(/\s+/)).toEqual(['anthropic/claude-haiku', '1', '25.0%', '10', '5', '$0.0010', '50.0', '50.0', '1', '0', '0']);
    expect(total!.split(/\s+/)).toEqual(['TOTAL', '4', '100.0%', '40', '20', '$1.50', '1', '0', '0']);
  });

  it('shows a cost below $0.00005 with significant digits, not as $0.0000', async () => {
    const store = openStore(file);
    store.usage.record(usageRow({ model: 'groq/llama-3.1-8b', provider: 'groq', cost_usd: 0.0000123 }));
    await store.close();
    const row = (await run(['usage'], file)).out.find((l) => l.startsWith('groq/llama-3.1-8b'));
    expect(row!.split(/\s+/)[5]).toBe('$0.000012');
  });

  it('groups by key and day, filters by time, and prints JSON', async () => {
    const byKey = await run(['usage', '--group-by', 'key'], file);
    expect(byKey.out[1]).toMatch(/^team-a \(key_[0-9a-f]+\)\s+3\s/);
    const byDay = JSON.parse((await run(['usage', '--group-by', 'day', '--from', '2026-11-23', '--json'], file)).out.join(''));
    expect(byDay).toMatchObject({ group_by: 'day', data: [{ group: '2026-11-23', calls: 1, errors: 1 }] });
    const empty = await run(['usage', '--to', '2026-01-01'], file);
    expect(empty.out).toEqual(['No usage recorded in this range.']);
  });

  it.each([
    [['--group-by', 'team'], /--group-by: Invalid option/],
    [['--from', 'last week'], /--from: must be epoch milliseconds/],
    [['--from', '2026-11-23', '--to', '2026-11-01'], /--to: must be later than from/],
  ])('rejects bad flags naming them: %j', async (flags, message) => {
    const res = await run(['usage', ...flags], file);
    expect(res.error?.exitCode).toBe(1);
    expect(res.err.join('')).toMatch(message);
  });
});
