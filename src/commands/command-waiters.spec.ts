import { CommandWaiters } from './command-waiters';

describe('CommandWaiters', () => {
  it('wakes every waiter of an id at once and forgets them', async () => {
    const w = new CommandWaiters();
    const a = w.wait('c-1', 10_000);
    const b = w.wait('c-1', 10_000);
    const other = w.wait('c-2', 10_000);
    const started = Date.now();
    w.wake('c-1');
    await Promise.all([a.promise, b.promise]);
    expect(Date.now() - started).toBeLessThan(5000); // not the 10 s deadline
    expect(w.size).toBe(1);
    other.cancel();
    expect(w.size).toBe(0);
  });

  it('resolves at the deadline when nothing settles', async () => {
    const w = new CommandWaiters();
    const started = Date.now();
    await w.wait('c-3', 50).promise;
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(w.size).toBe(0);
  });
});
