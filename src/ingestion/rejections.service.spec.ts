import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { loadConfig } from '../config/app-config';
import type { SqlRunner } from '../database/sql-runner';
import type { JobSpec, PeriodicJobs } from '../jobs/periodic-jobs';
import type { IngestStats } from './ingest-stats';
import type { Rejection } from './rejection.entity';
import { PRUNE_REJECTIONS_BATCH, TRIM_REJECTIONS } from './rejections.sql';
import { REJECTIONS_PRUNE_JOB, REJECTIONS_TRIM_JOB, RejectionsService } from './rejections.service';

const KEEP_DAYS = 7;
const KEEP_ROWS = 500;

function setup(batches: number[] = []) {
  const jobs = new Map<string, JobSpec>();
  const fakeJobs = { register: (spec: JobSpec) => jobs.set(spec.name, spec) };
  const sql = { run: jest.fn(async (_sql: string, _params: unknown[]) => batches.shift() ?? 0) };
  const repo = {
    findAndCount: jest.fn(async () => [
      [{ id: '9', at: new Date(Date.UTC(2024, 0, 2)), reason: 'bad_json', sn: null }],
      41,
    ]),
  };
  const stats = { rejected: new Map([['bad_json', 250]]) };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    REJECTIONS_KEEP_DAYS: String(KEEP_DAYS),
    REJECTIONS_KEEP: String(KEEP_ROWS),
  });
  const svc = new RejectionsService(
    repo as unknown as Repository<Rejection>,
    stats as unknown as IngestStats,
    sql as unknown as SqlRunner,
    fakeJobs as unknown as PeriodicJobs,
    config,
  );
  svc.onModuleInit();
  return { svc, sql, repo, jobs };
}

describe('RejectionsService: its jobs and its list', () => {
  let log: jest.SpyInstance;
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    jest.useFakeTimers();
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    t.svc.onModuleDestroy();
    await t.svc.onApplicationShutdown();
    log.mockRestore();
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  it('registers the trim every minute and the prune hourly, a minute after start-up', () => {
    t = setup();
    expect(t.jobs.get(REJECTIONS_TRIM_JOB)).toMatchObject({
      name: 'rejections.trim',
      everyMs: 60_000,
    });
    expect(t.jobs.get(REJECTIONS_TRIM_JOB)!.firstAfterMs).toBeUndefined();
    expect(t.jobs.get(REJECTIONS_PRUNE_JOB)).toMatchObject({
      name: 'rejections.prune',
      everyMs: 3_600_000,
      firstAfterMs: 60_000,
    });
  });

  it('the trim keeps the newest REJECTIONS_KEEP rows', async () => {
    t = setup([17]);
    await expect(t.jobs.get(REJECTIONS_TRIM_JOB)!.run()).resolves.toBe(17);
    expect(t.sql.run.mock.calls).toEqual([[TRIM_REJECTIONS, [KEEP_ROWS]]]);
  });

  it('the prune deletes rows older than REJECTIONS_KEEP_DAYS in batches of 5000 and logs them', async () => {
    t = setup([5000, 3]);
    const run = t.jobs.get(REJECTIONS_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(50);
    await expect(run).resolves.toBe(5003);
    expect(t.sql.run.mock.calls).toEqual([
      [PRUNE_REJECTIONS_BATCH, [KEEP_DAYS, 5000]],
      [PRUNE_REJECTIONS_BATCH, [KEEP_DAYS, 5000]],
    ]);
    expect(PRUNE_REJECTIONS_BATCH).toMatch(/DELETE FROM rejections WHERE id IN/);
    expect(log).toHaveBeenCalledWith('deleted 5003 rejections rows older than 7 days');
  });

  it('one pass of the prune does at most 200 batches', async () => {
    t = setup();
    t.sql.run.mockResolvedValue(5000);
    const run = t.jobs.get(REJECTIONS_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(200 * 50);
    await expect(run).resolves.toBe(200 * 5000);
    expect(t.sql.run).toHaveBeenCalledTimes(200);
  });

  it('lists recorded rejections newest first, with the counts since start', async () => {
    t = setup();
    const page = await t.svc.list({ limit: 10, offset: 20, reason: 'bad_json' });
    expect(t.repo.findAndCount).toHaveBeenCalledWith({
      where: { reason: 'bad_json' },
      order: { id: 'DESC' },
      take: 10,
      skip: 20,
    });
    expect(page).toEqual({
      items: [{ id: '9', at: '2024-01-02T00:00:00.000Z', reason: 'bad_json', sn: null }],
      total: 41,
      limit: 10,
      offset: 20,
      counts: { bad_json: 250 },
    });
  });
});
