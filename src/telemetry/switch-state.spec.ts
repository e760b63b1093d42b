import { SwitchFields, applySwitch, switchUpdate } from './switch-state';

const T = 1_700_000_000_000;
const state = (isOn: boolean | null, onAtMs: number | null, onCause: string | null) => ({
  isOn,
  onAtMs,
  onCause,
});

describe('switch state', () => {
  it('takes the first observation', () => {
    expect(switchUpdate(state(null, null, null), false, T, null)).toBe('take');
    expect(switchUpdate(state(null, null, null), true, T, 'power_on')).toBe('take');
  });

  it('keeps onAt and cause while telemetry repeats the state', () => {
    const s: SwitchFields = state(false, T, 'leakage');
    for (let i = 1; i <= 5; i++) expect(applySwitch(s, false, T + i * 10_000, null)).toBe(false);
    expect(s).toEqual(state(false, T, 'leakage'));
  });

  it('moves onAt when telemetry shows a new state, not when it is late', () => {
    const s: SwitchFields = state(false, T, 'leakage');
    expect(applySwitch(s, true, T - 1000, null)).toBe(false);
    expect(applySwitch(s, true, T + 60_000, null)).toBe(true);
    expect(s).toEqual(state(true, T + 60_000, null));
  });

  it('lets a status name the cause of a change telemetry showed first, keeping the earlier time', () => {
    const late = state(false, T + 28_000, null);
    expect(applySwitch(late, false, T, 'leakage')).toBe(true);
    expect(late).toEqual(state(false, T, 'leakage'));
    const later = state(false, T, null);
    expect(applySwitch(later, false, T + 5000, 'leakage')).toBe(true);
    expect(later).toEqual(state(false, T, 'leakage'));
  });

  it('ignores a repeated status, takes a newer one with another cause', () => {
    const s: SwitchFields = state(false, T, 'leakage');
    expect(applySwitch(s, false, T + 1000, 'leakage')).toBe(false);
    expect(applySwitch(s, false, T - 1000, 'manual_off')).toBe(false);
    expect(applySwitch(s, false, T + 2000, 'overload')).toBe(true);
    expect(s).toEqual(state(false, T + 2000, 'overload'));
  });

  it('takes a status of another state only when it is not older', () => {
    const s: SwitchFields = state(false, T, 'leakage');
    expect(switchUpdate(s, true, T - 1, 'remote_on')).toBe('keep');
    expect(switchUpdate(s, true, T, 'remote_on')).toBe('take');
  });

  it('after a restart, memory merged onto the table keeps the table’s start of the state', () => {
    // The table knows the line is off since T (leakage); the restarted
    // instance learnt "off" from telemetry at T + 10 min.
    const table: SwitchFields = state(false, T, 'leakage');
    expect(applySwitch(table, false, T + 600_000, null)).toBe(false);
    expect(table).toEqual(state(false, T, 'leakage'));
  });

  it('ends in the same state whichever of two instances flushes first', () => {
    const a = () => [false, T, 'leakage'] as const; // instance A saw the status
    const b = () => [false, T + 28_000, null] as const; // instance B only telemetry
    const ab: SwitchFields = state(true, T - 600_000, 'remote_on');
    applySwitch(ab, ...a());
    applySwitch(ab, ...b());
    const ba: SwitchFields = state(true, T - 600_000, 'remote_on');
    applySwitch(ba, ...b());
    applySwitch(ba, ...a());
    expect(ab).toEqual(state(false, T, 'leakage'));
    expect(ba).toEqual(ab);
  });
});
