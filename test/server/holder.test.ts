import { SwitchyardHolder } from '../../src/server/holder';
import { FakeSwitchyard } from './helpers/fake-switchyard';

describe('SwitchyardHolder (config reload)', () => {
  it('closes a replaced Switchyard only after its last in-flight request released it', async () => {
    const first = new FakeSwitchyard();
    const second = new FakeSwitchyard();
    const holder = new SwitchyardHolder(first);
    const lease = holder.acquire();
    const retired = holder.swap(second);
    expect(holder.current).toBe(second);
    await new Promise((r) => setImmediate(r));
    expect(first.closed).toBe(false);
    expect(holder.inFlight()).toBe(1);
    holder.release(lease);
    await retired;
    expect(first.closed).toBe(true);
    expect(second.closed).toBe(false);
    expect(holder.inFlight()).toBe(0);
  });

  it('close() waits for every request, then closes the current Switchyard', async () => {
    const only = new FakeSwitchyard();
    const holder = new SwitchyardHolder(only);
    const lease = holder.acquire();
    const closing = holder.close();
    await new Promise((r) => setImmediate(r));
    expect(only.closed).toBe(false);
    holder.release(lease);
    await closing;
    expect(only.closed).toBe(true);
  });
});

describe('SwitchyardHolder.use', () => {
  it('keeps the Switchyard it started on open until the work settles, across a swap', async () => {
    const first = new FakeSwitchyard();
    const holder = new SwitchyardHolder(first);
    let release!: () => void;
    const work = holder.use(async (sy) => {
      await new Promise<void>((r) => (release = r));
      return sy;
    });
    const retired = holder.swap(new FakeSwitchyard());
    await new Promise((r) => setImmediate(r));
    expect(first.closed).toBe(false);
    release();
    expect(await work).toBe(first);
    await retired;
    expect(first.closed).toBe(true);
  });
});
