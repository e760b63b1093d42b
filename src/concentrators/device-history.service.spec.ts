import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { loadConfig } from '../config/app-config';
import type { SqlRunner } from '../database/sql-runner';
import type { PeriodicJobs } from '../jobs/periodic-jobs';
import { ConcentratorLifecycle, LifecycleChange } from '../lifecycle/concentrator-lifecycle';
import { ADD_REPEATS } from './device-events.sql';
import { DeviceHistory } from './device-history.service';
import type { Concentrator } from './entities/concentrator.entity';
import type { DeviceEvent } from './entities/device-event.entity';

const SN = '202005010001';
const OTHER = '202005010002';

function setup() {
  let nextId = 0;
  const rows: (Partial<DeviceEvent> & { id: string })[] = [];
  const repo = {
    create: (e: Partial<DeviceEvent>) => e,
    insert: jest.fn(async (e: Partial<DeviceEvent>) => {
      const id = String(++nextId);
      rows.push({ ...e, id });
      return { identifiers: [{ id }] };
    }),
  };
  const sql = { run: jest.fn(async (_sql: string, _params: unknown[]) => 0) };
  const jobs = { register: jest.fn() };
  const lifecycle = new ConcentratorLifecycle();
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    DEVICE_EVENTS_COALESCE_S: '300',
  });
  const history = new DeviceHistory(
    repo as unknown as Repository<DeviceEvent>,
    {} as Repository<Concentrator>,
    lifecycle,
    sql as unknown as SqlRunner,
    jobs as unknown as PeriodicJobs,
    config,
  );
  history.onModuleInit();
  const publish = (sn: string, change: LifecycleChange, detail?: Record<string, unknown>) =>
    lifecycle.publish({ sn, change, actor: 'root', detail });
  const online = (sn: string) => history.add({ sn, kind: 'online', detail: { reason: 'message' } });
  return { history, repo, sql, rows, publish, online };
}

describe('DeviceHistory: runs of repeats follow the lifecycle', () => {
  let t: ReturnType<typeof setup>;
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));
  beforeEach(() => {
    jest.useFakeTimers();
    t = setup();
  });
  afterEach(() => {
    t.history.onModuleDestroy();
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  it('registration changes are rows of their own, credentials_changed is not history', async () => {
    await t.publish(SN, 'discovered', { state: 'pending' });
    await t.publish(SN, 'adopted');
    await t.publish(SN, 'credentials_changed');
    await t.publish(SN, 'released');
    await t.publish(SN, 'deleted', { purge: false });
    await t.publish(SN, 'registered');
    expect(t.rows.map((r) => r.kind)).toEqual([
      'discovered',
      'adopted',
      'released',
      'deleted',
      'created',
    ]);
    expect(t.rows[3]).toMatchObject({ sn: SN, detail: { purge: false }, line: null });
  });

  it('within the window, repeats of an event are counted into its first row', async () => {
    await t.online(SN);
    await t.online(SN);
    await t.online(SN);
    expect(t.rows).toHaveLength(1);
    expect(t.history.counts).toEqual({ written: 1, coalesced: 2, unrecorded: 0 });
    await t.history.flush();
    expect(t.sql.run).toHaveBeenCalledTimes(1);
    expect(t.sql.run.mock.calls[0][0]).toBe(ADD_REPEATS);
    expect(t.sql.run.mock.calls[0][1]).toEqual([['1'], [2], [expect.any(Number)]]);
  });

  it('after deleted, the serial starts a new run; the old run still gets its repeats', async () => {
    await t.online(SN);
    await t.online(SN); // a repeat counted in memory, not yet written
    await t.online(OTHER);
    await t.publish(SN, 'deleted');
    await t.online(SN);
    await t.online(OTHER);
    expect(t.rows.map((r) => [r.sn, r.kind])).toEqual([
      [SN, 'online'],
      [OTHER, 'online'],
      [SN, 'deleted'],
      [SN, 'online'],
    ]);
    await t.history.flush();
    // Row 1 (the old run of SN) gets its repeat; row 2 (OTHER) one too.
    const [ids, counts] = t.sql.run.mock.calls[0][1] as [string[], number[]];
    expect(Object.fromEntries(ids.map((id, i) => [id, counts[i]]))).toEqual({ '1': 1, '2': 1 });
  });

  it('registered also starts a new run', async () => {
    await t.online(SN);
    await t.publish(SN, 'registered');
    await t.online(SN);
    expect(t.rows.map((r) => r.kind)).toEqual(['online', 'created', 'online']);
  });

  it('released, adopted and a new password keep the run going', async () => {
    await t.online(SN);
    await t.publish(SN, 'released');
    await t.publish(SN, 'adopted');
    await t.publish(SN, 'credentials_changed');
    await t.online(SN);
    expect(t.rows.map((r) => r.kind)).toEqual(['online', 'released', 'adopted']);
    expect(t.history.counts.coalesced).toBe(1);
  });

  it('after onModuleDestroy it no longer follows the lifecycle', async () => {
    t.history.onModuleDestroy();
    await t.publish(SN, 'deleted');
    expect(t.rows).toEqual([]);
  });
});
