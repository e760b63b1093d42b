import { MAX_AHEAD_S, MAX_BEHIND_S, trustedTime } from './clock';

const NOW_S = 1_732_240_000;
const NOW_MS = NOW_S * 1000 + 250;

describe('trustedTime', () => {
  it('has the protocol.md limits', () => {
    expect(MAX_AHEAD_S).toBe(600);
    expect(MAX_BEHIND_S).toBe(604_800);
  });

  it('trusts a device clock within the window', () => {
    expect(trustedTime(NOW_S, NOW_MS)).toEqual({ at: new Date(NOW_S * 1000), skewed: false });
  });

  it('uses server time, not flagged, when ts is missing', () => {
    expect(trustedTime(undefined, NOW_MS)).toEqual({ at: new Date(NOW_MS), skewed: false });
  });

  it.each([
    ['exactly 10 min ahead', NOW_MS / 1000 + 600, false],
    ['just over 10 min ahead', NOW_MS / 1000 + 601, true],
    ['exactly 7 days behind', NOW_MS / 1000 - 604_800, false],
    ['just over 7 days behind', NOW_MS / 1000 - 604_801, true],
    ['epoch zero', 0, true],
    ['far future', 4_102_444_800, true],
  ])('%s', (_label, ts, skewed) => {
    const r = trustedTime(ts, NOW_MS);
    expect(r.skewed).toBe(skewed);
    expect(r.at.getTime()).toBe(skewed ? NOW_MS : ts * 1000);
  });

  it('treats a non-finite ts as skewed', () => {
    expect(trustedTime(Number.NaN, NOW_MS)).toEqual({ at: new Date(NOW_MS), skewed: true });
    expect(trustedTime(Infinity, NOW_MS).skewed).toBe(true);
  });
});
