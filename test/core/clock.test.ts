import { systemClock, VirtualClock } from '../../src/core/clock';

describe('Clock.timer', () => {
  it('fires once its time has come on the virtual clock, in order, and not at all when cancelled', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.timer(20, () => fired.push('b'));
    const cancel = clock.timer(5, () => fired.push('cancelled'));
    clock.timer(10, () => fired.push('a'));
    cancel();
    expect(clock.pending).toBe(2);
    await clock.advance(15);
    expect(fired).toEqual(['a']);
    await clock.advance(5);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.pending).toBe(0);
  });

  it('uses real timers on the system clock', async () => {
    const fired: string[] = [];
    const cancel = systemClock.timer(1, () => fired.push('cancelled'));
    cancel();
    await new Promise<void>((resolve) => systemClock.timer(5, resolve));
    expect(fired).toEqual([]);
  });
});
