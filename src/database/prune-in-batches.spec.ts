import { pruneInBatches } from './prune-in-batches';

describe('pruneInBatches', () => {
  const plan = { batchRows: 100, maxBatches: 10, pauseMs: 5 };

  it('stops at the first batch that is not full, pausing between full ones', async () => {
    const sizes = [100, 100, 42];
    const pauses: number[] = [];
    const calls: number[] = [];
    const n = await pruneInBatches(
      async (limit) => {
        calls.push(limit);
        return sizes.shift() ?? 0;
      },
      plan,
      { pause: async (ms) => void pauses.push(ms) },
    );
    expect(n).toBe(242);
    expect(calls).toEqual([100, 100, 100]);
    expect(pauses).toEqual([5, 5]);
  });

  it('does one batch and no pause when nothing old is left', async () => {
    const pause = jest.fn(async () => undefined);
    const batch = jest.fn(async () => 0);
    await expect(pruneInBatches(batch, plan, { pause })).resolves.toBe(0);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(pause).not.toHaveBeenCalled();
  });

  it('does at most maxBatches in one pass', async () => {
    let calls = 0;
    const n = await pruneInBatches(
      async () => {
        calls++;
        return 100;
      },
      plan,
      { pause: async () => undefined },
    );
    expect(calls).toBe(10);
    expect(n).toBe(1000);
  });

  it('does not pause when the plan says 0 ms', async () => {
    const pause = jest.fn(async () => undefined);
    const sizes = [100, 100, 0];
    await pruneInBatches(async () => sizes.shift() ?? 0, { ...plan, pauseMs: 0 }, { pause });
    expect(pause).not.toHaveBeenCalled();
  });

  it('stops before the next batch once stopped() says so (shutdown)', async () => {
    let calls = 0;
    let stopping = false;
    const n = await pruneInBatches(
      async () => {
        if (++calls === 3) stopping = true;
        return 100;
      },
      plan,
      { pause: async () => undefined, stopped: () => stopping },
    );
    expect(calls).toBe(3);
    expect(n).toBe(300);
  });

  it('waits between batches on a real timer by default, and leaves none behind', async () => {
    jest.useFakeTimers();
    try {
      const sizes = [100, 7];
      const p = pruneInBatches(async () => sizes.shift() ?? 0, plan);
      await jest.advanceTimersByTimeAsync(4);
      expect(sizes).toEqual([7]);
      await jest.advanceTimersByTimeAsync(1);
      await expect(p).resolves.toBe(107);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
