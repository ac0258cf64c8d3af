/**
 * The workers: up to `concurrency` jobs at once, each under a lease renewed every third of
 * `leaseMs`. Idle workers sleep until `wake()` (a new event), the next due retry, or `pollMs`
 * (jobs enqueued or replayed by another process, leases expiring).
 *
 * A webhook request waiting for its job's result (`runSoon`) gets no worker of its own: its job
 * runs at once when a worker is free, else it takes the next worker that frees up, ahead of the
 * queue. A request that stops waiting withdraws; its job then runs in queue order.
 *
 * `stop(timeoutMs)`: no new jobs; in-flight jobs get `timeoutMs` to finish, then they are
 * aborted and released (pending again, the attempt not counted), so the next start runs them.
 * `stopSignal` aborts when stop() begins: webhook requests then stop waiting for jobs that will
 * not run here (see `finished`), and answer without the result.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Job, JobQueue } from './queue/queue';
import type { ProcessJob } from './processor';
import type { WebhookLogger } from './types';

export interface PoolOptions {
  queue: JobQueue;
  process: ProcessJob;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  now: () => number;
  logger: WebhookLogger;
  /** Identifies this process's leases (default host:pid:random). */
  owner?: string;
  /** Prune done jobs older than this many ms, once an hour. */
  retentionMs?: number;
  /** Forget the keys of pruned jobs (queue seen_keys) once they are this old (plus a day), in the same hourly pass. */
  dedupeMs?: number;
  /** A job claim found dead: its lease expired on its last attempt (the worker died with it). */
  onDead?: (job: Job) => void;
}

interface Running {
  job: Job;
  controller: AbortController;
  done: Promise<void>;
}

const PRUNE_EVERY_MS = 3_600_000;
/**
 * Keys are dated by our clock, WhatsApp messages by Meta's: a day's margin keeps every key until
 * after its message counts as stale, so no clock skew opens a gap between the two.
 */
const KEY_MARGIN_MS = 86_400_000;

export class WorkerPool {
  readonly owner: string;
  private readonly running = new Map<string, Running>();
  /** Jobs a webhook request waits for, in arrival order: they take the next free workers. */
  private readonly awaited = new Set<string>();
  private stopping = false;
  private readonly stopController = new AbortController();
  private started = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private lastPrune = -Infinity;

  constructor(private readonly opts: PoolOptions) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  /** Jobs being processed right now. */
  get inFlight(): number {
    return this.running.size;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loop = this.run();
  }

  /** Aborts when stop() begins: from then on this pool starts no job. */
  get stopSignal(): AbortSignal {
    return this.stopController.signal;
  }

  /** Resolves once job `id` is not (or no longer) being processed by this pool. */
  finished(id: string): Promise<void> {
    return this.running.get(id)?.done ?? Promise.resolve();
  }

  /** New work may be due: look now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * A webhook request waits for job `id`: it runs now if a worker is free, else on the next one
   * that frees up. Returns the withdrawal, for when the request stops waiting.
   */
  runSoon(id: string): () => void {
    if (this.stopping || this.running.has(id)) return () => undefined;
    this.awaited.add(id);
    this.takeAwaited();
    return () => this.awaited.delete(id);
  }

  /** Processes every due job one by one until none is left (tests, one-shot CLI runs). */
  async drain(): Promise<number> {
    let count = 0;
    for (;;) {
      const job = this.opts.queue.claim(this.owner, this.opts.leaseMs, undefined, this.opts.onDead);
      if (!job) return count;
      await this.track(job);
      count++;
    }
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.awaited.clear();
    this.stopController.abort();
    this.wake();
    await this.loop;
    const all = () => Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (this.running.size > 0) {
      this.opts.logger.info('webhook workers stopping: waiting for in-flight jobs', { in_flight: this.running.size });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.opts.logger.warn('webhook jobs still running at shutdown: released for the next start', { jobs: [...this.running.keys()] });
        for (const r of this.running.values()) r.controller.abort(new Error('shutting down'));
        await all();
      }
    }
  }

  private track(job: Job): Promise<void> {
    const controller = new AbortController();
    const renew = setInterval(() => {
      if (!this.opts.queue.renew(job.id, this.owner, this.opts.leaseMs)) controller.abort(new Error('lease lost'));
    }, Math.max(250, Math.floor(this.opts.leaseMs / 3)));
    renew.unref();
    const done = this.opts
      .process(job, this.owner, controller.signal)
      .catch((err: unknown) => this.opts.logger.error('webhook job processing crashed', { job: job.id, err }))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(job.id);
        this.takeAwaited();
        this.wake();
      });
    this.running.set(job.id, { job, controller, done });
    return done;
  }

  /** Hands free workers to awaited jobs; ids that cannot be claimed (done, running elsewhere, not due) are dropped. */
  private takeAwaited(): void {
    for (const id of this.awaited) {
      if (this.stopping || this.running.size >= this.opts.concurrency) return;
      this.awaited.delete(id);
      if (this.running.has(id)) continue;
      const job = this.opts.queue.claim(this.owner, this.opts.leaseMs, id, this.opts.onDead);
      if (job) void this.track(job);
    }
  }

  private fill(): void {
    this.takeAwaited();
    while (!this.stopping && this.running.size < this.opts.concurrency) {
      const job = this.opts.queue.claim(this.owner, this.opts.leaseMs, undefined, this.opts.onDead);
      if (!job) return;
      void this.track(job);
    }
  }

  /** Prunes done jobs and forgets old dedupe keys; the loop calls it, and it acts at most once an hour. */
  prune(): void {
    const now = this.opts.now();
    if (this.opts.retentionMs === undefined || now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const removed = this.opts.queue.prune(now - this.opts.retentionMs);
    if (removed > 0) this.opts.logger.info('pruned finished webhook jobs', { removed });
    if (this.opts.dedupeMs === undefined) return;
    const forgotten = this.opts.queue.forgetSeenKeys(now - this.opts.dedupeMs - KEY_MARGIN_MS);
    if (forgotten > 0) this.opts.logger.info('forgot the dedupe keys of long-pruned webhook jobs', { forgotten });
  }

  private sleepMs(): number {
    // Busy: a finishing job wakes the loop.
    if (this.running.size >= this.opts.concurrency) return this.opts.pollMs;
    const next = this.opts.queue.nextDueAt();
    const until = next === undefined ? this.opts.pollMs : next - this.opts.now();
    return Math.max(10, Math.min(this.opts.pollMs, until));
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        this.prune();
        this.fill();
      } catch (err) {
        this.opts.logger.error('webhook queue unavailable; retrying', { err });
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.sleepMs());
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}
