import { LogThrottle } from './log-throttle';

describe('LogThrottle', () => {
  it('prints the first line of a key, holds repeats within the period, then reports how many', () => {
    const t = new LogThrottle(1000);
    expect(t.take('a', 0)).toEqual({ held: 0 });
    expect(t.take('a', 10)).toBeNull();
    expect(t.take('a', 999)).toBeNull();
    expect(t.take('b', 999)).toEqual({ held: 0 });
    expect(t.take('a', 1000)).toEqual({ held: 2 });
    expect(t.take('a', 1001)).toBeNull();
  });

  it('forgets the oldest keys beyond its bound', () => {
    const t = new LogThrottle(1000, 2);
    t.take('a', 0);
    t.take('b', 0);
    t.take('c', 0);
    expect(t.take('a', 1)).toEqual({ held: 0 });
    expect(t.take('c', 1)).toBeNull();
  });
});
