/**
 * `npm run bench`: the gateway's overhead against a minimal pass-through proxy, in the same run.
 *
 * Three child processes on 127.0.0.1: a mock OpenAI upstream, then (one at a time) the baseline
 * proxy (node:http + fetch) and the gateway (openai-compatible provider pointed at the mock, the
 * default configuration otherwise: request logging, usage store, metrics). This process drives
 * the load: autocannon for throughput (non-streaming at concurrency 1 and 64, streaming at 16)
 * and a closed-loop hrtime client for sub-millisecond p50/p99 (autocannon's histogram counts
 * whole milliseconds). Everything is bounded in time and stops by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { startServer } from '../server/server';
import { startMockUpstream } from './mock-upstream';

type Role = 'upstream' | 'proxy' | 'gateway';

interface Ready {
  url: string;
}

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const BODY = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], max_tokens: 64 });
const STREAM_BODY = JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], max_tokens: 64 });
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench-not-a-key' };

// ---------------------------------------------------------------------------------------------
// Children

/** The baseline: forwards the request to the upstream and pipes the answer back, nothing else. */
async function runProxy(upstream: string): Promise<Ready> {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const server = createServer(async (req, res) => {
    try {
      const parts: Buffer[] = [];
      for await (const b of req) parts.push(b as Buffer);
      const up = await fetch(`${upstream}${req.url}`, {
        method: req.method,
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(parts),
        dispatcher,
      } as RequestInit);
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      if (up.body) for await (const chunk of up.body) res.write(chunk);
      res.end();
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function runGateway(upstream: string): Promise<Ready> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(
    file,
    [
      'providers:',
      `  mock: { type: openai-compatible, base_url: "${upstream}/v1", api_key: bench-not-a-secret }`,
      'models:',
      '  - { key: mock/mock-model, provider: mock, model: mock-model, quality: 50, pricing: { input: 0.15, output: 0.6 } }',
      'server:',
      `  store_path: ${join(dir, 'usage.sqlite')}`,
    ].join('\n'),
  );
  const running = await startServer({ file, port: 0, env: { PATH: process.env.PATH } });
  process.on('disconnect', () => {
    void running.shutdown().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
  return { url: running.url };
}

async function child(role: Role): Promise<void> {
  let ready: Ready;
  if (role === 'upstream') ready = { url: (await startMockUpstream()).url };
  else if (role === 'proxy') ready = await runProxy(arg('upstream')!);
  else ready = await runGateway(arg('upstream')!);
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'stats') return;
    const cpu = process.cpuUsage();
    process.send!({ type: 'stats', rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system });
  });
  if (role !== 'gateway') process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', ...ready });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Stats {
  rss: number;
  /** CPU time used so far (user + system), microseconds. */
  cpuUs: number;
}

interface Child {
  proc: ChildProcess;
  url: string;
  stats(): Promise<Stats>;
  stop(): Promise<void>;
}

function spawnRole(role: Role, upstream?: string): Promise<Child> {
  const args = [`--role=${role}`, ...(upstream ? [`--upstream=${upstream}`] : [])];
  const proc = fork(__filename, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 10 * 60_000);
  killer.unref();
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`${role} exited early (${code})`)));
    proc.on('message', (m: { type: string; url?: string }) => {
      if (m.type !== 'ready') return;
      proc.removeAllListeners('exit');
      resolve({
        proc,
        url: m.url!,
        stats: () =>
          new Promise((res) => {
            const onMsg = (r: { type: string } & Stats) => {
              if (r.type !== 'stats') return;
              proc.off('message', onMsg);
              res({ rss: r.rss, cpuUs: r.cpuUs });
            };
            proc.on('message', onMsg);
            proc.send({ type: 'stats' });
          }),
        stop: () =>
          new Promise((res) => {
            clearTimeout(killer);
            if (proc.exitCode !== null) return res();
            proc.once('exit', () => res());
            proc.disconnect();
            setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
          }),
      });
    });
  });
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  total: number;
  /** Target's CPU time per request, microseconds: robust on a shared machine. */
  cpuPerReqUs: number;
}

async function cannon(target: Child, connections: number, seconds: number, stream: boolean): Promise<LoadResult> {
  const before = await target.stats();
  const r = await autocannon({
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    headers: HEADERS,
    body: stream ? STREAM_BODY : BODY,
    connections,
    duration: seconds,
  });
  const after = await target.stats();
  const total = r.requests.total;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts, total, cpuPerReqUs: total > 0 ? (after.cpuUs - before.cpuUs) / total : NaN };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Precise {
  p50: number;
  p99: number;
  /** Time to the first body byte (streams: the first event), median. */
  ttfbP50: number;
  n: number;
}

/** Closed loop with hrtime: `concurrency` callers, each sending its next request when the last ended. */
async function precise(url: string, concurrency: number, seconds: number, stream: boolean): Promise<Precise> {
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  const total: number[] = [];
  const ttfb: number[] = [];
  const until = Date.now() + seconds * 1000;
  const loop = async () => {
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      const res = await request(`${url}/v1/chat/completions`, { method: 'POST', headers: HEADERS, body: stream ? STREAM_BODY : BODY, dispatcher });
      let first = 0n;
      for await (const _ of res.body) if (first === 0n) first = process.hrtime.bigint();
      if (res.statusCode !== 200) continue;
      total.push(Number(process.hrtime.bigint() - t0) / 1e6);
      ttfb.push(Number(first - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  await dispatcher.close();
  total.sort((a, b) => a - b);
  ttfb.sort((a, b) => a - b);
  return { p50: percentile(total, 50), p99: percentile(total, 99), ttfbP50: percentile(ttfb, 50), n: total.length };
}

interface TargetResult {
  c1: LoadResult;
  c64: LoadResult;
  s16: LoadResult;
  preciseC1: Precise;
  preciseS1: Precise;
  preciseS16: Precise;
  rssMb: number;
}

async function measure(name: string, target: Child, seconds: number): Promise<TargetResult> {
  let peak = (await target.stats()).rss;
  const sampler = setInterval(() => void target.stats().then((s) => (peak = Math.max(peak, s.rss))), 200);
  try {
    process.stdout.write(`  ${name}: warm-up`);
    await cannon(target, 16, 1, false);
    await cannon(target, 8, 1, true);
    process.stdout.write(', c1');
    const preciseC1 = await precise(target.url, 1, seconds, false);
    const c1 = await cannon(target, 1, seconds, false);
    process.stdout.write(', c64');
    const c64 = await cannon(target, 64, seconds, false);
    process.stdout.write(', streams c1');
    const preciseS1 = await precise(target.url, 1, seconds, true);
    process.stdout.write(', streams c16');
    const s16 = await cannon(target, 16, seconds, true);
    const preciseS16 = await precise(target.url, 16, seconds, true);
    process.stdout.write('\n');
    return { c1, c64, s16, preciseC1, preciseS1, preciseS16, rssMb: peak / 1024 / 1024 };
  } finally {
    clearInterval(sampler);
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f3 = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : '-');

function report(proxy: TargetResult, gateway: TargetResult): void {
  const rows: string[][] = [
    ['scenario', 'metric', 'proxy', 'gateway', 'gateway vs proxy'],
    ['non-stream c1', 'req/s', f1(proxy.c1.rps), f1(gateway.c1.rps), `${f3(gateway.c1.rps / proxy.c1.rps)}x`],
    ['non-stream c1', 'p50 / p99 ms (hrtime)', `${f3(proxy.preciseC1.p50)} / ${f3(proxy.preciseC1.p99)}`, `${f3(gateway.preciseC1.p50)} / ${f3(gateway.preciseC1.p99)}`, `+${f3(gateway.preciseC1.p50 - proxy.preciseC1.p50)} ms p50`],
    ['non-stream c64', 'req/s', f1(proxy.c64.rps), f1(gateway.c64.rps), `${f3(gateway.c64.rps / proxy.c64.rps)}x`],
    ['non-stream c64', 'p50 / p99 ms', `${proxy.c64.p50} / ${proxy.c64.p99}`, `${gateway.c64.p50} / ${gateway.c64.p99}`, ''],
    ['non-stream c64', 'CPU us / request', f1(proxy.c64.cpuPerReqUs), f1(gateway.c64.cpuPerReqUs), `+${f1(gateway.c64.cpuPerReqUs - proxy.c64.cpuPerReqUs)} us`],
    ['stream c1', 'p50 / p99 ms (hrtime)', `${f3(proxy.preciseS1.p50)} / ${f3(proxy.preciseS1.p99)}`, `${f3(gateway.preciseS1.p50)} / ${f3(gateway.preciseS1.p99)}`, `+${f3(gateway.preciseS1.p50 - proxy.preciseS1.p50)} ms p50`],
    ['stream c1', 'first event p50 ms', f3(proxy.preciseS1.ttfbP50), f3(gateway.preciseS1.ttfbP50), `+${f3(gateway.preciseS1.ttfbP50 - proxy.preciseS1.ttfbP50)} ms`],
    ['stream c16', 'streams/s', f1(proxy.s16.rps), f1(gateway.s16.rps), `${f3(gateway.s16.rps / proxy.s16.rps)}x`],
    ['stream c16', 'CPU us / stream', f1(proxy.s16.cpuPerReqUs), f1(gateway.s16.cpuPerReqUs), `+${f1(gateway.s16.cpuPerReqUs - proxy.s16.cpuPerReqUs)} us`],
    ['stream c16', 'p50 / p99 ms (hrtime)', `${f3(proxy.preciseS16.p50)} / ${f3(proxy.preciseS16.p99)}`, `${f3(gateway.preciseS16.p50)} / ${f3(gateway.preciseS16.p99)}`, `+${f3(gateway.preciseS16.p50 - proxy.preciseS16.p50)} ms p50`],
    ['under load', 'peak RSS MB', f1(proxy.rssMb), f1(gateway.rssMb), ''],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const errors = [proxy, gateway].flatMap((t) => [t.c1, t.c64, t.s16]).reduce((n, r) => n + r.errors, 0);
  console.log('');
  console.log('targets (same run, same machine):');
  const check = (ok: boolean, text: string) => console.log(`  ${ok ? 'met ' : 'MISS'}  ${text}`);
  check(gateway.c64.rps >= 0.5 * proxy.c64.rps, `throughput at c64 >= 50% of the proxy's: ${f1((100 * gateway.c64.rps) / proxy.c64.rps)}%`);
  check(gateway.preciseC1.p50 - proxy.preciseC1.p50 < 0.3, `added p50 at c1 < 0.3 ms: ${f3(gateway.preciseC1.p50 - proxy.preciseC1.p50)} ms`);
  check(gateway.preciseS1.p50 - proxy.preciseS1.p50 < 1, `added p50 for streams < 1 ms (c1): ${f3(gateway.preciseS1.p50 - proxy.preciseS1.p50)} ms`);
  check(gateway.preciseS16.p50 - proxy.preciseS16.p50 < 1, `added p50 for streams < 1 ms (c16): ${f3(gateway.preciseS16.p50 - proxy.preciseS16.p50)} ms`);
  check(gateway.rssMb < 150, `gateway RSS under load < 150 MB: ${f1(gateway.rssMb)} MB`);
  if (errors > 0) console.log(`  note: ${errors} failed or non-2xx responses during the runs`);
}

async function orchestrate(): Promise<void> {
  const seconds = Math.max(1, Math.min(30, Number(arg('duration') ?? 4)));
  console.log(`switchyard bench: ${seconds} s per scenario, everything on 127.0.0.1`);
  const upstream = await spawnRole('upstream');
  const children: Child[] = [upstream];
  try {
    const proxy = await spawnRole('proxy', upstream.url);
    children.push(proxy);
    const proxyResult = await measure('proxy', proxy, seconds);
    await proxy.stop();
    const gateway = await spawnRole('gateway', upstream.url);
    children.push(gateway);
    const gatewayResult = await measure('gateway', gateway, seconds);
    await gateway.stop();
    report(proxyResult, gatewayResult);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

const role = arg('role') as Role | undefined;
if (role) {
  child(role).catch((err: unknown) => {
    console.error(`bench ${role} failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} else {
  const guard = setTimeout(() => {
    console.error('bench: taking too long, stopping');
    process.exit(2);
  }, 5 * 60_000);
  guard.unref();
  orchestrate().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
