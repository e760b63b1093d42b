import { IngestStats, MessageCounts } from '../../src/ingestion/ingest-stats';
import { TestApp, waitFor } from './test-app';

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** received − (accepted + rejected + dropped + in flight): 0 when every message is accounted for. */
export function unaccounted(m: MessageCounts): number {
  return m.received - m.accepted - total(m.rejected) - total(m.dropped) - m.inFlight;
}

/** The message counters right now, straight from the app (no HTTP, no database). */
export function messages(t: TestApp): MessageCounts {
  return t.app.get(IngestStats).messageCounts();
}

/** The message counters once nothing is in flight: a baseline for `settled`. */
export async function quiet(t: TestApp, timeoutMs = 10_000): Promise<MessageCounts> {
  await waitFor(() => messages(t).inFlight === 0, timeoutMs, 'no message in flight');
  return messages(t);
}

/** Waits until `n` more messages than `before` were received and none is in flight. */
export async function settled(
  t: TestApp,
  before: MessageCounts,
  n: number,
  timeoutMs = 15_000,
): Promise<MessageCounts> {
  await waitFor(
    () => {
      const m = messages(t);
      return m.received >= before.received + n && m.inFlight === 0;
    },
    timeoutMs,
    `${n} messages received and settled`,
  );
  return messages(t);
}

/** Per outcome and reason, what happened since `before`. */
export function delta(before: MessageCounts, after: MessageCounts) {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.keys(b)
        .map((k) => [k, b[k] - (a[k] ?? 0)] as const)
        .filter(([, n]) => n !== 0),
    );
  return {
    received: after.received - before.received,
    accepted: after.accepted - before.accepted,
    rejected: diff(before.rejected, after.rejected),
    dropped: diff(before.dropped, after.dropped),
  };
}

/**
 * `/metrics` and `/health` tell the same message counts, and they add up.
 * Call it while no message is arriving (both are read one after the other).
 */
export async function exportedCountsAgree(t: TestApp): Promise<MessageCounts> {
  const health = (await t.http().get('/health')).body as { ingest: { messages: MessageCounts } };
  const text = (await t.http().get('/metrics').expect(200)).text;
  const m = health.ingest.messages;
  expect(unaccounted(m)).toBe(0);
  const series = [...text.matchAll(/^bcb_ingest_messages_total\{([^}]*)\} (\S+)$/gm)].map(
    ([, labels, v]) => ({
      outcome: /outcome="([^"]*)"/.exec(labels)?.[1],
      reason: /reason="([^"]*)"/.exec(labels)?.[1],
      n: Number(v),
    }),
  );
  const of = (outcome: string) =>
    Object.fromEntries(
      series.filter((s) => s.outcome === outcome && s.n > 0).map((s) => [s.reason, s.n]),
    );
  expect(series.find((s) => s.outcome === 'accepted')?.n).toBe(m.accepted);
  expect(of('rejected')).toEqual(m.rejected);
  expect(of('dropped')).toEqual(m.dropped);
  expect(text).toMatch(new RegExp(`^bcb_ingest_messages_in_flight ${m.inFlight}$`, 'm'));
  expect(text).toMatch(new RegExp(`^bcb_mqtt_messages_received_total ${m.received}$`, 'm'));
  return m;
}
