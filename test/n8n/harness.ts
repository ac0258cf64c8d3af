import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * Drives a real n8n (installed by test/n8n/install-n8n.sh) headlessly: installs the packed
 * community package the way n8n does, imports credentials and workflows, runs `n8n execute`.
 */

const run = promisify(execFile);

export const N8N_VERSION = process.env.N8N_VERSION ?? '2.41.1';
export const REPO_ROOT = resolve(__dirname, '..', '..');
export const PACKAGE_DIR = join(REPO_ROOT, 'connectors', 'n8n');
export const PACKAGE_NAME = 'n8n-nodes-switchyard';

export function n8nHome(): string {
  const cache = process.env.SWITCHYARD_CACHE ?? join(homedir(), '.cache', 'switchyard');
  return join(cache, `n8n-${N8N_VERSION}`);
}

export function n8nBin(): string {
  return join(n8nHome(), 'node_modules', 'n8n', 'bin', 'n8n');
}

/** Why the e2e cannot run here, or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(join(n8nHome(), '.complete')) || !existsSync(n8nBin())) {
    return `n8n ${N8N_VERSION} is not installed in ${n8nHome()}: run test/n8n/install-n8n.sh (with Node 24)`;
  }
  if (['switchyard-core.js', 'switchyard-tasks.js'].some((f) => !existsSync(join(PACKAGE_DIR, 'dist', 'vendor', f)))) {
    return `the n8n package is not built: run npm run build in connectors/n8n (after npm ci --ignore-scripts there)`;
  }
  if (Number(process.versions.node.split('.')[0]) < 24) return `n8n ${N8N_VERSION} needs Node >= 24, this is ${process.version}`;
  return undefined;
}

export interface N8nInstance {
  userFolder: string;
  /** Runs an n8n CLI command; rejects with its output on a non-zero exit. */
  cli(args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  importCredentials(credentials: unknown[]): Promise<void>;
  /** One `import:workflow` for them all (each n8n command costs a few seconds of start-up). */
  importWorkflows(workflows: Array<{ id: string }>): Promise<void>;
  /** `n8n execute --id --rawOutput`: the execution's JSON, and whether n8n reported success. */
  execute(id: string, timeoutMs?: number): Promise<{ ok: boolean; result: ExecutionResult; log: string }>;
  /** Everything every n8n command printed (stdout and stderr, untruncated), in order. */
  transcript(): string;
  dispose(): Promise<void>;
}

export interface ExecutionResult {
  data?: {
    resultData?: {
      runData?: Record<string, Array<{ data?: { main?: Array<Array<{ json: Record<string, unknown> }>> }; error?: unknown }>>;
      error?: { message?: string; description?: string };
    };
  };
}

/** The items a node produced in the first run of an execution. */
export function itemsOf(result: ExecutionResult, nodeName: string): Array<Record<string, unknown>> {
  const runs = result.data?.resultData?.runData?.[nodeName];
  if (!runs?.[0]) throw new Error(`node '${nodeName}' did not run; ran: ${Object.keys(result.data?.resultData?.runData ?? {}).join(', ')}`);
  return (runs[0].data?.main?.[0] ?? []).map((i) => i.json);
}

/** `n8n execute --rawOutput` prints log lines, then the execution as JSON. */
export function parseExecuteOutput(stdout: string): ExecutionResult {
  for (let at = stdout.indexOf('{'); at !== -1; at = stdout.indexOf('\n{', at + 1)) {
    const start = stdout[at] === '\n' ? at + 1 : at;
    try {
      return JSON.parse(stdout.slice(start)) as ExecutionResult;
    } catch {
      // a log line that starts with '{': keep looking
    }
  }
  throw new Error(`no execution JSON in n8n's output:\n${stdout.slice(-2000)}`);
}

/** Installs the packed package as n8n's community-node installer does: ~/.n8n/nodes/node_modules/<name>. */
async function installPackage(userFolder: string): Promise<void> {
  const packDir = await mkdtemp(join(tmpdir(), 'sy-n8n-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: PACKAGE_DIR });
    const tarball = join(packDir, stdout.trim().split('\n').pop() ?? '');
    const target = join(userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE_NAME);
    await mkdir(target, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
    const pkgFile = join(target, 'package.json');
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as Record<string, unknown>;
    delete pkg.devDependencies;
    delete pkg.peerDependencies;
    await writeFile(pkgFile, JSON.stringify(pkg, null, 2));
    await writeFile(
      join(userFolder, '.n8n', 'nodes', 'package.json'),
      JSON.stringify({ name: 'installed-nodes', private: true, dependencies: { [PACKAGE_NAME]: String(pkg.version) } }, null, 2),
    );
  } finally {
    await rm(packDir, { recursive: true, force: true });
  }
}

function n8nEnv(userFolder: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Only what n8n needs: provider keys of the developer's shell must not leak into the test.
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name];
  return {
    ...env,
    N8N_USER_FOLDER: userFolder,
    N8N_ENCRYPTION_KEY: 'switchyard-e2e-not-a-secret',
    DB_TYPE: 'sqlite',
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_LOG_LEVEL: 'info',
    N8N_BLOCK_ENV_ACCESS_IN_NODE: 'true',
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
  };
}

export async function startN8n(): Promise<N8nInstance> {
  const userFolder = await mkdtemp(join(tmpdir(), 'sy-n8n-user-'));
  await installPackage(userFolder);
  const env = n8nEnv(userFolder);
  const transcript: string[] = [];
  const cli = async (args: string[], timeoutMs = 120_000) => {
    // Each command starts n8n's task broker: a free port each time, so parallel runs do not collide on 5679.
    const commandEnv = { ...env, N8N_RUNNERS_BROKER_PORT: String(await freePort()), N8N_PORT: String(await freePort()) };
    try {
      const out = await run(process.execPath, [n8nBin(), ...args], { env: commandEnv, cwd: userFolder, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
      transcript.push(`$ n8n ${args.join(' ')}`, out.stdout, out.stderr);
      return out;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      transcript.push(`$ n8n ${args.join(' ')}`, e.stdout ?? '', e.stderr ?? '');
      e.message = `n8n ${args[0]} failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`;
      throw e;
    }
  };
  const writeJson = async (name: string, value: unknown) => {
    const file = join(userFolder, name);
    await writeFile(file, JSON.stringify(value, null, 2));
    return file;
  };
  return {
    userFolder,
    cli,
    async importCredentials(credentials) {
      await cli(['import:credentials', `--input=${await writeJson('credentials.json', credentials)}`]);
    },
    async importWorkflows(workflows) {
      await cli(['import:workflow', `--input=${await writeJson('workflows.json', workflows)}`]);
    },
    async execute(id, timeoutMs = 180_000) {
      try {
        const { stdout, stderr } = await cli(['execute', `--id=${id}`, '--rawOutput'], timeoutMs);
        return { ok: true, result: parseExecuteOutput(stdout), log: stderr };
      } catch (err) {
        const e = err as Error & { stdout?: string; stderr?: string; code?: number };
        if (e.code !== 1 || !e.stdout) throw err;
        const log = `${e.stdout.slice(-3000)}\n${(e.stderr ?? '').slice(-3000)}`;
        try {
          return { ok: false, result: parseExecuteOutput(e.stdout), log };
        } catch {
          return { ok: false, result: {}, log };
        }
      }
    },
    transcript: () => transcript.join('\n'),
    dispose: () => rm(userFolder, { recursive: true, force: true }),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface RunningGateway {
  url: string;
  /** The gateway key created before start (`keys create`): with a key in its store, the server requires one. */
  apiKey: string;
  output: () => string;
  stop(): Promise<void>;
}

const GATEWAY_KEY = /^sk-sy-[A-Za-z0-9_-]{32,128}$/;

/** `switchyard keys create --json` into the store file; the key is parsed, never printed. */
async function createGatewayKey(main: string, cwd: string, env: NodeJS.ProcessEnv, store: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, [main, 'keys', 'create', '--name', 'n8n-e2e', '--json', '--store', store], { cwd, env }));
  } catch (err) {
    // A failed create printed no key, so its output may be shown.
    throw new Error(`switchyard keys create failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err });
  }
  let key: unknown;
  try {
    key = (JSON.parse(stdout) as { key?: unknown }).key;
  } catch {
    key = undefined;
  }
  // The output holds the secret: say what is wrong without echoing it.
  if (typeof key !== 'string' || !GATEWAY_KEY.test(key)) throw new Error('switchyard keys create --json printed no sk-sy- key');
  return key;
}

/**
 * `node dist/cli/main.js serve` on a free 127.0.0.1 port, its OpenAI provider pointed at `openaiBaseUrl`,
 * with a store file holding one gateway key, so every /v1 request needs that key.
 */
export async function startGateway(openaiBaseUrl: string): Promise<RunningGateway> {
  const main = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  const cwd = await mkdtemp(join(tmpdir(), 'sy-gateway-'));
  const store = join(cwd, 'switchyard.sqlite');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    OPENAI_API_KEY: 'sk-emulator-key',
    OPENAI_BASE_URL: openaiBaseUrl,
    SWITCHYARD_STORE: store,
  };
  let apiKey: string;
  try {
    apiKey = await createGatewayKey(main, cwd, env, store);
  } catch (err) {
    await rm(cwd, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(process.execPath, [main, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(cwd, { recursive: true, force: true });
  };
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return { url, apiKey, output: () => log, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`the Switchyard server did not start on ${url}:\n${log.slice(-3000)}`);
}
