import { IngestStats } from './ingest-stats';
import { ACCEPTED, dropped, rejected } from './message-outcome';

describe('IngestStats message accounting', () => {
  it('received = accepted + rejected + dropped + in flight at every step', () => {
    const s = new IngestStats();
    const check = () => {
      const m = s.messageCounts();
      const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
      expect(m.received).toBe(m.accepted + sum(m.rejected) + sum(m.dropped) + m.inFlight);
      expect(s.unaccounted()).toBe(0);
    };
    s.begin();
    s.begin();
    s.begin();
    check();
    expect(s.inFlight).toBe(3);
    s.settle(ACCEPTED);
    check();
    s.settle(rejected('bad_json'));
    check();
    s.settle(dropped('database_unavailable'));
    check();
    s.receiveSettled(dropped('shutdown'));
    check();
    expect(s.messageCounts()).toEqual({
      received: 4,
      accepted: 1,
      rejected: { bad_json: 1 },
      dropped: { database_unavailable: 1, shutdown: 1 },
      inFlight: 0,
    });
  });

  it('counts rows apart from messages: stored, duplicate, dropped by reason, messages lost', () => {
    const s = new IngestStats();
    s.recordFlush(90, 5, 10);
    s.dropRows('buffer_full', 8);
    s.dropRows('batch_failed', 16, 2);
    const snap = s.snapshot();
    expect(snap.stored).toBe(90);
    expect(snap.dropped).toBe(24);
    expect(snap.rows).toEqual({
      stored: 90,
      duplicate: 10,
      dropped: { buffer_full: 8, batch_failed: 16 },
      buffered: 0,
      messagesLost: { batch_failed: 2 },
    });
    // Rows never touch the message counters.
    expect(snap.messages.received).toBe(0);
  });
});
