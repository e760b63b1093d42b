import { EventCoalescer, coalesceKey } from './event-coalescer';

const SN = '202005010001';

describe('coalesceKey', () => {
  it('separates what differs in meaning, ignores what a flood varies', () => {
    const k = (e: Parameters<typeof coalesceKey>[0]) => coalesceKey(e);
    expect(k({ sn: SN, kind: 'online', detail: { reason: 'message' } })).not.toBe(
      k({ sn: SN, kind: 'online', detail: { reason: 'will' } }),
    );
    expect(k({ sn: SN, kind: 'online', detail: { reason: 'message' } })).not.toBe(
      k({ sn: SN, kind: 'offline', detail: { reason: 'message' } }),
    );
    expect(k({ sn: SN, kind: 'clock_skew', detail: { deviceTs: 1 } })).toBe(
      k({ sn: SN, kind: 'clock_skew', detail: { deviceTs: 2 } }),
    );
    expect(k({ sn: SN, kind: 'serial_mismatch', detail: { payloadSn: '1' } })).toBe(
      k({ sn: SN, kind: 'serial_mismatch', detail: { payloadSn: '2' } }),
    );
    expect(k({ sn: SN, kind: 'status', line: 1, detail: { on: true, cause: 'x' } })).not.toBe(
      k({ sn: SN, kind: 'status', line: 2, detail: { on: true, cause: 'x' } }),
    );
    expect(k({ sn: SN, kind: 'clock_ok' })).not.toBe(k({ sn: '202005010002', kind: 'clock_ok' }));
  });

  it('never coalesces registry changes made by people', () => {
    for (const kind of ['discovered', 'created', 'adopted', 'released', 'deleted']) {
      expect(coalesceKey({ sn: SN, kind })).toBeUndefined();
    }
  });
});

describe('EventCoalescer', () => {
  it('opens a row for the first event and counts repeats within the window into it', () => {
    const c = new EventCoalescer(1000);
    const first = c.offer('k', 100, 0);
    expect(first.first).toBe(true);
    first.slot.id = '7';
    for (let i = 1; i <= 5; i++) expect(c.offer('k', 100 + i, i * 100).first).toBe(false);
    expect(first.slot).toMatchObject({ count: 6, pending: 5, pendingLastMs: 105 });
    expect(c.dirty()).toEqual([first.slot]);
    // After the window, a new row.
    first.slot.pending = 0;
    expect(c.offer('k', 2000, 1000).first).toBe(true);
  });

  it('keeps the last time as the newest event time, even out of order', () => {
    const c = new EventCoalescer(1000);
    c.offer('k', 500, 0).slot.id = '1';
    c.offer('k', 900, 1);
    const { slot } = c.offer('k', 700, 2);
    expect(slot.pendingLastMs).toBe(900);
  });

  it('does not write repeats before the row exists, nor after its insert failed', () => {
    const c = new EventCoalescer(1000);
    const { slot } = c.offer('k', 0, 0);
    c.offer('k', 1, 1);
    c.offer('k', 2, 2);
    expect(c.dirty()).toEqual([]);
    expect(c.markLost(slot)).toBe(2);
    c.offer('k', 3, 3);
    expect(slot).toMatchObject({ lost: true, pending: 0, count: 4 });
    expect(c.dirty()).toEqual([]);
  });

  it('still writes the repeats of a row a newer window replaced', () => {
    const c = new EventCoalescer(1000);
    const old = c.offer('k', 0, 0).slot;
    c.offer('k', 1, 1);
    c.offer('k', 2000, 2000); // new window while the first insert is still running
    old.id = '1';
    expect(c.dirty()).toContain(old);
    old.pending = 0;
    c.sweep(2001);
    expect(c.dirty()).toEqual([]);
  });

  it('forgets settled slots after their window, so memory follows active devices only', () => {
    const c = new EventCoalescer(1000);
    for (let i = 0; i < 100; i++) c.offer(`k${i}`, 0, 0).slot.id = String(i);
    c.sweep(999);
    expect(c.size).toBe(100);
    c.sweep(1000);
    expect(c.size).toBe(0);
  });

  it('starts a new row before the count outgrows its column', () => {
    const c = new EventCoalescer(1000, 3);
    c.offer('k', 0, 0).slot.id = '1';
    c.offer('k', 0, 0);
    c.offer('k', 0, 0);
    expect(c.offer('k', 0, 0).first).toBe(true);
  });

  it('abandon() returns the repeats never written', () => {
    const c = new EventCoalescer(1000);
    c.offer('k', 0, 0).slot.id = '1';
    c.offer('k', 0, 1);
    c.offer('k', 0, 2);
    expect(c.abandon()).toBe(2);
    expect(c.size).toBe(0);
  });
});
