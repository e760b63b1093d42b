import { pruneBatchSql, pruneInBatches } from './retention';

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
      async (ms) => void pauses.push(ms),
    );
    expect(n).toBe(242);
    expect(calls).toEqual([100, 100, 100]);
    expect(pauses).toEqual([5, 5]);
  });

  it('does at most maxBatches in one pass', async () => {
    let calls = 0;
    const n = await pruneInBatches(
      async () => {
        calls++;
        return 100;
      },
      plan,
      async () => undefined,
    );
    expect(calls).toBe(10);
    expect(n).toBe(1000);
  });
});

describe('pruneBatchSql', () => {
  it('deletes a bounded batch of rows older than the given days, by the indexed time', () => {
    const sql = pruneBatchSql('device_events');
    expect(sql).toMatch(/DELETE FROM device_events WHERE id IN/);
    expect(sql).toMatch(/at < now\(\) - make_interval\(days => \$1\) LIMIT \$2/);
  });
});
