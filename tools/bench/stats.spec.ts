import { LatencyTracker, percentile } from './stats';

describe('bench stats', () => {
  it('computes nearest-rank percentiles', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(50);
    expect(percentile(s, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('pairs publish and store in either order', () => {
    const t = new LatencyTracker();
    t.published('202005010001', 1, 100);
    t.stored('202005010001', 1, 130);
    t.stored('202005010001', 2, 250);
    t.published('202005010001', 2, 200);
    t.published('202005010001', 3, 300);
    expect(t.samples).toEqual([30, 50]);
    expect(t.unmatched).toBe(1);
  });
});
