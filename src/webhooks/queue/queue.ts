/**
 * The durable job queue (SQLite). Every accepted event becomes a job before the platform is
 * acknowledged; workers claim jobs under a lease that they renew while they work, so a job
 * whose process died (even SIGKILL) is taken over once its lease expires.
 *
 * States: pending -> running -> done | pending (retry with backoff) | dead (dead letters; also a
 * job whose lease expired on its last attempt: its worker died, e.g. killed by the job itself).
 * `(flow, dedupe_key)` is unique: a platform retry or duplicate delivery finds the existing job.
 * Pruning a done job keeps a hash of its key in `seen_keys` (for `dedupe_days`, far longer than
 * jobs are kept): WhatsApp and Twilio sign no timestamp, so a captured request replayed after its
 * job was pruned would otherwise be a new job, and the user would get a second answer.
 * A key the caller chose comes with its body's hash: reusing it with another body is refused
 * (KeyReusedError) instead of being answered with the first request's job.
 * A job's result (the model's answer) is saved before its action runs, and the action's
 * record (`effect`) is written in the same statement that marks the job done.
 */
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import type { FlowResult, JobPayload } from '../types';
import { openQueueDatabase } from './db';

export const JOB_STATES = ['pending', 'running', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Job {
  id: string;
  flow: string;
  source: string;
  key: string;
  state: JobState;
  payload: JobPayload;
  result?: FlowResult;
  attempts: number;
  maxAttempts: number;
  runAt: number;
  leaseOwner?: string;
  leaseUntil?: number;
  lastError?: string;
  /** What the action did ("whatsapp reply sent", "answered inline"...), set when the job is done. */
  effect?: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
}

export interface NewJob {
  flow: string;
  source: string;
  key: string;
  payload: JobPayload;
  maxAttempts: number;
  /** SHA-256 (hex) of the request body, for keys the caller chose; the key is then bound to it. */
  bodySha256?: string;
}

export type Enqueued =
  | {
      job: Job;
      /** True when the job already existed (platform retry or duplicate delivery). */
      duplicate: boolean;
    }
  /** A duplicate of a job pruned earlier (its key is in seen_keys): nothing was enqueued, and the job is gone. */
  | { job?: undefined; duplicate: true };

export interface ListFilter {
  state?: JobState;
  flow?: string;
  limit?: number;
}

/** Another worker holds the job now (our lease expired); whatever we did must not be recorded. */
export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`the lease on job ${jobId} was lost`);
    this.name = 'LeaseLostError';
  }
}

/** A job with this key exists for a different body: the batch was not enqueued (rolled back). */
export class KeyReusedError extends Error {
  constructor(
    readonly key: string,
    readonly jobId: string,
  ) {
    super(`the key of job ${jobId} was reused with a different body`);
    this.name = 'KeyReusedError';
  }
}

export interface QueueOptions {
  now?: () => number;
}

interface JobRow {
  id: string;
  flow: string;
  source: string;
  dedupe_key: string;
  state: JobState;
  payload: string;
  result: string | null;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  effect: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  body_sha256: string | null;
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    flow: row.flow,
    source: row.source,
    key: row.dedupe_key,
    state: row.state,
    payload: JSON.parse(row.payload) as JobPayload,
    result: row.result === null ? undefined : (JSON.parse(row.result) as FlowResult),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    leaseOwner: row.lease_owner ?? undefined,
    leaseUntil: row.lease_until ?? undefined,
    lastError: row.last_error ?? undefined,
    effect: row.effect ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at ?? undefined,
  };
}

/**
 * Keys of requests that came without an idempotency key: random, so they can never repeat, and
 * remembering them after pruning would only grow seen_keys by one row per request.
 */
export const UNIQUE_KEY_PREFIX = 'anon:';

/** What seen_keys stores of a pruned job's key: SHA-256 of flow, NUL, key (flow names hold no NUL). */
export function dedupeKeyHash(flow: string, key: string): Buffer {
  return createHash('sha256').update(`${flow}\0${key}`, 'utf8').digest();
}

/** Job ids are unguessable: `GET /hooks/jobs/:id` treats the id as the capability to read it. */
export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

export class JobQueue {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private closed = false;
  /** Prepared once per SQL text: the worker loop claims, renews and completes jobs all day. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string, opts: QueueOptions = {}) {
    this.path = path === ':memory:' ? path : resolve(path);
    this.db = openQueueDatabase(this.path);
    this.now = opts.now ?? Date.now;
    // prune() hashes the keys it moves to seen_keys inside its SQL statement.
    this.db.function('dedupe_key_hash', { deterministic: true }, (flow: unknown, key: unknown) => dedupeKeyHash(String(flow), String(key)));
  }
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }


  /**
   * Inserts the jobs in one transaction; existing (flow, key) pairs are returned as duplicates,
   * and so are keys of pruned jobs (seen_keys), without a job.
   * Throws KeyReusedError, and inserts none of them, when a job's key exists with another body
   * hash (jobs stored without a hash, e.g. before the column existed, match any body).
   */
  enqueue(items: NewJob[]): Enqueued[] {
    const insert = this.sql(
      `INSERT INTO jobs (id, flow, source, dedupe_key, state, payload, max_attempts, run_at, created_at, updated_at, body_sha256)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) ON CONFLICT (flow, dedupe_key) DO NOTHING`,
    );
    const existing = this.sql('SELECT * FROM jobs WHERE flow = ? AND dedupe_key = ?');
    const seen = this.sql('SELECT 1 FROM seen_keys WHERE key_hash = ?');
    const run = this.db.transaction((jobs: NewJob[]): Enqueued[] => {
      const now = this.now();
      return jobs.map((j) => {
        if (seen.get(dedupeKeyHash(j.flow, j.key)) !== undefined) return { duplicate: true };
        const info = insert.run(newJobId(), j.flow, j.source, j.key, JSON.stringify(j.payload), j.maxAttempts, now, now, now, j.bodySha256 ?? null);
        const row = existing.get(j.flow, j.key) as JobRow;
        const duplicate = info.changes === 0;
        if (duplicate && j.bodySha256 !== undefined && row.body_sha256 !== null && row.body_sha256 !== j.bodySha256) throw new KeyReusedError(j.key, row.id);
        return { job: toJob(row), duplicate };
      });
    });
    return run.immediate(items);
  }

  /**
   * Takes the next due job (or job `id`) for `owner`: a pending job whose time has come, or a
   * running job whose lease expired (its worker died). Counts as an attempt.
   * An expired job that already used its attempts is not handed out again (a job that kills its
   * process would otherwise crash every restart): it goes to the dead letters, in the same
   * transaction, and is passed to `onDead` once that is committed.
   */
  claim(owner: string, leaseMs: number, id?: string, onDead?: (job: Job) => void): Job | undefined {
    const now = this.now();
    const due = `((state = 'pending' AND run_at <= ?) OR (state = 'running' AND lease_until <= ?))`;
    const pick = id
      ? this.sql(`SELECT id, state, attempts, max_attempts FROM jobs WHERE id = ? AND ${due}`)
      : this.sql(`SELECT id, state, attempts, max_attempts FROM jobs WHERE ${due} ORDER BY run_at, created_at LIMIT 1`);
    const take = this.sql(
      `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
       WHERE id = ? RETURNING *`,
    );
    const bury = this.sql(
      `UPDATE jobs SET state = 'dead', last_error = ?, lease_owner = NULL, lease_until = NULL, finished_at = ?, updated_at = ?
       WHERE id = ? RETURNING *`,
    );
    type Picked = Pick<JobRow, 'id' | 'state' | 'attempts' | 'max_attempts'>;
    const run = this.db.transaction(() => {
      const dead: Job[] = [];
      for (;;) {
        const picked = (id ? pick.get(id, now, now) : pick.get(now, now)) as Picked | undefined;
        if (!picked) return { dead };
        if (picked.state === 'pending' || picked.attempts < picked.max_attempts) {
          return { dead, job: toJob(take.get(owner, now + leaseMs, now, picked.id) as JobRow) };
        }
        const error = `worker died during attempt ${picked.attempts} (lease expired)`;
        dead.push(toJob(bury.get(error, now, now, picked.id) as JobRow));
        if (id) return { dead };
      }
    });
    const { job, dead } = run.immediate();
    for (const d of dead) onDead?.(d);
    return job;
  }

  /** Extends the lease; false when it was lost (the job was taken over or finished). */
  renew(id: string, owner: string, leaseMs: number): boolean {
    const now = this.now();
    const info = this
      .sql(`UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(now + leaseMs, now, id, owner);
    return info.changes === 1;
  }

  /** Keeps the model's answer on the job, so later attempts only retry the action. */
  saveResult(id: string, owner: string, result: FlowResult): void {
    const info = this
      .sql(`UPDATE jobs SET result = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(JSON.stringify(result), this.now(), id, owner);
    if (info.changes !== 1) throw new LeaseLostError(id);
  }

  /** Marks the job done and records what its action did, in one statement. */
  complete(id: string, owner: string, effect: string): Job {
    const now = this.now();
    const row = this
      .sql(
        `UPDATE jobs SET state = 'done', effect = ?, lease_owner = NULL, lease_until = NULL, last_error = NULL,
           finished_at = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ? RETURNING *`,
      )
      .get(effect, now, now, id, owner) as JobRow | undefined;
    if (!row) throw new LeaseLostError(id);
    return toJob(row);
  }

  /**
   * Records a failed attempt: back to pending at `retryAt`, or to the dead letters when `retryAt`
   * is undefined (the error is permanent or the attempts are used up).
   */
  fail(id: string, owner: string, error: string, retryAt: number | undefined): Job {
    const now = this.now();
    const row = (
      retryAt === undefined
        ? this.sql(
            `UPDATE jobs SET state = 'dead', last_error = ?, lease_owner = NULL, lease_until = NULL, finished_at = ?, updated_at = ?
             WHERE id = ? AND state = 'running' AND lease_owner = ? RETURNING *`,
          ).get(error, now, now, id, owner)
        : this.sql(
            `UPDATE jobs SET state = 'pending', last_error = ?, run_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE id = ? AND state = 'running' AND lease_owner = ? RETURNING *`,
          ).get(error, retryAt, now, id, owner)
    ) as JobRow | undefined;
    if (!row) throw new LeaseLostError(id);
    return toJob(row);
  }

  /** Gives an unfinished job back (graceful shutdown): pending again, and the attempt not counted. */
  release(id: string, owner: string): boolean {
    const info = this
      .sql(
        `UPDATE jobs SET state = 'pending', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = NULL, run_at = ?, updated_at = ?
         WHERE id = ? AND state = 'running' AND lease_owner = ?`,
      )
      .run(this.now(), this.now(), id, owner);
    return info.changes === 1;
  }

  /** A dead job back to pending with fresh attempts; its saved result (if any) is kept. */
  replay(id: string): Job | undefined {
    const now = this.now();
    const row = this
      .sql(
        `UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?, finished_at = NULL, updated_at = ?
         WHERE id = ? AND state = 'dead' RETURNING *`,
      )
      .get(now, now, id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  get(id: string): Job | undefined {
    const row = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Newest first. */
  list(filter: ListFilter = {}): Job[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) {
      where.push('state = ?');
      args.push(filter.state);
    }
    if (filter.flow) {
      where.push('flow = ?');
      args.push(filter.flow);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    return (this.sql(sql).all(...args, filter.limit ?? 50) as JobRow[]).map(toJob);
  }

  /** Jobs per state. */
  counts(): Record<JobState, number> {
    const out: Record<JobState, number> = { pending: 0, running: 0, done: 0, dead: 0 };
    for (const row of this.sql('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) {
      out[row.state] = row.n;
    }
    return out;
  }

  /** When the next pending job is due (for the workers' sleep), or undefined. */
  nextDueAt(): number | undefined {
    const row = this
      .sql(`SELECT MIN(CASE WHEN state = 'pending' THEN run_at ELSE lease_until END) AS at FROM jobs WHERE state IN ('pending', 'running')`)
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  /**
   * Deletes done jobs finished before `before`; dead letters stay until replayed. Their keys go to
   * seen_keys (hashed, dated by when the job was created) in the same transaction, so no moment
   * exists where a replayed delivery finds neither the job nor its key.
   */
  prune(before: number): number {
    const remember = this.sql(
      `INSERT INTO seen_keys (key_hash, flow, seen_at)
       SELECT dedupe_key_hash(flow, dedupe_key), flow, created_at FROM jobs
       WHERE state = 'done' AND finished_at < ? AND dedupe_key NOT LIKE '${UNIQUE_KEY_PREFIX}%'
       ON CONFLICT (key_hash) DO NOTHING`,
    );
    const remove = this.sql(`DELETE FROM jobs WHERE state = 'done' AND finished_at < ?`);
    const run = this.db.transaction(() => {
      remember.run(before);
      return remove.run(before).changes;
    });
    return run.immediate();
  }

  /** Forgets the keys of pruned jobs created before `before` (webhooks.dedupe_days); returns how many. */
  forgetSeenKeys(before: number): number {
    return this.sql('DELETE FROM seen_keys WHERE seen_at < ?').run(before).changes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
