import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerJobsCommands } from '../../src/cli/jobs';
import { JobQueue } from '../../src/webhooks/queue/queue';
import { runCli, type CliRun } from '../helpers/cli';

function run(args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<CliRun> {
  // As src/cli/main.ts builds the program: usage after errors, set before the commands are added.
  return runCli(args, (program, out) => registerJobsCommands(program.showHelpAfterError(), { out, env, cwd }));
}

describe('switchyard jobs', () => {
  let dir: string;
  let file: string;
  let ids: { done: string; dead: string; pending: string };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-jobs-cli-'));
    file = join(dir, 'jobs.sqlite');
    const queue = new JobQueue(file);
    const [a, b, c] = queue.enqueue(
      ['wamid.1', 'wamid.2', 'wamid.3'].map((key) => ({ flow: 'support', source: 'whatsapp', key, payload: { fields: { message: { text: `hi ${key}` } } }, maxAttempts: 3 })),
    );
    const first = queue.claim('cli-test', 1000)!;
    queue.saveResult(first.id, 'cli-test', { text: 'Hello!', model: 'openai/gpt-4.1-mini', provider: 'openai', costUsd: 0.0001 });
    queue.complete(first.id, 'cli-test', 'whatsapp message sent (wamid.OUT)');
    const second = queue.claim('cli-test', 1000)!;
    queue.fail(second.id, 'cli-test', 'WhatsApp Graph API: HTTP 400: (#131030) Recipient not in allowed list', undefined);
    ids = { done: a!.job!.id, dead: b!.job!.id, pending: c!.job!.id };
    queue.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists jobs with counts, filters by state, and prints JSON', async () => {
    const res = await run(['jobs', 'list', '--queue', file], dir);
    expect(res.error).toBeUndefined();
    const text = res.out.join('\n');
    expect(text).toContain('jobs: 1 pending, 0 running, 1 done, 1 dead');
    expect(text).toContain(ids.dead);
    expect(text).toMatch(/Recipient not in allowed list/);
    const dead = await run(['jobs', 'list', '--queue', file, '--state', 'dead', '--json'], dir);
    const parsed = JSON.parse(dead.out.join('\n')) as { jobs: Array<{ id: string; status: string; error: string }> };
    expect(parsed.jobs).toEqual([expect.objectContaining({ id: ids.dead, status: 'dead', error: expect.stringMatching(/131030/) })]);
    expect((await run(['jobs', 'list', '--queue', file, '--state', 'zombie'], dir)).error?.exitCode).toBe(1);
  });

  it('shows one job with its answer, effect and fields', async () => {
    const res = await run(['jobs', 'show', ids.done, '--queue', file], dir);
    const text = res.out.join('\n');
    expect(text).toContain('state:     done');
    expect(text).toContain('effect:    whatsapp message sent (wamid.OUT)');
    expect(text).toContain('answer:    Hello!');
    expect(text).toContain('"text":"hi wamid.1"');
    expect((await run(['jobs', 'show', 'job_nope', '--queue', file], dir)).error?.message).toMatch(/no job job_nope/);
  });

  it('replays dead jobs only; finds the queue through SWITCHYARD_QUEUE or the configuration', async () => {
    const notDead = await run(['jobs', 'replay', ids.done, '--queue', file], dir);
    expect(notDead.error?.message).toBe(`error: nothing to replay; only dead jobs can be: ${ids.done} (done)`);
    expect(notDead.error?.exitCode).toBe(1);

    const viaEnv = await run(['jobs', 'replay', '--all-dead'], dir, { SWITCHYARD_QUEUE: file });
    expect(viaEnv.error).toBeUndefined();
    expect(viaEnv.out.join('\n')).toContain(`replayed 1 job(s): ${ids.dead}`);

    // The flows' secrets are not needed to find the queue.
    writeFileSync(join(dir, 'switchyard.yaml'), 'webhooks:\n  queue_path: ${JOBS_DIR:-.}/jobs.sqlite\nflows:\n  x:\n    source: slack\n    slack: { signing_secret: "${UNSET_SECRET}", bot_token: t }\n');
    const viaConfig = await run(['jobs', 'list', '--state', 'pending'], dir);
    expect(viaConfig.out.join('\n')).toContain('jobs: 2 pending, 0 running, 1 done, 0 dead');
    const queue = new JobQueue(file);
    expect(queue.get(ids.dead)).toMatchObject({ state: 'pending', attempts: 0 });
    queue.close();
  });

  it.each([
    ['replay of a done job', (): string[] => ['jobs', 'replay', ids.done], /^error: nothing to replay; only dead jobs can be: job_\S+ \(done\)$/],
    ['replay of an unknown job', (): string[] => ['jobs', 'replay', 'job_nope'], /^error: nothing to replay; only dead jobs can be: job_nope \(not found\)$/],
    ['show of an unknown job', (): string[] => ['jobs', 'show', 'job_nope'], /^error: no job job_nope$/],
  ])('%s prints only the error line (no usage) and exits 1', async (_what, args, line) => {
    const res = await run([...args(), '--queue', file], dir);
    expect(res.error?.exitCode).toBe(1);
    expect(res.err.join('').trim()).toMatch(line);
    expect(res.err.join('')).not.toMatch(/Usage:/);
    expect(res.out).toEqual([]);
  });

  it('still shows the usage when the command line itself is wrong', async () => {
    const res = await run(['jobs', 'replay', '--queue', file], dir);
    expect(res.error?.exitCode).toBe(1);
    expect(res.err.join('')).toMatch(/error: name job ids, or pass --all-dead\n[\s\S]*Usage: switchyard jobs replay/);
  });

  it('says where it looked when there is no queue', async () => {
    const res = await run(['jobs', 'list', '--queue', join(dir, 'missing.sqlite')], dir);
    expect(res.error?.message).toMatch(/no job queue at .*missing\.sqlite/);
  });
});
