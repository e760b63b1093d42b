import { Fleet, startFleet } from '../simulator/fleet';
import { wallMs } from './stats';

export interface LoadOptions {
  brokerUrl: string;
  devices: number;
  lines: number;
  durationMs: number;
  snStart: string;
  topicRoot?: string;
  password?: string;
  /**
   * Device timestamps start this far in the past and advance one second per
   * message. The protocol's `ts` has one-second resolution and the backend
   * keeps one sample per (sn, line, ts), so real-time stamps would collapse a
   * fast device's messages into one row each second.
   */
  backfillS: number;
  /** Total telemetry msgs/s across the fleet; 0 = as fast as the broker takes them. */
  rate?: number;
}

/** Publish records, column-wise so they cross the thread boundary cheaply. */
export interface SentBatch {
  sn: string[];
  seq: number[];
  t: number[];
}

export interface LoadResult {
  telemetry: number;
  /** Everything the devices sent, including config_request and acks. */
  allMessages: number;
  errors: number;
  startedAt: number;
  endedAt: number;
}

export function connectLoad(o: LoadOptions): Promise<Fleet> {
  return startFleet({
    brokerUrl: o.brokerUrl,
    count: o.devices,
    snStart: o.snStart,
    lines: o.lines,
    topicRoot: o.topicRoot,
    password: o.password,
    intervalMs: 0,
    chatter: false,
    runSchedules: false,
  });
}

/**
 * Every device publishes back to back, awaiting each publish callback: mqtt.js
 * calls it at once while the socket accepts data and only after 'drain'
 * otherwise, so in-flight data is bounded by one socket buffer per device.
 */
export async function runLoad(
  fleet: Fleet,
  o: LoadOptions,
  onSent: (b: SentBatch) => void,
): Promise<LoadResult> {
  let buf: SentBatch = { sn: [], seq: [], t: [] };
  const flush = () => {
    if (buf.sn.length === 0) return;
    onSent(buf);
    buf = { sn: [], seq: [], t: [] };
  };
  const flusher = setInterval(flush, 100);
  const startedAt = wallMs();
  const deadline = startedAt + o.durationMs;
  const base = Math.floor(Date.now() / 1000) - o.backfillS;
  let telemetry = 0;
  let errors = 0;
  await Promise.all(
    fleet.devices.map(async (d) => {
      let k = 0;
      // Paced mode spreads devices over the period so the broker sees a steady stream.
      const period = o.rate ? (1000 * fleet.devices.length) / o.rate : 0;
      let next = startedAt + period * Math.random();
      while (wallMs() < deadline) {
        if (period) {
          const wait = next - wallMs();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          next += period;
          if (wallMs() >= deadline) break;
        }
        const t = wallMs();
        try {
          const msg = await d.publishTelemetry(undefined, { ts: base + k++ });
          buf.sn.push(d.sn);
          buf.seq.push(msg.seq as number);
          buf.t.push(t);
          telemetry++;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }),
  );
  const endedAt = wallMs();
  clearInterval(flusher);
  flush();
  const allMessages = fleet.devices.reduce((s, d) => s + d.stats.published, 0);
  return { telemetry, allMessages, errors, startedAt, endedAt };
}
