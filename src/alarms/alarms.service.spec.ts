import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { loadConfig } from '../config/app-config';
import type { SqlRunner } from '../database/sql-runner';
import type { JobSpec, PeriodicJobs } from '../jobs/periodic-jobs';
import type { LiveFeed } from '../live/live-feed.service';
import type { Alarm } from './alarm.entity';
import { PRUNE_CLOSED_ALARMS_BATCH } from './alarms.sql';
import { ALARMS_PRUNE_JOB, AlarmsService } from './alarms.service';

const KEEP_DAYS = 30;

function setup(batches: number[] = []) {
  const jobs = new Map<string, JobSpec>();
  const fakeJobs = { register: (spec: JobSpec) => jobs.set(spec.name, spec) };
  const sql = { run: jest.fn(async (_sql: string, _params: unknown[]) => batches.shift() ?? 0) };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    ALARMS_KEEP_DAYS: String(KEEP_DAYS),
  });
  const svc = new AlarmsService(
    {} as Repository<Alarm>,
    sql as unknown as SqlRunner,
    fakeJobs as unknown as PeriodicJobs,
    {} as LiveFeed,
    config,
  );
  svc.onModuleInit();
  return { svc, sql, jobs };
}

describe('AlarmsService: the alarms.prune job', () => {
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
    const t = setup();
    expect(t.jobs.get(ALARMS_PRUNE_JOB)).toMatchObject({
      name: 'alarms.prune',
      everyMs: 3_600_000,
      firstAfterMs: 60_000,
    });
  });

  it('deletes closed alarms cleared over ALARMS_KEEP_DAYS ago in batches of 5000 and logs them', async () => {
    const t = setup([5000, 40]);
    const run = t.jobs.get(ALARMS_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(50);
    await expect(run).resolves.toBe(5040);
    expect(t.sql.run.mock.calls).toEqual(
      Array(2).fill([PRUNE_CLOSED_ALARMS_BATCH, [KEEP_DAYS, 5000]]),
    );
    expect(log).toHaveBeenCalledWith('deleted 5040 alarms rows cleared over 30 days ago');
  });

  it('ages closed alarms from their clear and never touches open ones', () => {
    expect(PRUNE_CLOSED_ALARMS_BATCH).toMatch(/DELETE FROM alarms WHERE id IN/);
    expect(PRUNE_CLOSED_ALARMS_BATCH).toMatch(
      /WHERE NOT active AND cleared_at < now\(\) - make_interval\(days => \$1\) LIMIT \$2/,
    );
  });

  it('stops between batches once the module is being destroyed', async () => {
    const t = setup([5000, 5000]);
    const run = t.jobs.get(ALARMS_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(0);
    t.svc.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(50);
    await expect(run).resolves.toBe(5000);
    expect(t.sql.run).toHaveBeenCalledTimes(1);
  });
});
