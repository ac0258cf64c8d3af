/**
 * `npm run bench`: the gateway's overhead against a minimal pass-through proxy, in the same run.
 *
 * Three child processes on 127.0.0.1: a mock OpenAI upstream, the baseline proxy (node:http +
 * fetch) and the gateway (openai-compatible provider pointed at the mock, the default
 * configuration otherwise: request logging, usage store, metrics). Proxy and gateway run with the
 * same node flags, those of `npm start`, and are measured scenario by scenario, one right after
 * the other, so that a shared machine's load drifts as little as possible between the two. This
 * process drives the load: autocannon for throughput (non-streaming at concurrency 1 and 64,
 * streaming at 16) and a closed-loop hrtime client for sub-millisecond p50/p99 (autocannon's
 * histogram counts whole milliseconds). Everything is bounded in time and stops by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream } from './mock-upstream';

type Role = 'upstream' | 'proxy' | 'gateway';

interface Ready {
  url: string;
}

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const BODY = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], max_tokens: 64 });
const STREAM_BODY = JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], max_tokens: 64 });
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench-not-a-key' };

/**
 * undici for the proxy and the load client, required where they run: the gateway's process runs
 * this file too and must not carry modules it does not use (its RSS is measured).
 */
function undici(): typeof import('undici') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('undici') as typeof import('undici');
}

// ---------------------------------------------------------------------------------------------
// Children

/** The baseline: forwards the request to the upstream and pipes the answer back, nothing else. */
async function runProxy(upstream: string): Promise<Ready> {
  const dispatcher = new (undici().Agent)({ keepAliveTimeout: 30_000, connections: 256 });
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
  // Loaded here only: the proxy's process must not carry the gateway's modules (its RSS is compared).
  const { startServer } = await import('../server/server.js');
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
  let connections = 0;
  if (role === 'upstream') {
    const mock = await startMockUpstream();
    mock.server.on('connection', () => connections++);
    ready = { url: mock.url };
  } else if (role === 'proxy') ready = await runProxy(arg('upstream')!);
  else ready = await runGateway(arg('upstream')!);
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'stats') return;
    const cpu = process.cpuUsage();
    const mainThread = process.threadCpuUsage();
    const mem = process.memoryUsage();
    const stats: Stats = {
      rss: mem.rss,
      peakRss: process.resourceUsage().maxRSS * 1024,
      heapTotal: mem.heapTotal,
      heapUsed: mem.heapUsed,
      external: mem.external,
      cpuUs: cpu.user + cpu.system,
      mainThreadCpuUs: mainThread.user + mainThread.system,
      connections,
    };
    process.send!({ type: 'stats', ...stats });
  });
  if (role !== 'gateway') process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', ...ready });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Stats {
  rss: number;
  /** Highest RSS the process had so far (getrusage), bytes. */
  peakRss: number;
  heapTotal: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JS ones, Buffers included. */
  external: number;
  /** CPU time used so far (user + system), microseconds. */
  cpuUs: number;
  /** The JavaScript thread's share of cpuUs (the rest: GC helpers, compiler threads, libuv's pool). */
  mainThreadCpuUs: number;
  /** Upstream only: TCP connections accepted so far. */
  connections: number;
}

interface Child {
  proc: ChildProcess;
  url: string;
  stats(): Promise<Stats>;
  stop(): Promise<void>;
}

/** The node flags of `npm start` (package.json), so that the bench measures what users run; `--node-flags="..."` overrides them. */
function startFlags(): string[] {
  const given = arg('node-flags');
  if (given !== undefined) return given.split(/\s+/).filter(Boolean);
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  return words.slice(words.indexOf('node') + 1).filter((w) => w.startsWith('--'));
}

function spawnRole(role: Role, upstream?: string, execArgv: string[] = []): Promise<Child> {
  const args = [`--role=${role}`, ...(upstream ? [`--upstream=${upstream}`] : [])];
  const proc = fork(__filename, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
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
              const { type: _type, ...stats } = r;
              res(stats);
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
  /**
   * Of which on its JavaScript thread. A saturated target serves no faster than this: at c16 its
   * latency follows this figure, not the process total (helper threads run in parallel).
   */
  mainThreadCpuPerReqUs: number;
}

async function cannon(target: Child, connections: number, seconds: number, stream: boolean): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
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
  const perRequest = (us: number) => (total > 0 ? us / total : NaN);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
    total,
    cpuPerReqUs: perRequest(after.cpuUs - before.cpuUs),
    mainThreadCpuPerReqUs: perRequest(after.mainThreadCpuUs - before.mainThreadCpuUs),
  };
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
  const { Agent, request } = undici();
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

interface Memory {
  /** RSS once started, before any request, MB. */
  startMb: number;
  /** Highest RSS over the whole run, MB. */
  peakMb: number;
  /** Highest V8 heap (total, used) and external memory seen by the 200 ms sampler, MB. */
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
}

interface TargetResult {
  c1: LoadResult;
  c64: LoadResult;
  s16: LoadResult;
  preciseC1: Precise;
  preciseS1: Precise;
  preciseS16: Precise;
  memory: Memory;
  /** Upstream connections the target opened over the run. */
  upstreamConnections: number;
}

const MB = 1024 * 1024;

/** Highest heap figures of a target, sampled while the load runs. */
function heapSampler(target: Child): { stop(): Promise<Pick<Memory, 'heapTotalMb' | 'heapUsedMb' | 'externalMb'>> } {
  const peak = { heapTotal: 0, heapUsed: 0, external: 0 };
  const sample = (s: Stats) => {
    peak.heapTotal = Math.max(peak.heapTotal, s.heapTotal);
    peak.heapUsed = Math.max(peak.heapUsed, s.heapUsed);
    peak.external = Math.max(peak.external, s.external);
  };
  const timer = setInterval(() => void target.stats().then(sample), 200);
  return {
    async stop() {
      clearInterval(timer);
      sample(await target.stats());
      return { heapTotalMb: peak.heapTotal / MB, heapUsedMb: peak.heapUsed / MB, externalMb: peak.external / MB };
    },
  };
}

type Scenario = (target: Child) => Promise<unknown>;

/**
 * Runs every scenario on the proxy, then at once on the gateway, before the next scenario: both
 * results of a row come from the same minute of a machine whose load changes.
 */
async function measure(proxy: Child, gateway: Child, upstream: Child, seconds: number): Promise<{ proxy: TargetResult; gateway: TargetResult }> {
  const targets = [proxy, gateway];
  const results = [{} as Record<string, unknown>, {} as Record<string, unknown>];
  const scenarios: Array<[string, Scenario]> = [
    ['preciseC1', (t) => precise(t.url, 1, seconds, false)],
    ['c1', (t) => cannon(t, 1, seconds, false)],
    ['c64', (t) => cannon(t, 64, seconds, false)],
    ['preciseS1', (t) => precise(t.url, 1, seconds, true)],
    ['s16', (t) => cannon(t, 16, seconds, true)],
    ['preciseS16', (t) => precise(t.url, 16, seconds, true)],
  ];
  const startRss = await Promise.all(targets.map(async (t) => (await t.stats()).rss / MB));
  process.stdout.write('  warm-up');
  for (const t of targets) {
    await cannon(t, 16, 1, false);
    await cannon(t, 8, 1, true);
  }
  const samplers = targets.map(heapSampler);
  const connections: number[] = [];
  for (const [name, run] of scenarios) {
    process.stdout.write(`, ${name}`);
    for (const [i, t] of targets.entries()) {
      const before = (await upstream.stats()).connections;
      results[i]![name] = await run(t);
      connections[i] = (connections[i] ?? 0) + (await upstream.stats()).connections - before;
    }
  }
  process.stdout.write('\n');
  const heaps = await Promise.all(samplers.map((s) => s.stop()));
  const peaks = await Promise.all(targets.map(async (t) => (await t.stats()).peakRss / MB));
  const result = (i: number): TargetResult => ({
    ...(results[i] as Omit<TargetResult, 'memory' | 'upstreamConnections'>),
    memory: { startMb: startRss[i]!, peakMb: peaks[i]!, ...heaps[i]! },
    upstreamConnections: connections[i]!,
  });
  return { proxy: result(0), gateway: result(1) };
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
/** A difference with its sign: +1.5, -0.3. */
const signed = (n: number, digits = 1) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(digits)}` : '-');
const f3 = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : '-');

function report(proxy: TargetResult, gateway: TargetResult): void {
  const rows: string[][] = [
    ['scenario', 'metric', 'proxy', 'gateway', 'gateway vs proxy'],
    ['non-stream c1', 'req/s', f1(proxy.c1.rps), f1(gateway.c1.rps), `${f3(gateway.c1.rps / proxy.c1.rps)}x`],
    ['non-stream c1', 'p50 / p99 ms (hrtime)', `${f3(proxy.preciseC1.p50)} / ${f3(proxy.preciseC1.p99)}`, `${f3(gateway.preciseC1.p50)} / ${f3(gateway.preciseC1.p99)}`, `${signed(gateway.preciseC1.p50 - proxy.preciseC1.p50, 3)} ms p50`],
    ['non-stream c64', 'req/s', f1(proxy.c64.rps), f1(gateway.c64.rps), `${f3(gateway.c64.rps / proxy.c64.rps)}x`],
    ['non-stream c64', 'p50 / p99 ms', `${proxy.c64.p50} / ${proxy.c64.p99}`, `${gateway.c64.p50} / ${gateway.c64.p99}`, ''],
    ['non-stream c64', 'CPU us / request', f1(proxy.c64.cpuPerReqUs), f1(gateway.c64.cpuPerReqUs), `${signed(gateway.c64.cpuPerReqUs - proxy.c64.cpuPerReqUs)} us`],
    ['non-stream c64', '  of which main thread', f1(proxy.c64.mainThreadCpuPerReqUs), f1(gateway.c64.mainThreadCpuPerReqUs), `${signed(gateway.c64.mainThreadCpuPerReqUs - proxy.c64.mainThreadCpuPerReqUs)} us`],
    ['stream c1', 'p50 / p99 ms (hrtime)', `${f3(proxy.preciseS1.p50)} / ${f3(proxy.preciseS1.p99)}`, `${f3(gateway.preciseS1.p50)} / ${f3(gateway.preciseS1.p99)}`, `${signed(gateway.preciseS1.p50 - proxy.preciseS1.p50, 3)} ms p50`],
    ['stream c1', 'first event p50 ms', f3(proxy.preciseS1.ttfbP50), f3(gateway.preciseS1.ttfbP50), `${signed(gateway.preciseS1.ttfbP50 - proxy.preciseS1.ttfbP50, 3)} ms`],
    ['stream c16', 'streams/s', f1(proxy.s16.rps), f1(gateway.s16.rps), `${f3(gateway.s16.rps / proxy.s16.rps)}x`],
    ['stream c16', 'CPU us / stream', f1(proxy.s16.cpuPerReqUs), f1(gateway.s16.cpuPerReqUs), `${signed(gateway.s16.cpuPerReqUs - proxy.s16.cpuPerReqUs)} us`],
    ['stream c16', '  of which main thread', f1(proxy.s16.mainThreadCpuPerReqUs), f1(gateway.s16.mainThreadCpuPerReqUs), `${signed(gateway.s16.mainThreadCpuPerReqUs - proxy.s16.mainThreadCpuPerReqUs)} us`],
    ['stream c16', 'p50 / p99 ms (hrtime)', `${f3(proxy.preciseS16.p50)} / ${f3(proxy.preciseS16.p99)}`, `${f3(gateway.preciseS16.p50)} / ${f3(gateway.preciseS16.p99)}`, `${signed(gateway.preciseS16.p50 - proxy.preciseS16.p50, 3)} ms p50`],
    ['memory', 'RSS at start MB', f1(proxy.memory.startMb), f1(gateway.memory.startMb), `${signed(gateway.memory.startMb - proxy.memory.startMb)} MB`],
    ['memory', 'peak RSS MB', f1(proxy.memory.peakMb), f1(gateway.memory.peakMb), `${signed(gateway.memory.peakMb - proxy.memory.peakMb)} MB`],
    ['memory', 'peak V8 heap total / used MB', `${f1(proxy.memory.heapTotalMb)} / ${f1(proxy.memory.heapUsedMb)}`, `${f1(gateway.memory.heapTotalMb)} / ${f1(gateway.memory.heapUsedMb)}`, ''],
    ['memory', 'peak external MB', f1(proxy.memory.externalMb), f1(gateway.memory.externalMb), ''],
    ['upstream', 'connections opened', String(proxy.upstreamConnections), String(gateway.upstreamConnections), ''],
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
  check(gateway.memory.peakMb < 150, `gateway RSS under load < 150 MB: ${f1(gateway.memory.peakMb)} MB (proxy under the same flags: ${f1(proxy.memory.peakMb)} MB)`);
  if (errors > 0) console.log(`  note: ${errors} failed or non-2xx responses during the runs`);
}

const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');

async function orchestrate(): Promise<void> {
  const seconds = Math.max(1, Math.min(30, Number(arg('duration') ?? 4)));
  const flags = startFlags();
  console.log(`switchyard bench: ${seconds} s per scenario, everything on 127.0.0.1`);
  console.log(`proxy and gateway run with the flags of npm start: ${flags.join(' ') || '(none)'}`);
  console.log(`load average before: ${load()} (${availableParallelism()} cores)`);
  const upstream = await spawnRole('upstream');
  const children: Child[] = [upstream];
  try {
    const proxy = await spawnRole('proxy', upstream.url, flags);
    children.push(proxy);
    const gateway = await spawnRole('gateway', upstream.url, flags);
    children.push(gateway);
    const results = await measure(proxy, gateway, upstream, seconds);
    await gateway.stop();
    await proxy.stop();
    report(results.proxy, results.gateway);
    console.log(`load average after: ${load()}`);
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
