import { EventEmitter } from 'node:events';
import { SseClientQueue, SseSink } from './sse-client-queue';

/** A socket stand-in that accepts `budget` writes, then refuses until drained. */
class FakeSink extends EventEmitter implements SseSink {
  readonly chunks: string[] = [];
  budget = Infinity;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    this.budget--;
    return this.budget > 0;
  }
  drain(budget = Infinity): void {
    this.budget = budget;
    this.emit('drain');
  }
}

const frame = (i: number) => `id: ${i}\nevent: telemetry\ndata: {"i":${i}}\n\n`;
const ids = (chunks: string[]) =>
  chunks.map((c) => /^id: (\d+)/.exec(c)?.[1] ?? (c.startsWith('event: dropped') ? c : c.trim()));

describe('SseClientQueue', () => {
  // Synchronous pumping makes every step observable.
  const sync = (fn: () => void) => fn();

  it('writes frames in order while the socket accepts them', () => {
    const sink = new FakeSink();
    const q = new SseClientQueue(sink, { capacity: 10, schedule: sync });
    for (let i = 1; i <= 3; i++) q.push(frame(i));
    expect(sink.chunks).toEqual([frame(1), frame(2), frame(3)]);
    expect(q.size).toBe(0);
    expect(q.sent).toBe(3);
  });

  it('stops at backpressure, bounds the queue by dropping the oldest, and reports drops on resume', () => {
    const sink = new FakeSink();
    const drops: number[] = [];
    const q = new SseClientQueue(sink, {
      capacity: 3,
      schedule: sync,
      onDrop: (n) => drops.push(n),
    });
    sink.budget = 1;
    q.push(frame(1)); // written, socket now full
    expect(q.waitingForDrain).toBe(true);
    for (let i = 2; i <= 7; i++) q.push(frame(i));
    // Nothing more written while blocked; only the 3 newest kept.
    expect(sink.chunks).toEqual([frame(1)]);
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(3);
    expect(drops).toEqual([1, 1, 1]);

    sink.drain();
    expect(ids(sink.chunks)).toEqual([
      '1',
      'event: dropped\ndata: {"count":3,"total":3}\n\n',
      '5',
      '6',
      '7',
    ]);
    expect(q.waitingForDrain).toBe(false);
    expect(q.size).toBe(0);

    // The count in the next notice only covers what was lost since the last one.
    sink.budget = 1;
    q.push(frame(8));
    for (let i = 9; i <= 13; i++) q.push(frame(i));
    sink.drain();
    expect(ids(sink.chunks.slice(5))).toEqual([
      '8',
      'event: dropped\ndata: {"count":2,"total":5}\n\n',
      '11',
      '12',
      '13',
    ]);
  });

  it('resumes only as far as the socket allows after a drain', () => {
    const sink = new FakeSink();
    const q = new SseClientQueue(sink, { capacity: 10, schedule: sync });
    sink.budget = 1;
    q.push(frame(1));
    q.push(frame(2));
    q.push(frame(3));
    sink.drain(1); // accepts one more write, then is full again
    expect(ids(sink.chunks)).toEqual(['1', '2']);
    expect(q.waitingForDrain).toBe(true);
    sink.drain();
    expect(ids(sink.chunks)).toEqual(['1', '2', '3']);
  });

  it('defers writing off the pusher stack and coalesces a burst into one pump', async () => {
    const sink = new FakeSink();
    let pumps = 0;
    const q = new SseClientQueue(sink, {
      capacity: 10,
      schedule: (fn) =>
        setImmediate(() => {
          pumps++;
          fn();
        }),
    });
    q.push(frame(1));
    q.push(frame(2));
    expect(sink.chunks).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(ids(sink.chunks)).toEqual(['1', '2']);
    expect(pumps).toBe(1);
  });

  it('writes heartbeats only when idle, and nothing after close', () => {
    const sink = new FakeSink();
    const q = new SseClientQueue(sink, { capacity: 2, schedule: sync });
    expect(q.comment('hb')).toBe(true);
    expect(sink.chunks).toEqual([': hb\n\n']);
    sink.budget = 1;
    q.push(frame(1));
    expect(q.comment('hb')).toBe(false);
    q.close();
    q.push(frame(2));
    sink.drain();
    expect(ids(sink.chunks)).toEqual([': hb', '1']);
  });

  it('never holds more than capacity frames however many are pushed', () => {
    const sink = new FakeSink();
    const q = new SseClientQueue(sink, { capacity: 5, schedule: sync });
    sink.budget = 1;
    for (let i = 0; i < 10_000; i++) q.push(frame(i));
    expect(q.size).toBe(5);
    expect(q.dropped).toBe(10_000 - 1 - 5);
  });
});
