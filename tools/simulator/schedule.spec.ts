import { ScheduleItem } from './protocol';
import { applySchedules, deviceTime, dueSchedules } from './schedule';

// 2024-11-22 was a Friday (ISO day 5).
const FRI_2230_UTC = Date.UTC(2024, 10, 22, 22, 30, 17) / 1000;
const item = (over: Partial<ScheduleItem>): ScheduleItem => ({
  slot: 1,
  lines: [1, 2],
  on: false,
  at: '22:30',
  days: [5],
  enabled: true,
  ...over,
});

describe('schedules', () => {
  it('computes device local time with an explicit zone offset', () => {
    expect(deviceTime(FRI_2230_UTC, 0)).toMatchObject({ hhmm: '22:30', isoDay: 5 });
    // +08:00 pushes it past midnight into Saturday.
    expect(deviceTime(FRI_2230_UTC, 480)).toMatchObject({ hhmm: '06:30', isoDay: 6 });
    // Sunday is ISO 7, not 0.
    expect(deviceTime(FRI_2230_UTC + 2 * 86400, 0).isoDay).toBe(7);
  });

  it('matches enabled items on time and weekday only', () => {
    const t = deviceTime(FRI_2230_UTC, 0);
    const items = [
      item({ slot: 3 }),
      item({ slot: 2, enabled: false }),
      item({ slot: 4, days: [1, 2, 3, 4] }),
      item({ slot: 5, at: '22:31' }),
      item({ slot: 1, days: [5, 6] }),
    ];
    expect(dueSchedules(items, t).map((s) => s.slot)).toEqual([1, 3]);
  });

  it('reports only changed lines, the higher slot winning a conflict', () => {
    const due = [
      item({ slot: 1, lines: [1, 2], on: false }),
      item({ slot: 2, lines: [2], on: true }),
    ];
    expect(applySchedules(due, [true, true, false])).toEqual([{ line: 1, on: false }]);
    expect(applySchedules([item({ lines: [3], on: true })], [true, true, false])).toEqual([
      { line: 3, on: true },
    ]);
  });
});
