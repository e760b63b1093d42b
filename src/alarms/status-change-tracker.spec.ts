import { StatusChangeTracker } from './status-change-tracker';

describe('StatusChangeTracker', () => {
  const sn = '202005010001';

  it('reports first sightings and real changes, not repeated states', () => {
    const t = new StatusChangeTracker();
    expect(t.changes(sn, 1000, [{ line: 1, on: true, cause: 'power_on' }])).toHaveLength(1);
    expect(t.changes(sn, 2000, [{ line: 1, on: true, cause: 'power_on' }])).toEqual([]);
    expect(t.changes(sn, 3000, [{ line: 1, on: false, cause: 'leakage' }])).toEqual([
      { line: 1, on: false, cause: 'leakage' },
    ]);
    // Same state, different cause (tripped again after a reset we did not see): a change.
    expect(t.changes(sn, 4000, [{ line: 1, on: false, cause: 'overload' }])).toHaveLength(1);
    expect(
      t.changes('202005010002', 4000, [{ line: 1, on: false, cause: 'overload' }]),
    ).toHaveLength(1);
  });

  it('records a late report without letting it replace the newer reference state', () => {
    const t = new StatusChangeTracker();
    t.changes(sn, 5000, [{ line: 2, on: true, cause: 'remote_on' }]);
    expect(t.changes(sn, 4000, [{ line: 2, on: false, cause: 'remote_off' }])).toHaveLength(1);
    expect(t.changes(sn, 6000, [{ line: 2, on: true, cause: 'remote_on' }])).toEqual([]);
  });

  it('treats a missing cause as unknown', () => {
    const t = new StatusChangeTracker();
    t.changes(sn, 1, [{ line: 3, on: true }]);
    expect(t.changes(sn, 2, [{ line: 3, on: true, cause: 'unknown' }])).toEqual([]);
  });
});
