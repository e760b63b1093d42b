import { loadConfig } from '../config/app-config';
import type { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import type { SqlRunner } from '../database/sql-runner';
import type {
  DeviceMessageContext,
  DeviceMessageHandler,
} from '../ingestion/device-message-context';
import type { IngestionService } from '../ingestion/ingestion.service';
import { ConcentratorLifecycle, LifecycleChange } from '../lifecycle/concentrator-lifecycle';
import { LiveFeed } from '../live/live-feed.service';
import type { StatusLine, TelemetryLine } from '../protocol/device-messages';
import { LatestStore } from './latest-store.service';
import { PURGE_TELEMETRY } from './telemetry.sql';
import { TelemetryIngestHandlers } from './telemetry.ingest-handlers';
import type { TelemetryWriter } from './telemetry-writer.service';

const SN = '202005010001';
const OTHER = '202005010002';

/** The SqlRunner LatestStore flushes through, recording the serials of each upsert. */
function fakeLatestSql() {
  const flushedSerials: string[][] = [];
  const sql = {
    bulk: async (_text: string, values: unknown[] = []) => {
      flushedSerials.push(values[0] as string[]);
      return { rows: [], rowCount: 0 };
    },
  };
  return { latestSql: sql as unknown as SqlRunner, flushedSerials };
}

function setup() {
  const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x' });
  const { latestSql, flushedSerials } = fakeLatestSql();
  // Not initialised: no flush timer; the test flushes by hand.
  const latest = new LatestStore(latestSql, config);
  const lifecycle = new ConcentratorLifecycle();
  const handlers = new Map<string, DeviceMessageHandler>();
  const ingestion = {
    on: (type: string, h: DeviceMessageHandler) => handlers.set(type, h),
    useBackpressure: jest.fn(),
  } as unknown as IngestionService;
  const writer = { enqueue: jest.fn(() => true) } as unknown as TelemetryWriter;
  const sql = { bulk: jest.fn(async () => ({ rows: [], rowCount: 0 })) };
  new TelemetryIngestHandlers(
    ingestion,
    writer,
    latest,
    new LiveFeed(),
    lifecycle,
    sql as unknown as SqlRunner,
  ).onModuleInit();

  const deliver = (type: 'telemetry' | 'status', sn: string, atMs: number, lines: unknown[]) =>
    handlers.get(type)!({
      dev: { sn, state: 'managed' } as CachedConcentrator,
      msg: { sn, type, ts: Math.floor(atMs / 1000), lines },
      topic: `smart/devs/${sn}/fromdev`,
      at: new Date(atMs),
      receivedAt: new Date(atMs),
      reject: jest.fn(),
      drop: jest.fn(),
    } as unknown as DeviceMessageContext);
  const telemetry = (sn: string, atMs: number, lines: TelemetryLine[]) =>
    deliver('telemetry', sn, atMs, lines);
  const status = (sn: string, atMs: number, lines: StatusLine[]) =>
    deliver('status', sn, atMs, lines);
  const publish = (sn: string, change: LifecycleChange, detail?: Record<string, unknown>) =>
    lifecycle.publish({ sn, change, actor: 'root', detail });
  return { latest, sql, telemetry, status, publish, flushedSerials };
}

describe('TelemetryIngestHandlers: latest values follow the lifecycle', () => {
  it('a deleted serial loses its latest values and pending writes; others keep theirs', async () => {
    const t = setup();
    await t.telemetry(SN, 10_000, [{ line: 1, voltage_v: 230, on: true }]);
    await t.status(SN, 11_000, [{ line: 2, on: false, cause: 'leakage' }]);
    await t.telemetry(OTHER, 10_000, [{ line: 1, voltage_v: 231 }]);
    expect(t.latest.linesOf(SN)).toHaveLength(2);

    await t.publish(SN, 'deleted', { purge: false });
    expect(t.latest.linesOf(SN)).toEqual([]);
    expect(t.latest.linesOf(OTHER)).toHaveLength(1);
    // Its unwritten lines do not reach the table after the delete.
    await t.latest.flush();
    expect(t.flushedSerials).toEqual([[OTHER]]);
    // Stored samples stay unless purged.
    expect(t.sql.bulk).not.toHaveBeenCalled();
  });

  it('a purge also deletes the stored samples', async () => {
    const t = setup();
    await t.publish(SN, 'deleted', { purge: true });
    expect(t.sql.bulk).toHaveBeenCalledWith(PURGE_TELEMETRY, [SN]);
  });

  it('a serial registered again starts from nothing: older device time is accepted again', async () => {
    const t = setup();
    await t.telemetry(SN, 50_000, [{ line: 1, voltage_v: 230, on: true }]);
    await t.status(SN, 50_000, [{ line: 1, on: true, cause: 'remote_on' }]);
    await t.publish(SN, 'deleted');
    await t.publish(SN, 'registered');
    expect(t.latest.linesOf(SN)).toEqual([]);

    // A replacement device whose clock is behind the old one's last sample.
    await t.telemetry(SN, 20_000, [{ line: 1, voltage_v: 110 }]);
    const [line] = t.latest.linesOf(SN);
    expect(line).toMatchObject({
      line: 1,
      tsMs: 20_000,
      isOn: null,
      onAtMs: null,
      onCause: null,
    });
    expect(line.values.voltage_v).toBe(110);
  });

  it('registered alone (no delete seen here) also resets', async () => {
    const t = setup();
    await t.status(SN, 5000, [{ line: 3, on: true, cause: 'manual_on' }]);
    await t.publish(SN, 'registered');
    expect(t.latest.linesOf(SN)).toEqual([]);
  });

  it('adopt, release and a new password keep the latest values', async () => {
    const t = setup();
    await t.telemetry(SN, 10_000, [{ line: 1, voltage_v: 230 }]);
    for (const change of ['adopted', 'released', 'credentials_changed', 'discovered'] as const) {
      await t.publish(SN, change);
    }
    expect(t.latest.linesOf(SN)).toHaveLength(1);
    expect(t.sql.bulk).not.toHaveBeenCalled();
  });
});
