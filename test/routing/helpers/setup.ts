import { VirtualClock, seededRandom } from '../../../src/core/clock';
import type { CoreConfigInput, ProviderLimits } from '../../../src/core/config';
import { createSwitchyard, type RoutingSwitchyard } from '../../../src/core/routing/switchyard';
import type { CatalogModel, RoutedChatRequest } from '../../../src/core/routing/types';
import { FakeAdapter, catalog, hello, model, runtime } from './fakes';

export interface Sim {
  clock: VirtualClock;
  sy: RoutingSwitchyard;
  a: FakeAdapter;
  b: FakeAdapter;
  c: FakeAdapter;
  /** Runs a promise to completion on virtual time. */
  run<T>(p: Promise<T>): Promise<T>;
  /** A request for an ordered model list (default a/m then b/m). */
  req(models?: string[], extra?: Partial<RoutedChatRequest>): RoutedChatRequest;
}

export interface SimOptions {
  models?: CatalogModel[];
  config?: Omit<CoreConfigInput, 'providers'>;
  limits?: Partial<Record<'a' | 'b' | 'c', ProviderLimits>>;
}

/** Three fake providers a, b, c on one virtual clock, with a seeded random source. */
export function simulate(opts: SimOptions = {}): Sim {
  const clock = new VirtualClock();
  const a = new FakeAdapter('a', clock);
  const b = new FakeAdapter('b', clock);
  const c = new FakeAdapter('c', clock);
  const models = opts.models ?? [model('a/m'), model('b/m'), model('c/m')];
  const sy = createSwitchyard(opts.config ?? {}, {
    runtimes: [runtime(a, opts.limits?.a), runtime(b, opts.limits?.b), runtime(c, opts.limits?.c)],
    catalog: catalog(...models),
    clock,
    random: seededRandom(42),
  });
  return {
    clock,
    sy,
    a,
    b,
    c,
    run: (p) => clock.run(p),
    req: (list = ['a/m', 'b/m'], extra = {}) => ({ model: list[0] as string, models: list, ...hello, ...extra }),
  };
}

/** Waits (in real time, briefly) until a condition holds: for code paths that go through bottleneck's timers. */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}
