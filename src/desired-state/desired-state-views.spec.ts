import {
  ParamsLine,
  paramsLineList,
  PARAMS_LINE_SCHEMA,
  ScheduleItem,
} from '../protocol/backend-messages';
import {
  paramsDiffer,
  paramsToWire,
  schedulesDiffer,
  schedulesToWire,
} from './desired-state-views';
import { checkWire } from './wire-check';

const item: ScheduleItem = {
  slot: 1,
  lines: [1, 2],
  on: false,
  at: '22:30',
  days: [1, 5],
  enabled: true,
};

describe('desired state views', () => {
  it('converts API params to wire names in protocol order, leaving unset thresholds out', () => {
    expect(paramsToWire({ lines: [{ line: 2, maxTempC: 80, minVoltageV: 180 }] })).toEqual([
      { line: 2, min_voltage_v: 180, max_temp_c: 80 },
    ]);
    expect(
      Object.keys(paramsToWire({ lines: [{ line: 1, maxPowerW: 1, maxVoltageV: 2 }] })[0]),
    ).toEqual(['line', 'max_voltage_v', 'max_power_w']);
  });

  it('keeps schedule items in wire key order', () => {
    const reordered = { enabled: true, days: [1], at: '01:00', on: true, lines: [1], slot: 3 };
    expect(Object.keys(schedulesToWire({ items: [reordered] })[0])).toEqual([
      'slot',
      'lines',
      'on',
      'at',
      'days',
      'enabled',
    ]);
  });

  it('sees schedule drift regardless of order, but not a changed time', () => {
    const b = { ...item, lines: [2, 1], days: [5, 1] };
    expect(schedulesDiffer([item, { ...item, slot: 2 }], [{ ...b, slot: 2 }, b])).toBe(false);
    expect(schedulesDiffer([item], [{ ...item, at: '22:31' }])).toBe(true);
    expect(schedulesDiffer([item], [])).toBe(true);
  });

  it('compares only the thresholds the desired state sets', () => {
    const desired: ParamsLine[] = [{ line: 1, max_current_a: 20 }];
    expect(
      paramsDiffer(desired, [{ line: 1, max_current_a: 20, max_temp_c: 85 }, { line: 2 }]),
    ).toBe(false);
    expect(paramsDiffer(desired, [{ line: 1, max_current_a: 25 }])).toBe(true);
    expect(paramsDiffer(desired, [{ line: 2, max_current_a: 20 }])).toBe(true);
  });

  it('turns protocol schema errors into 400 messages with API field names', () => {
    const list = paramsLineList(PARAMS_LINE_SCHEMA);
    try {
      checkWire(list, [{ line: 1, min_voltage_v: 250, max_voltage_v: 200 }], 'lines');
      throw new Error('expected a 400');
    } catch (e) {
      expect((e as { getResponse(): { message: string[] } }).getResponse().message).toEqual([
        'lines[0].minVoltageV: minVoltageV must be below maxVoltageV',
      ]);
    }
  });
});
