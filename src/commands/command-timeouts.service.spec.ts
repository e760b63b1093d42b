import { Logger } from '@nestjs/common';
import { loadConfig } from '../config/app-config';
import type { JobSpec, PeriodicJobs } from '../jobs/periodic-jobs';
import { Command } from './command.entity';
import type { CommandSettlement } from './command-settlement.service';
import type { CommandStore } from './command-store';
import { CommandTimeouts, PRUNE_JOB, TIMEOUT_SWEEP_JOB } from './command-timeouts.service';

const TIMEOUT_S = 10;
const KEEP_DAYS = 9;

function row(id: string, createdAt = new Date()): Command {
  return Object.assign(new Command(), { id, sn: '202005010001', state: 'sent', createdAt });
}

function setup() {
  const jobs = new Map<string, JobSpec>();
  const fakeJobs = { register: (spec: JobSpec) => jobs.set(spec.name, spec) };
  const store = {
    // true: the command was still open and is now `timeout`.
    timeOut: jest.fn(async (_id: string, _at: Date) => true),
    stillSentBefore: jest.fn(async (_before: Date, _limit: number): Promise<string[]> => []),
    pruneFinal: jest.fn(async (_days: number) => 3),
  };
  const settlement = { settled: jest.fn(async (_id: string) => undefined) };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    COMMAND_TIMEOUT_S: String(TIMEOUT_S),
    COMMANDS_KEEP_DAYS: String(KEEP_DAYS),
  });
  const svc = new CommandTimeouts(
    store as unknown as CommandStore,
    settlement as unknown as CommandSettlement,
    fakeJobs as unknown as PeriodicJobs,
    config,
  );
  svc.onModuleInit();
  return { svc, store, settlement, jobs };
}

describe('CommandTimeouts', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  it('times a command out at its deadline and announces it', async () => {
    const t = setup();
    t.svc.arm(row('c-1'));
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000 - 1);
    expect(t.store.timeOut).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(t.store.timeOut).toHaveBeenCalledTimes(1);
    expect(t.store.timeOut).toHaveBeenCalledWith('c-1', expect.any(Date));
    expect(t.settlement.settled).toHaveBeenCalledWith('c-1');
  });

  it('counts the deadline from when the command was stored', async () => {
    const t = setup();
    t.svc.arm(row('c-1', new Date(Date.now() - 4000)));
    t.svc.arm(row('c-2', new Date(Date.now() - 60_000)));
    await jest.advanceTimersByTimeAsync(0);
    expect(t.store.timeOut.mock.calls.map((c) => c[0])).toEqual(['c-2']);
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000 - 4000);
    expect(t.store.timeOut.mock.calls.map((c) => c[0])).toEqual(['c-2', 'c-1']);
  });

  it('announces nothing when the command was settled elsewhere first', async () => {
    const t = setup();
    t.store.timeOut.mockResolvedValue(false);
    t.svc.arm(row('c-1'));
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000);
    expect(t.store.timeOut).toHaveBeenCalledTimes(1);
    expect(t.settlement.settled).not.toHaveBeenCalled();
  });

  it('a failing store is logged, not thrown, and announces nothing', async () => {
    const t = setup();
    t.store.timeOut.mockRejectedValue(new Error('database down'));
    t.svc.arm(row('c-1'));
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000);
    expect(t.settlement.settled).not.toHaveBeenCalled();
  });

  it('disarm cancels the timer', async () => {
    const t = setup();
    t.svc.arm(row('c-1'));
    t.svc.arm(row('c-2'));
    t.svc.disarm('c-1');
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000 * 2);
    expect(t.store.timeOut.mock.calls.map((c) => c[0])).toEqual(['c-2']);
  });

  it('shutdown cancels every timer', async () => {
    const t = setup();
    t.svc.arm(row('c-1'));
    t.svc.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000 * 2);
    expect(t.store.timeOut).not.toHaveBeenCalled();
  });

  it('registers the sweep to run at once and then every 5 s, and the prune hourly', () => {
    const t = setup();
    expect(t.jobs.get(TIMEOUT_SWEEP_JOB)).toMatchObject({ everyMs: 5000, firstAfterMs: 0 });
    expect(t.jobs.get(PRUNE_JOB)).toMatchObject({ everyMs: 3_600_000 });
  });

  it('the sweep expires only old open commands that have no timer here', async () => {
    const t = setup();
    t.svc.arm(row('c-local'));
    t.store.stillSentBefore.mockResolvedValue(['c-orphan', 'c-local', 'c-other']);
    await t.jobs.get(TIMEOUT_SWEEP_JOB)!.run();
    expect(t.store.timeOut.mock.calls.map((c) => c[0])).toEqual(['c-orphan', 'c-other']);
    expect(t.settlement.settled.mock.calls.map((c) => c[0])).toEqual(['c-orphan', 'c-other']);
    const [before, limit] = t.store.stillSentBefore.mock.calls[0];
    expect(before.getTime()).toBe(Date.now() - TIMEOUT_S * 1000);
    expect(limit).toBe(1000);
    // The local timer still runs and ends its own command.
    await jest.advanceTimersByTimeAsync(TIMEOUT_S * 1000);
    expect(t.store.timeOut.mock.calls.map((c) => c[0])).toEqual(['c-orphan', 'c-other', 'c-local']);
  });

  it('the prune job deletes final commands older than COMMANDS_KEEP_DAYS', async () => {
    const t = setup();
    await expect(t.jobs.get(PRUNE_JOB)!.run()).resolves.toBe(3);
    expect(t.store.pruneFinal).toHaveBeenCalledWith(KEEP_DAYS);
  });
});
