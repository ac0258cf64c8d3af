/**
 * `switchyard jobs list|show|replay`: the webhook job queue, read and repaired from the shell.
 * Works while the server runs (the queue file is SQLite in WAL mode); a replayed job is picked up
 * by a running server within webhooks.poll_ms, or at the next start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { findConfigFile, interpolateEnv } from '../server/config';
import { resolveQueuePath } from '../webhooks/config';
import { JOB_STATES, JobQueue, type Job, type JobState } from '../webhooks/queue/queue';
import { jobView } from '../webhooks/views';
import { fail as usageError, failRun } from './store-cli';
import { formatTable } from './table';
import { processIo } from './io';

export interface JobsCommandOptions {
  out?: (line: string) => void;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

interface QueueFlags {
  queue?: string;
  config?: string;
}

/**
 * `webhooks.queue_path` of the configuration file, read on its own: the flows' secrets
 * (`${ENV}` references) need not be set in the shell that runs these commands.
 */
function configuredQueuePath(file: string, env: Record<string, string | undefined>): string | undefined {
  const raw = parse(readFileSync(file, 'utf8')) as { webhooks?: { queue_path?: unknown } } | null;
  const value = raw?.webhooks?.queue_path;
  if (typeof value !== 'string') return undefined;
  const problems: string[] = [];
  const path = interpolateEnv(value, env, problems, ['webhooks', 'queue_path']) as string;
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return path;
}

/** --queue > SWITCHYARD_QUEUE > webhooks.queue_path of the configuration > ./switchyard-jobs.sqlite. */
function queuePath(flags: QueueFlags, opts: JobsCommandOptions): string {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let configured: string | undefined;
  if (!flags.queue && !env.SWITCHYARD_QUEUE) {
    const file = findConfigFile(flags.config, env, cwd);
    if (file && !existsSync(file)) throw new Error(`configuration file ${file} not found`);
    if (file) configured = configuredQueuePath(file, env);
  }
  return resolve(cwd, resolveQueuePath(flags.queue, configured, env));
}

function withQueue<T>(cmd: Command, opts: JobsCommandOptions, run: (queue: JobQueue) => T): T {
  const flags = cmd.optsWithGlobals() as QueueFlags;
  let path: string;
  try {
    path = queuePath(flags, opts);
  } catch (err) {
    return failRun(cmd, (err as Error).message);
  }
  if (!existsSync(path)) return failRun(cmd, `no job queue at ${path} (set --queue, SWITCHYARD_QUEUE or webhooks.queue_path)`);
  const queue = new JobQueue(path);
  try {
    return run(queue);
  } finally {
    queue.close();
  }
}

function addQueueOptions(cmd: Command): Command {
  return cmd
    .option('--queue <path>', 'job queue file (default: $SWITCHYARD_QUEUE, webhooks.queue_path, or ./switchyard-jobs.sqlite)')
    .option('-c, --config <file>', 'configuration file that names webhooks.queue_path');
}

function when(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function short(text: string | undefined, max = 80): string {
  if (!text) return '';
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function parseState(cmd: Command, text: string | undefined): JobState | undefined {
  if (text === undefined) return undefined;
  if (!(JOB_STATES as readonly string[]).includes(text)) usageError(cmd, `--state must be one of ${JOB_STATES.join(', ')}`);
  return text as JobState;
}

function parseLimit(cmd: Command, text: string | undefined): number {
  const limit = text === undefined ? 50 : Number(text);
  if (!Number.isInteger(limit) || limit < 1) usageError(cmd, '--limit must be a positive integer');
  return limit;
}

function details(job: Job): string[] {
  const lines = [
    `id:        ${job.id}`,
    `flow:      ${job.flow} (${job.source})`,
    `key:       ${job.key}`,
    `state:     ${job.state}`,
    `attempts:  ${job.attempts} of ${job.maxAttempts}`,
    `created:   ${when(job.createdAt)}`,
    `updated:   ${when(job.updatedAt)}`,
  ];
  if (job.state === 'pending') lines.push(`next run:  ${when(job.runAt)}`);
  if (job.finishedAt !== undefined) lines.push(`finished:  ${when(job.finishedAt)}`);
  if (job.effect) lines.push(`effect:    ${job.effect}`);
  if (job.lastError) lines.push(`error:     ${job.lastError}`);
  if (job.result) lines.push(`model:     ${job.result.model}`, `answer:    ${job.result.json !== undefined ? JSON.stringify(job.result.json) : job.result.text}`);
  lines.push(`fields:    ${JSON.stringify(job.payload.fields)}`);
  return lines;
}

export function registerJobsCommands(program: Command, opts: JobsCommandOptions = {}): Command {
  const out = opts.out ?? processIo.out;
  const jobs = program.command('jobs').description('webhook jobs: list, show, replay dead letters');

  addQueueOptions(
    jobs
      .command('list')
      .description('list jobs, newest first, with the count per state')
      .option('--state <state>', `only jobs in this state (${JOB_STATES.join(', ')})`)
      .option('--flow <name>', 'only jobs of this flow')
      .option('--limit <n>', 'at most this many jobs (default 50)')
      .option('--json', 'print JSON'),
  ).action(function (this: Command, flags: { state?: string; flow?: string; limit?: string; json?: boolean }) {
    const state = parseState(this, flags.state);
    const limit = parseLimit(this, flags.limit);
    withQueue(this, opts, (queue) => {
      const list = queue.list({ state, flow: flags.flow, limit });
      if (flags.json) return out(JSON.stringify({ counts: queue.counts(), jobs: list.map(jobView) }, null, 2));
      const counts = queue.counts();
      out(`jobs: ${JOB_STATES.map((s) => `${counts[s]} ${s}`).join(', ')}`);
      if (list.length === 0) return out('no jobs match');
      const rows = list.map((j) => [j.id, j.flow, j.state, String(j.attempts), when(j.createdAt), short(j.state === 'done' ? j.effect : j.lastError)]);
      for (const line of formatTable(['ID', 'FLOW', 'STATE', 'TRIES', 'CREATED (UTC)', 'EFFECT / LAST ERROR'], rows, new Set([3]))) out(line);
    });
  });

  addQueueOptions(jobs.command('show').description('show one job: state, attempts, answer, fields, last error').argument('<id>').option('--json', 'print JSON')).action(
    function (this: Command, id: string, flags: { json?: boolean }) {
      withQueue(this, opts, (queue) => {
        const job = queue.get(id);
        if (!job) return failRun(this, `no job ${id}`);
        if (flags.json) return out(JSON.stringify(job, null, 2));
        for (const line of details(job)) out(line);
      });
    },
  );

  addQueueOptions(
    jobs
      .command('replay')
      .description('put dead-lettered jobs back in the queue with fresh attempts (a saved answer is reused)')
      .argument('[ids...]')
      .option('--all-dead', 'replay every dead job (of --flow, when given)')
      .option('--flow <name>', 'with --all-dead: only this flow'),
  ).action(function (this: Command, ids: string[], flags: { allDead?: boolean; flow?: string }) {
    if (ids.length === 0 && !flags.allDead) usageError(this, 'name job ids, or pass --all-dead');
    withQueue(this, opts, (queue) => {
      const targets = flags.allDead ? queue.list({ state: 'dead', flow: flags.flow, limit: 1_000_000 }).map((j) => j.id) : ids;
      const replayed: string[] = [];
      const skipped: string[] = [];
      for (const id of targets) {
        if (queue.replay(id)) replayed.push(id);
        else skipped.push(`${id} (${queue.get(id)?.state ?? 'not found'})`);
      }
      if (skipped.length && replayed.length === 0) failRun(this, `nothing to replay; only dead jobs can be: ${skipped.join(', ')}`);
      out(`replayed ${replayed.length} job(s)${replayed.length ? `: ${replayed.join(', ')}` : ''}`);
      if (skipped.length) out(`not replayed (only dead jobs can be): ${skipped.join(', ')}`);
      if (replayed.length) out('a running server picks them up within webhooks.poll_ms; otherwise they run at the next start');
    });
  });
  return jobs;
}
