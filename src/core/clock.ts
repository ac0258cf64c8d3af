/**
 * Time and randomness as injectable dependencies, so routing decisions (backoff, circuit
 * cooldowns, deadlines, TTFT limits) can be simulated deterministically in tests and benchmarks.
 */
export interface Clock {
  /** Milliseconds; only differences matter (the system clock uses the epoch). */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first (the timer is then cleared). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fire` after `ms` unless the returned function is called first. For timers that are
   * nearly always cancelled (an attempt's deadline): sleep() with an AbortSignal costs ~2 us per
   * timer in EventTarget dispatch, this a setTimeout / clearTimeout pair (~0.1 us).
   */
  timer(ms: number, fire: () => void): () => void;
}

/** A uniform number in [0, 1). */
export type Random = () => number;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/**
 * sleep() on a clock's timer(): the abort listener goes when the timer fires, the timer when
 * the signal aborts first.
 */
function sleepOn(clock: Pick<Clock, 'timer'>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      cancel();
      reject(abortReason(signal as AbortSignal));
    };
    const cancel = clock.timer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
  timer(ms, fire) {
    const timer = setTimeout(fire, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

export const mathRandom: Random = Math.random;

/** Mulberry32: a tiny seeded generator, good enough for jitter and simulations. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface VirtualTimer {
  at: number;
  seq: number;
  fire: () => void;
}

const realTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Simulated time: `sleep()` registers a timer that fires only when the test advances the clock,
 * so a 30 s backoff costs nothing. `run(promise)` advances from timer to timer, letting the code
 * under test settle in between, until the promise settles.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  timer(ms: number, fire: () => void): () => void {
    const timer: VirtualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fire };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `ms`, firing every timer due on the way in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await realTick();
    while (this.timers[0] && this.timers[0].at <= target) {
      this.fireNext();
      await realTick();
    }
    this.current = Math.max(this.current, target);
  }

  /** Lets `promise` run to completion, jumping straight to the next timer whenever it is idle. */
  async run<T>(promise: Promise<T>, maxIdleTicks = 1000): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    let idle = 0;
    for (;;) {
      await realTick();
      if (settled) break;
      if (this.timers.length > 0) {
        this.fireNext();
        idle = 0;
      } else if (++idle > maxIdleTicks) {
        throw new Error('VirtualClock.run: the promise is waiting on something other than the clock');
      }
    }
    return watched;
  }

  private fireNext(): void {
    const timer = this.timers.shift();
    if (!timer) return;
    this.current = Math.max(this.current, timer.at);
    timer.fire();
  }
}
