import type { Switchyard } from '../core/gateway';

/** One Switchyard and the requests still using it. */
export interface Lease {
  readonly switchyard: Switchyard;
  /** Requests in flight on this Switchyard. */
  inFlight: number;
  retired: boolean;
  idle?: () => void;
}

/**
 * The current Switchyard, swappable at run time (config reload): requests lease the current one
 * and keep it until they end; a replaced Switchyard is closed once its last request released it.
 */
export class SwitchyardHolder {
  private lease: Lease;
  private closing = new Set<Promise<void>>();
  private total = 0;

  constructor(switchyard: Switchyard) {
    this.lease = { switchyard, inFlight: 0, retired: false };
  }

  get current(): Switchyard {
    return this.lease.switchyard;
  }

  /** Requests in flight on every Switchyard, current and retired. */
  inFlight(): number {
    return this.total;
  }

  acquire(): Lease {
    const lease = this.lease;
    lease.inFlight += 1;
    this.total += 1;
    return lease;
  }

  release(lease: Lease): void {
    lease.inFlight -= 1;
    this.total -= 1;
    if (lease.inFlight === 0) lease.idle?.();
  }

  /** Runs `fn` on the current Switchyard, which stays open until `fn` settles (webhook jobs, connectors). */
  async use<T>(fn: (switchyard: Switchyard) => Promise<T>): Promise<T> {
    const lease = this.acquire();
    try {
      return await fn(lease.switchyard);
    } finally {
      this.release(lease);
    }
  }

  /** Makes `next` current; the previous one is closed when its requests finished. */
  swap(next: Switchyard): Promise<void> {
    const old = this.lease;
    this.lease = { switchyard: next, inFlight: 0, retired: false };
    return this.retire(old);
  }

  private retire(lease: Lease): Promise<void> {
    lease.retired = true;
    const done = new Promise<void>((resolve) => {
      if (lease.inFlight === 0) resolve();
      else lease.idle = resolve;
    }).then(() => lease.switchyard.close());
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done)).catch(() => undefined);
    return done;
  }

  /** Waits for every request (current and retired) to finish, then closes everything. */
  async close(): Promise<void> {
    await Promise.allSettled([this.retire(this.lease), ...this.closing]);
  }
}
