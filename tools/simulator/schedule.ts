import { ScheduleItem } from './protocol';

export interface DeviceTime {
  hhmm: string;
  /** ISO weekday, 1 = Monday ... 7 = Sunday. */
  isoDay: number;
  /** Whole minutes since the epoch, to fire each minute at most once. */
  minute: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The device's wall-clock time. Without `tzOffsetMin` it uses the host's time
 * zone; tests pass an explicit offset so they do not depend on the machine.
 */
export function deviceTime(unixS: number, tzOffsetMin?: number): DeviceTime {
  const minute = Math.floor(unixS / 60);
  if (tzOffsetMin !== undefined) {
    const d = new Date((unixS + tzOffsetMin * 60) * 1000);
    const day = d.getUTCDay();
    return { hhmm: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`, isoDay: day || 7, minute };
  }
  const d = new Date(unixS * 1000);
  return { hhmm: `${pad(d.getHours())}:${pad(d.getMinutes())}`, isoDay: d.getDay() || 7, minute };
}

export function dueSchedules(items: readonly ScheduleItem[], t: DeviceTime): ScheduleItem[] {
  return items
    .filter((s) => s.enabled && s.at === t.hhmm && s.days.includes(t.isoDay))
    .sort((a, b) => a.slot - b.slot);
}

/**
 * Applies due items in slot order (a higher slot wins a conflict, like a
 * timer table evaluated top to bottom) and returns only lines whose state
 * actually changed, since `status` reports changes.
 */
export function applySchedules(
  due: readonly ScheduleItem[],
  states: readonly boolean[],
): Array<{ line: number; on: boolean }> {
  const next = [...states];
  for (const s of due) for (const line of s.lines) if (line <= next.length) next[line - 1] = s.on;
  return next
    .map((on, i) => ({ line: i + 1, on }))
    .filter(({ line, on }) => states[line - 1] !== on);
}
