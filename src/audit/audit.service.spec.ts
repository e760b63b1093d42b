import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { loadConfig } from '../config/app-config';
import type { SqlRunner } from '../database/sql-runner';
import type { JobSpec, PeriodicJobs } from '../jobs/periodic-jobs';
import type { AuditEntry } from './audit-entry.entity';
import { PRUNE_AUDIT_LOG_BATCH } from './audit.sql';
import { AUDIT_PRUNE_JOB, AuditService } from './audit.service';

const KEEP_DAYS = 400;

function setup(batches: number[] = []) {
  const jobs = new Map<string, JobSpec>();
  const fakeJobs = { register: (spec: JobSpec) => jobs.set(spec.name, spec) };
  const sql = { run: jest.fn(async (_sql: string, _params: unknown[]) => batches.shift() ?? 0) };
  const repo = {
    findAndCount: jest.fn(async () => [
      [{ id: '3', at: new Date(Date.UTC(2024, 5, 1)), action: 'token.create', outcome: 'ok' }],
      1,
    ]),
  };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    AUDIT_KEEP_DAYS: String(KEEP_DAYS),
  });
  const svc = new AuditService(
    repo as unknown as Repository<AuditEntry>,
    sql as unknown as SqlRunner,
    fakeJobs as unknown as PeriodicJobs,
    config,
  );
  svc.onModuleInit();
  return { svc, sql, repo, jobs };
}

describe('AuditService: the audit.prune job and the list', () => {
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
    expect(t.jobs.get(AUDIT_PRUNE_JOB)).toMatchObject({
      name: 'audit.prune',
      everyMs: 3_600_000,
      firstAfterMs: 60_000,
    });
  });

  it('deletes entries older than AUDIT_KEEP_DAYS in batches of 5000 and logs them', async () => {
    const t = setup([5000, 5000, 1]);
    const run = t.jobs.get(AUDIT_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(100);
    await expect(run).resolves.toBe(10_001);
    expect(t.sql.run.mock.calls).toEqual(Array(3).fill([PRUNE_AUDIT_LOG_BATCH, [KEEP_DAYS, 5000]]));
    expect(PRUNE_AUDIT_LOG_BATCH).toMatch(/DELETE FROM audit_log WHERE id IN/);
    expect(log).toHaveBeenCalledWith('deleted 10001 audit_log rows older than 400 days');
  });

  it('stops between batches once the module is being destroyed', async () => {
    const t = setup([5000, 5000]);
    const run = t.jobs.get(AUDIT_PRUNE_JOB)!.run();
    await jest.advanceTimersByTimeAsync(0);
    t.svc.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(50);
    await expect(run).resolves.toBe(5000);
    expect(t.sql.run).toHaveBeenCalledTimes(1);
  });

  it('lists the trail newest first, filtered by the fields the query sets', async () => {
    const t = setup();
    const page = await t.svc.list({ limit: 5, offset: 0, action: 'token.create', outcome: 'ok' });
    expect(t.repo.findAndCount).toHaveBeenCalledWith({
      where: { action: 'token.create', outcome: 'ok' },
      order: { id: 'DESC' },
      take: 5,
      skip: 0,
    });
    expect(page).toEqual({
      items: [{ id: '3', at: '2024-06-01T00:00:00.000Z', action: 'token.create', outcome: 'ok' }],
      total: 1,
      limit: 5,
      offset: 0,
    });
  });
});
