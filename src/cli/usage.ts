/**
 * `switchyard usage [--group-by model|provider|key|day] [--from] [--to] [--key <id>] [--json]`.
 * Exports: `registerUsageCommand(program, opts?)` — `opts.storePath` passes the configured store
 * path (see StoreCommandOptions in store-cli.ts).
 */
import type { Command } from 'commander';
import { GatewayError } from '../core/errors';
import type { AggregateQuery, UsageAggregateRow } from '../server/store';
import { parseUsageQuery } from '../server/usage-query';
import { addStoreOption, fail, withStore, type StoreCommandOptions } from './store-cli';
import { formatMoney, formatTable } from './table';
import { processIo } from './io';

interface UsageFlags {
  groupBy?: string;
  from?: string;
  to?: string;
  key?: string;
  json?: boolean;
}

const FLAG_OF: Record<string, string> = { group_by: '--group-by', from: '--from', to: '--to', key_id: '--key' };

export function registerUsageCommand(program: Command, opts: StoreCommandOptions = {}): Command {
  const out = opts.out ?? processIo.out;
  return addStoreOption(
    program
      .command('usage')
      .description('calls, tokens, cost, latency, errors and fallbacks from the usage store')
      .option('--group-by <field>', 'model, provider, key or day', 'model')
      .option('--from <time>', 'start: ISO date/date-time or epoch ms')
      .option('--to <time>', 'end (exclusive; a date includes that day)')
      .option('--key <id>', 'only this key')
      .option('--json', 'print JSON'),
  ).action(async (flags: UsageFlags, cmd: Command) => {
    const query = parseFlags(cmd, flags);
    await withStore(cmd, opts, (store) => {
      const rows = store.usage.aggregate(query);
      if (flags.json) return out(JSON.stringify({ group_by: query.group_by, data: rows }, null, 2));
      if (rows.length === 0) return out('No usage recorded in this range.');
      for (const line of usageTable(query, rows)) out(line);
    });
  });
}

function parseFlags(cmd: Command, flags: UsageFlags): AggregateQuery {
  const raw = Object.fromEntries(
    Object.entries({ group_by: flags.groupBy, from: flags.from, to: flags.to, key_id: flags.key }).filter(([, v]) => v !== undefined),
  );
  try {
    return parseUsageQuery(raw);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    const flag = FLAG_OF[err.param ?? ''] ?? err.param ?? '';
    return fail(cmd, `${flag}: ${err.message.replace(/^Invalid query parameter '[^']*': /, '')}`);
  }
}

function usageTable(query: AggregateQuery, rows: UsageAggregateRow[]): string[] {
  const headers = [query.group_by.toUpperCase(), 'CALLS', 'SHARE', 'PROMPT TOK', 'COMPL TOK', 'COST', 'P50 MS', 'P95 MS', 'ERRORS', 'FALLBACKS', 'CACHE HITS'];
  const body = rows.map((r) => [
    r.key_name ? `${r.key_name} (${r.group})` : r.group,
    String(r.calls),
    `${(r.share * 100).toFixed(1)}%`,
    String(r.prompt_tokens),
    String(r.completion_tokens),
    formatMoney(r.cost_usd),
    ms(r.p50_latency_ms),
    ms(r.p95_latency_ms),
    String(r.errors),
    String(r.fallbacks),
    String(r.cache_hits),
  ]);
  const sum = (pick: (r: UsageAggregateRow) => number) => rows.reduce((acc, r) => acc + pick(r), 0);
  const total = [
    'TOTAL',
    String(sum((r) => r.calls)),
    '100.0%',
    String(sum((r) => r.prompt_tokens)),
    String(sum((r) => r.completion_tokens)),
    formatMoney(sum((r) => r.cost_usd)),
    '',
    '',
    String(sum((r) => r.errors)),
    String(sum((r) => r.fallbacks)),
    String(sum((r) => r.cache_hits)),
  ];
  return formatTable(headers, [...body, total], new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
}

function ms(value: number): string {
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}
