import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { QUEUE_SCHEMA_VERSION } from '../../src/webhooks/queue/db';
import { WorkerPool } from '../../src/webhooks/pool';
import { JobQueue, KeyReusedError, LeaseLostError, UNIQUE_KEY_PREFIX, dedupeKeyHash, type NewJob } from '../../src/webhooks/queue/queue';
import { ManualClock, captureLogger } from './helpers';

const DAY = 86_400_000;

describe('JobQueue', () => {
  let dir: string;
  let clock: ManualClock;
  let queue: JobQueue;
  const job = (key: string, flow = 'f'): NewJob => ({ flow, source: 'generic', key, payload: { fields: { body: { key } } }, maxAttempts: 3 });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-queue-'));
    clock = new ManualClock(1_000_000);
    queue = new JobQueue(join(dir, 'q.sqlite'), { now: clock.now });
  });
  afterEach(() => {
    queue.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys jobs on (flow, platform id): duplicates return the existing job', () => {
    const [a, b] = queue.enqueue([job('m1'), job('m1', 'other')]);
    const [again] = queue.enqueue([job('m1')]);
    expect(a!.duplicate).toBe(false);
    expect(b!.duplicate).toBe(false);
    expect(again!.duplicate).toBe(true);
    expect(again!.job!.id).toBe(a!.job!.id);
    expect(queue.counts().pending).toBe(2);
  });

  it('a key stored with a body hash is refused with another hash, and the whole batch rolls back', () => {
    const [first] = queue.enqueue([{ ...job('k1'), bodySha256: 'aaa' }]);
    expect(queue.enqueue([{ ...job('k1'), bodySha256: 'aaa' }])[0]).toMatchObject({ duplicate: true, job: { id: first!.job!.id } });
    let thrown: unknown;
    try {
      queue.enqueue([job('k2'), { ...job('k1'), bodySha256: 'bbb' }]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(KeyReusedError);
    expect(thrown).toMatchObject({ key: 'k1', jobId: first!.job!.id });
    expect(queue.list().map((j) => j.key)).toEqual(['k1']);
    // Platform ids carry no hash: their duplicates are answered as before.
    queue.enqueue([job('p1')]);
    expect(queue.enqueue([{ ...job('p1'), bodySha256: 'ccc' }])[0]!.duplicate).toBe(true);
  });

  it('migrates a version 1 queue file: its jobs are kept, and match any body', () => {
    const path = join(dir, 'q.sqlite');
    const old = queue.enqueue([job('legacy')])[0]!.job!;
    queue.close();
    const db = new Database(path);
    db.exec('DROP TABLE seen_keys; ALTER TABLE jobs DROP COLUMN body_sha256; UPDATE schema_version SET version = 1');
    db.close();
    queue = new JobQueue(path, { now: clock.now });
    const db2 = new Database(path, { readonly: true });
    expect(db2.prepare('SELECT version FROM schema_version').get()).toEqual({ version: QUEUE_SCHEMA_VERSION });
    db2.close();
    expect(QUEUE_SCHEMA_VERSION).toBe(3);
    expect(queue.get(old.id)?.key).toBe('legacy');
    expect(queue.enqueue([{ ...job('legacy'), bodySha256: 'any' }])[0]).toMatchObject({ duplicate: true, job: { id: old.id } });
  });

  it('survives reopening: what was enqueued is on disk', () => {
    const stored = queue.enqueue([job('m1')])[0]!.job!;
    queue.close();
    queue = new JobQueue(join(dir, 'q.sqlite'), { now: clock.now });
    expect(queue.get(stored.id)?.payload.fields).toEqual({ body: { key: 'm1' } });
  });

  it('leases a job to one owner; an expired lease is taken over and counts as an attempt', () => {
    queue.enqueue([job('m1')]);
    const first = queue.claim('w1', 10_000)!;
    expect(first.state).toBe('running');
    expect(first.attempts).toBe(1);
    expect(queue.claim('w2', 10_000)).toBeUndefined();
    clock.advance(9_999);
    expect(queue.renew(first.id, 'w1', 10_000)).toBe(true);
    clock.advance(10_000);
    const taken = queue.claim('w2', 10_000)!;
    expect(taken.id).toBe(first.id);
    expect(taken.attempts).toBe(2);
    expect(queue.renew(first.id, 'w1', 10_000)).toBe(false);
    expect(() => queue.complete(first.id, 'w1', 'sent')).toThrow(LeaseLostError);
    expect(queue.complete(taken.id, 'w2', 'sent').effect).toBe('sent');
  });

  it('a job whose lease expired on its last attempt (its worker died with it) goes to the dead letters instead of running again', () => {
    const crashing = queue.enqueue([{ ...job('crash'), maxAttempts: 2 }])[0]!.job!;
    const dead: Array<{ id: string; state: string }> = [];
    const onDead = (j: { id: string; state: string }) => dead.push({ id: j.id, state: j.state });
    expect(queue.claim('p1', 1000, undefined, onDead)?.attempts).toBe(1);
    clock.advance(1000); // process killed: the lease runs out
    expect(queue.claim('p2', 1000, undefined, onDead)?.attempts).toBe(2);
    clock.advance(1000);
    const other = queue.enqueue([job('next')])[0]!.job!;
    // The crashed job is buried and the next due job is handed out, in the same claim.
    expect(queue.claim('p3', 1000, undefined, onDead)?.id).toBe(other.id);
    expect(dead).toEqual([{ id: crashing.id, state: 'dead' }]);
    expect(queue.get(crashing.id)).toMatchObject({
      state: 'dead',
      attempts: 2,
      lastError: 'worker died during attempt 2 (lease expired)',
      finishedAt: clock.now(),
      leaseOwner: undefined,
    });
    expect(queue.claim('p4', 1000)).toBeUndefined();
    expect(queue.replay(crashing.id)).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('claiming a given job whose lease expired on its last attempt buries it and hands out nothing', () => {
    const a = queue.enqueue([{ ...job('m1'), maxAttempts: 1 }])[0]!.job!;
    queue.claim('p1', 1000, a.id);
    clock.advance(1000);
    expect(queue.claim('p2', 1000, a.id)).toBeUndefined();
    expect(queue.get(a.id)).toMatchObject({ state: 'dead', lastError: 'worker died during attempt 1 (lease expired)' });
  });

  it('keeps the saved result across a retry, and records the effect with done', () => {
    queue.enqueue([job('m1')]);
    const j = queue.claim('w', 1000)!;
    queue.saveResult(j.id, 'w', { text: 'hello', model: 'm', provider: 'p', costUsd: 0 });
    queue.fail(j.id, 'w', 'reply API down', clock.now() + 5000);
    expect(queue.claim('w', 1000)).toBeUndefined();
    clock.advance(5000);
    const again = queue.claim('w', 1000)!;
    expect(again.result?.text).toBe('hello');
    expect(again.lastError).toBe('reply API down');
    const done = queue.complete(again.id, 'w', 'whatsapp message sent');
    expect(done).toMatchObject({ state: 'done', effect: 'whatsapp message sent', lastError: undefined });
  });

  it('dead letters are listed and replayed with fresh attempts', () => {
    queue.enqueue([job('m1'), job('m2')]);
    const j = queue.claim('w', 1000)!;
    queue.fail(j.id, 'w', 'bad request', undefined);
    expect(queue.list({ state: 'dead' }).map((d) => d.id)).toEqual([j.id]);
    expect(queue.replay(j.id)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(queue.replay(j.id)).toBeUndefined();
    expect(queue.counts()).toMatchObject({ pending: 2, dead: 0 });
  });

  it('release gives a job back without counting the attempt', () => {
    queue.enqueue([job('m1')]);
    const j = queue.claim('w', 1000)!;
    expect(queue.release(j.id, 'w')).toBe(true);
    expect(queue.get(j.id)).toMatchObject({ state: 'pending', attempts: 0, leaseOwner: undefined });
  });

  it('claims a given job only when it is due, and reports the next due time', () => {
    const a = queue.enqueue([job('m1')])[0]!.job!;
    expect(queue.nextDueAt()).toBe(clock.now());
    expect(queue.claim('w', 1000, 'job_unknown')).toBeUndefined();
    expect(queue.claim('w', 1000, a.id)?.id).toBe(a.id);
    expect(queue.claim('w', 1000, a.id)).toBeUndefined();
  });

  it('prunes finished jobs but keeps dead letters', () => {
    queue.enqueue([job('m1'), job('m2')]);
    const a = queue.claim('w', 1000)!;
    queue.complete(a.id, 'w', 'done');
    const b = queue.claim('w', 1000)!;
    queue.fail(b.id, 'w', 'boom', undefined);
    clock.advance(10);
    expect(queue.prune(clock.now())).toBe(1);
    expect(queue.get(b.id)?.state).toBe('dead');
  });
  /** Runs a done job for `key` and prunes it; returns the job. */
  const pruned = (key: string, flow = 'f') => {
    const stored = queue.enqueue([job(key, flow)])[0]!.job!;
    const claimed = queue.claim('w', 1000, stored.id)!;
    queue.complete(claimed.id, 'w', 'reply sent');
    clock.advance(10);
    expect(queue.prune(clock.now())).toBe(1);
    return stored;
  };

  it('remembers the key of a pruned job: a later delivery is a duplicate without a job, other keys and flows are not', () => {
    const first = pruned('wamid.1');
    expect(queue.get(first.id)).toBeUndefined();
    expect(queue.enqueue([job('wamid.1')])).toEqual([{ duplicate: true }]);
    expect(queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
    // In a batch, the others are enqueued as usual.
    const [again, other, otherFlow] = queue.enqueue([job('wamid.1'), job('wamid.2'), job('wamid.1', 'g')]);
    expect(again).toEqual({ duplicate: true });
    expect(other).toMatchObject({ duplicate: false, job: { key: 'wamid.2', state: 'pending' } });
    expect(otherFlow).toMatchObject({ duplicate: false, job: { flow: 'g', key: 'wamid.1' } });
  });

  it('does not remember the random keys of requests sent without an idempotency key (they never repeat)', () => {
    pruned(`${UNIQUE_KEY_PREFIX}0f8c9a1e-5b7d-4c1e-9f00-3a2b1c0d9e8f`);
    const db = new Database(queue.path, { readonly: true });
    const count = db.prepare('SELECT COUNT(*) AS n FROM seen_keys').get() as { n: number };
    db.close();
    expect(count.n).toBe(0);
  });

  it('keeps only a hash of the flow and key, dated when the job was created; forgetSeenKeys drops those older than its cut-off', () => {
    const first = pruned('SM0123');
    const db = new Database(queue.path, { readonly: true });
    const rows = db.prepare('SELECT key_hash, flow, seen_at FROM seen_keys').all() as Array<{ key_hash: Buffer; flow: string; seen_at: number }>;
    db.close();
    expect(rows).toEqual([{ key_hash: dedupeKeyHash('f', 'SM0123'), flow: 'f', seen_at: first.createdAt }]);
    expect(rows[0]!.key_hash).toHaveLength(32);
    expect(rows[0]!.key_hash.toString('latin1')).not.toContain('SM0123');

    expect(queue.forgetSeenKeys(first.createdAt)).toBe(0);
    expect(queue.enqueue([job('SM0123')])[0]!.duplicate).toBe(true);
    expect(queue.forgetSeenKeys(first.createdAt + 1)).toBe(1);
    expect(queue.enqueue([job('SM0123')])[0]).toMatchObject({ duplicate: false, job: { state: 'pending' } });
  });

  it('migrates a version 2 queue file: seen_keys is added, jobs are kept, and their keys are remembered once pruned', () => {
    const path = join(dir, 'q.sqlite');
    const old = queue.enqueue([job('wamid.v2')])[0]!.job!;
    queue.close();
    // A file as the version 2 schema left it.
    const db = new Database(path);
    db.exec('DROP TABLE seen_keys; UPDATE schema_version SET version = 2');
    db.close();
    queue = new JobQueue(path, { now: clock.now });
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT version FROM schema_version').get()).toEqual({ version: 3 });
    expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'seen_keys'").get()).toEqual({ name: 'seen_keys' });
    check.close();
    expect(queue.get(old.id)?.key).toBe('wamid.v2');
    const claimed = queue.claim('w', 1000, old.id)!;
    queue.complete(claimed.id, 'w', 'sent');
    clock.advance(10);
    expect(queue.prune(clock.now())).toBe(1);
    expect(queue.enqueue([job('wamid.v2')])).toEqual([{ duplicate: true }]);
  });
});

describe('WorkerPool pruning', () => {
  let dir: string;
  let clock: ManualClock;
  let queue: JobQueue;
  let pool: WorkerPool;
  const logs = captureLogger();
  const twilioJob: NewJob = { flow: 'f', source: 'twilio', key: 'SM1', payload: { fields: {} }, maxAttempts: 1 };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-prune-'));
    clock = new ManualClock(1_000_000_000_000);
    queue = new JobQueue(join(dir, 'q.sqlite'), { now: clock.now });
    logs.lines.length = 0;
    const settings = { concurrency: 1, leaseMs: 1000, pollMs: 20, now: clock.now, logger: logs.logger, retentionMs: 14 * DAY, dedupeMs: 400 * DAY };
    pool = new WorkerPool({ queue, process: async () => undefined, ...settings });
  });
  afterEach(() => {
    queue.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prunes done jobs after retention_days and forgets their keys a day after dedupe_days', () => {
    const stored = queue.enqueue([twilioJob])[0]!.job!;
    queue.complete(queue.claim('w', 1000)!.id, 'w', 'answered');
    clock.advance(14 * DAY + 1);
    pool.prune();
    expect(logs.lines).toEqual([{ level: 'info', msg: 'pruned finished webhook jobs', fields: { removed: 1 } }]);
    expect(queue.get(stored.id)).toBeUndefined();
    // Still remembered at 400 days and 23 hours: the day's margin covers clock skew with the platform.
    clock.ms = stored.createdAt + 401 * DAY - 3_600_000;
    pool.prune();
    expect(queue.enqueue([twilioJob])).toEqual([{ duplicate: true }]);
    clock.ms = stored.createdAt + 401 * DAY;
    pool.prune(); // exactly 401 days: kept
    expect(queue.enqueue([twilioJob])).toEqual([{ duplicate: true }]);
    clock.advance(3_600_000);
    pool.prune();
    expect(logs.lines).toEqual([
      { level: 'info', msg: 'pruned finished webhook jobs', fields: { removed: 1 } },
      { level: 'info', msg: 'forgot the dedupe keys of long-pruned webhook jobs', fields: { forgotten: 1 } },
    ]);
    expect(queue.enqueue([twilioJob])[0]).toMatchObject({ duplicate: false, job: { state: 'pending' } });
  });
});
