import { ConcentratorOptions, SimulatedConcentrator } from './concentrator';
import { SN_RE } from './protocol';

/** The i-th serial after `start`, numerically, keeping 12 digits with zero padding. */
export function snAt(start: string, i: number): string {
  if (!SN_RE.test(start)) throw new Error(`sn-start must be 12 digits: ${start}`);
  const sn = String(Number(start) + i).padStart(12, '0');
  if (sn.length !== 12) throw new Error(`serial range overflows 12 digits at ${start}+${i}`);
  return sn;
}

export interface FleetOptions extends Omit<ConcentratorOptions, 'sn'> {
  count: number;
  snStart: string;
  /** Connections in progress at once; brokers and TLS handshakes dislike stampedes. Default 50. */
  concurrency?: number;
  /** Per-serial passwords; falls back to `password`. */
  passwords?: Record<string, string>;
  /** Keep going when a device fails to connect (it ends up in `failed`). Default false: reject. */
  tolerateFailures?: boolean;
  onStarted?: (device: SimulatedConcentrator) => void;
  onFailed?: (sn: string, error: Error) => void;
}

export interface Fleet {
  devices: SimulatedConcentrator[];
  failed: Array<{ sn: string; error: Error }>;
  stop(): Promise<void>;
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const { count, snStart, concurrency, passwords, tolerateFailures, onStarted, onFailed, ...base } =
    opts;
  const all = Array.from({ length: count }, (_, i) => {
    const sn = snAt(snStart, i);
    return new SimulatedConcentrator({ ...base, sn, password: passwords?.[sn] ?? base.password });
  });
  const devices: SimulatedConcentrator[] = [];
  const failed: Fleet['failed'] = [];
  const stop = async () => {
    await Promise.all(devices.map((d) => d.stop()));
  };
  let abort: Error | undefined;
  await pool(all, concurrency ?? 50, async (d) => {
    if (abort) return;
    try {
      await d.start();
      devices.push(d);
      onStarted?.(d);
    } catch (e) {
      const error = e as Error;
      failed.push({ sn: d.sn, error });
      onFailed?.(d.sn, error);
      if (!tolerateFailures) abort = error;
    }
  });
  if (abort) {
    await stop();
    throw abort;
  }
  devices.sort((a, b) => a.sn.localeCompare(b.sn));
  return { devices, failed, stop };
}
