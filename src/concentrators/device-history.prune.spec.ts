import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { loadConfig } from '../config/app-config';
import type { SqlRunner } from '../database/sql-runner';
import type { JobSpec, PeriodicJobs } from '../jobs/periodic-jobs';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import { PRUNE_DEVICE_EVENTS_BATCH } from './device-events.sql';
import { DEVICE_EVENTS_PRUNE_JOB, DeviceHistory } from './device-history.service';
import type { Concentrator } from './entities/concentrator.entity';
import type { DeviceEvent } from './entities/device-event.entity';

const KEEP_DAYS = 12;

function setup(batches: number[]) {
  const jobs = new Map<string, JobSpec>();
  const fakeJobs = { register: (spec: JobSpec) => jobs.set(spec.name, spec) };
  const sql = { run: jest.fn(async (_sql: string, _params: unknown[]) => batches.shift() ?? 0) };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    DEVICE_EVENTS_KEEP_DAYS: String(KEEP_DAYS),
  });
  const history = new DeviceHistory(
    {} as Repository<DeviceEvent>,
    {} as Repository<Concentrator>,
    new ConcentratorLifecycle(),
    sql as unknown as SqlRunner,
    fakeJobs as unknown as PeriodicJobs,
    config,
  );
  history.onModuleInit();
  return { history, sql, jobs };
}

describe('DeviceHistory: the device-events.prune job', () => {
  let log: jest.SpyInstance;
  beforeEach(() => {
    jest.useFakeTimers();
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    log.mockRestore();
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  it('is registered hourly, the first run a minute after start-up', () => {
    const t = setup([]);
    expect(t.jobs.get(DEVICE_EVENTS_PRUNE_JOB)).toMatchObject({
      name: 'device-events.prune',
      everyMs: 3_600_000,
      firstAfterMs: 60_000,
    });
    t.history.onModuleDestroy();
  });

  it('deletes events older than DEVICE_EVENTS_KEEP_DAYS in batches of 5000, 50 ms apart, and logs the rows', async () => {
    const t = setup([5000, 5000, 12]);
    const run = t.jobs.get(DEVICE_EVENTS_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(49);
    expect(t.sql.run).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(51);
    await expect(run).resolves.toBe(10_012);
    expect(t.sql.run.mock.calls).toEqual([
      [PRUNE_DEVICE_EVENTS_BATCH, [KEEP_DAYS, 5000]],
      [PRUNE_DEVICE_EVENTS_BATCH, [KEEP_DAYS, 5000]],
      [PRUNE_DEVICE_EVENTS_BATCH, [KEEP_DAYS, 5000]],
    ]);
    expect(PRUNE_DEVICE_EVENTS_BATCH).toMatch(/DELETE FROM device_events WHERE id IN/);
    expect(PRUNE_DEVICE_EVENTS_BATCH).toMatch(
      /at < now\(\) - make_interval\(days => \$1\) LIMIT \$2/,
    );
    expect(log).toHaveBeenCalledWith('deleted 10012 device_events rows older than 12 days');
    t.history.onModuleDestroy();
  });

  it('logs nothing when nothing was old', async () => {
    const t = setup([0]);
    await expect(t.jobs.get(DEVICE_EVENTS_PRUNE_JOB)!.run()).resolves.toBe(0);
    expect(log).not.toHaveBeenCalled();
    t.history.onModuleDestroy();
  });

  it('stops between batches once the module is being destroyed', async () => {
    const t = setup([5000, 5000, 5000]);
    const run = t.jobs.get(DEVICE_EVENTS_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(0);
    t.history.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(50);
    await expect(run).resolves.toBe(5000);
    expect(t.sql.run).toHaveBeenCalledTimes(1);
  });
});
