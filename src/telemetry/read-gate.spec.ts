import { flowMarks, ReadGate, WriterLoad } from './read-gate';

const settled = async (p: Promise<void> | null) => {
  if (p === null) return 'open';
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done ? 'released' : 'waiting';
};

describe('flowMarks', () => {
  it('stops reading at a quarter of the buffer, reads on two batches lower', () => {
    // 5,000-row batches in a 200,000-row buffer, 2 in flight.
    const m = flowMarks(5000 / 200_000, 2);
    expect(m.high).toBeCloseTo(50_000 / 200_000);
    expect(m.low).toBeCloseTo(40_000 / 200_000);
    expect(m.shed).toBe(0.75);
  });

  it('stops later when the batches in flight and two more do not fit in a quarter', () => {
    // 5,000-row batches in a 40,000-row buffer, 2 in flight: 20,000 rows.
    const m = flowMarks(5000 / 40_000, 2);
    expect(m.high).toBeCloseTo(0.5);
    expect(m.low).toBeCloseTo(0.25);
  });

  it('keeps low < high ≤ shed for a small buffer', () => {
    const m = flowMarks(5000 / 1500, 2);
    expect(m).toEqual({ high: 0.5, low: 0.25, shed: 0.75 });
    for (const bf of [0.0001, 0.01, 0.1, 0.2, 1, 10]) {
      for (const inflight of [1, 2, 16]) {
        const x = flowMarks(bf, inflight);
        expect(x.low).toBeLessThan(x.high);
        expect(x.high).toBeLessThanOrEqual(x.shed);
      }
    }
  });
});

describe('ReadGate hysteresis', () => {
  const marks = { high: 0.5, low: 0.25, shed: 0.75 };
  let load: WriterLoad;
  let gate: ReadGate;
  beforeEach(() => {
    load = { fill: 0, saturated: true, writing: true };
    gate = new ReadGate(marks, () => load);
  });

  it('reads on below the high mark, or while the writer has a free slot', async () => {
    load.fill = 0.49;
    expect(await settled(gate.wait())).toBe('open');
    load = { fill: 0.9, saturated: false, writing: true };
    expect(await settled(gate.wait())).toBe('open');
    expect(gate.isClosed).toBe(false);
  });

  it('closes at the high mark and opens only at the low mark', async () => {
    load.fill = 0.5;
    const w = gate.wait();
    expect(await settled(w)).toBe('waiting');
    expect(gate.isClosed).toBe(true);
    // Between the marks: still closed, whatever the slots say.
    load = { fill: 0.3, saturated: false, writing: true };
    gate.update();
    expect(await settled(w)).toBe('waiting');
    expect(await settled(gate.wait())).toBe('waiting');
    load.fill = 0.25;
    gate.update();
    expect(await settled(w)).toBe('released');
    expect(gate.isClosed).toBe(false);
    // Open again: it takes the high mark to close it.
    load = { fill: 0.45, saturated: true, writing: true };
    expect(await settled(gate.wait())).toBe('open');
  });

  it('a wait asked while closed opens at once when the low mark was reached without an update', async () => {
    load.fill = 0.6;
    expect(await settled(gate.wait())).toBe('waiting');
    load.fill = 0.1;
    expect(await settled(gate.wait())).toBe('open');
  });

  it('never holds reading for a database that is not writing (outage, hang)', async () => {
    load = { fill: 0.99, saturated: true, writing: false };
    expect(await settled(gate.wait())).toBe('open');
    load.writing = true;
    const w = gate.wait();
    expect(await settled(w)).toBe('waiting');
    // The database stops answering while reading is held: reading goes on.
    load.writing = false;
    gate.update();
    expect(await settled(w)).toBe('released');
  });

  it('sheds raw telemetry only when read while closed, writing, saturated and at the shed mark', () => {
    load = { fill: 0.75, saturated: true, writing: true };
    // Open: the message in hand (the one that is about to close it) is decoded.
    expect(gate.shedding()).toBe(false);
    void gate.wait();
    expect(gate.isClosed).toBe(true);
    expect(gate.shedding()).toBe(true);
    load.fill = 0.74;
    expect(gate.shedding()).toBe(false);
    load = { fill: 1, saturated: false, writing: true };
    expect(gate.shedding()).toBe(false);
    load = { fill: 1, saturated: true, writing: false };
    expect(gate.shedding()).toBe(false);
    // A database that stops writing opens the gate: from then on nothing is shed.
    gate.update();
    load = { fill: 1, saturated: true, writing: true };
    expect(gate.isClosed).toBe(false);
    expect(gate.shedding()).toBe(false);
  });

  it('released for shutdown: every waiter goes on and none waits again', async () => {
    load.fill = 0.9;
    const w = gate.wait();
    gate.release();
    expect(await settled(w)).toBe('released');
    expect(await settled(gate.wait())).toBe('open');
  });
});
