/**
 * `switchyard keys create|list|revoke`.
 * Exports: `registerKeysCommands(program, opts?)` — adds the `keys` command to a commander program;
 * `opts.storePath` passes the configured store path (see StoreCommandOptions in store-cli.ts).
 */
import type { Command } from 'commander';
import { formatPath } from '../core/errors';
import { KeyCreateSchema, toInfo, type KeyInfo } from '../server/store';
import { addStoreOption, fail, withStore, type StoreCommandOptions } from './store-cli';
import { formatMoney, formatTable } from './table';
import { processIo } from './io';

const FLAG_OF: Record<string, string> = {
  name: '--name',
  allowed_models: '--models',
  requests_per_minute: '--rpm',
  daily_budget_usd: '--daily-budget',
  monthly_budget_usd: '--monthly-budget',
};

interface CreateFlags {
  name: string;
  models?: string;
  rpm?: string;
  dailyBudget?: string;
  monthlyBudget?: string;
  json?: boolean;
}

export function registerKeysCommands(program: Command, opts: StoreCommandOptions = {}): Command {
  const out = opts.out ?? processIo.out;
  const keys = program.command('keys').description('manage gateway API keys (sk-sy-...)');

  addStoreOption(
    keys
      .command('create')
      .description('create a key; it is printed once and stored only as a hash')
      .requiredOption('--name <name>', 'who or what the key is for')
      .option('--models <list>', 'comma-separated models or globs the key may use (default: all)')
      .option('--rpm <n>', 'requests per minute')
      .option('--daily-budget <usd>', 'USD per UTC day')
      .option('--monthly-budget <usd>', 'USD per UTC month')
      .option('--json', 'print JSON'),
  ).action(async (flags: CreateFlags, cmd: Command) => {
    const input = parseCreateFlags(cmd, flags);
    await withStore(cmd, opts, (store) => {
      const { record, key } = store.keys.create(input);
      const info = toInfo(record, { today: 0, month: 0 });
      if (flags.json) return out(JSON.stringify({ key, ...info }, null, 2));
      out(`Created key '${info.name}' (${info.id}):`);
      out('');
      out(`  ${key}`);
      out('');
      out("Store it now: it is shown only this once. Clients send it as 'Authorization: Bearer <key>'.");
      out(`Limits: ${describeLimits(info)}`);
    });
  });

  addStoreOption(
    keys.command('list').description('list keys (never their secrets) with today\'s and this month\'s spend').option('--json', 'print JSON'),
  ).action(async (flags: { json?: boolean }, cmd: Command) => {
    await withStore(cmd, opts, (store) => {
      const list = store.keys.list();
      if (flags.json) return out(JSON.stringify(list, null, 2));
      if (list.length === 0) return out('No keys yet. Create one with `switchyard keys create --name NAME`.');
      for (const line of keysTable(list)) out(line);
    });
  });

  addStoreOption(
    keys.command('revoke').description('revoke a key by id or prefix (sk-sy-Ab12Cd)').argument('<id|prefix>'),
  ).action(async (idOrPrefix: string, _flags: unknown, cmd: Command) => {
    await withStore(cmd, opts, (store) => {
      const record = store.keys.revoke(idOrPrefix);
      out(`Revoked key '${record.name}' (${record.id}, ${record.prefix}); it stopped working at ${new Date(record.revoked_at!).toISOString()}.`);
    });
  });

  return keys;
}

function parseCreateFlags(cmd: Command, flags: CreateFlags) {
  const result = KeyCreateSchema.safeParse({
    name: flags.name,
    allowed_models: flags.models?.split(',').map((m) => m.trim()).filter(Boolean),
    requests_per_minute: toNumber(flags.rpm),
    daily_budget_usd: toNumber(flags.dailyBudget),
    monthly_budget_usd: toNumber(flags.monthlyBudget),
  });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = formatPath(issue.path.slice(0, 1));
    return `${FLAG_OF[field] ?? field}: ${issue.message}`;
  });
  return fail(cmd, [...new Set(problems)]);
}

function toNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return text.trim() === '' ? Number.NaN : Number(text.replace(/^\$/, ''));
}

function describeLimits(info: KeyInfo): string {
  return [
    `models ${info.allowed_models?.join(', ') ?? 'all'}`,
    `rpm ${info.requests_per_minute ?? 'unlimited'}`,
    `daily budget ${formatMoney(info.daily_budget_usd)}`,
    `monthly budget ${formatMoney(info.monthly_budget_usd)}`,
  ].join('; ');
}

function keysTable(list: KeyInfo[]): string[] {
  const headers = ['ID', 'NAME', 'PREFIX', 'MODELS', 'RPM', 'DAILY', 'MONTHLY', 'SPENT TODAY', 'SPENT MONTH', 'CREATED', 'STATUS'];
  const rows = list.map((k) => [
    k.id,
    k.name,
    k.prefix,
    k.allowed_models?.join(',') ?? 'all',
    k.requests_per_minute === null ? '-' : String(k.requests_per_minute),
    formatMoney(k.daily_budget_usd),
    formatMoney(k.monthly_budget_usd),
    formatMoney(k.spend_today_usd),
    formatMoney(k.spend_month_usd),
    k.created_at.slice(0, 16).replace('T', ' '),
    k.revoked_at === null ? 'active' : `revoked ${k.revoked_at.slice(0, 10)}`,
  ]);
  return formatTable(headers, rows, new Set([4, 5, 6, 7, 8]));
}
