import { AlarmsService } from '../src/alarms/alarms.service';
import { PeriodicJobs } from '../src/jobs/periodic-jobs';
import { delta, quiet, settled } from './support/accounting';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, TestApp } from './support/test-app';

/**
 * A chattering alarm and a stream of clears with nothing open cannot grow
 * the alarms table without bound; closed alarms go with ALARMS_KEEP_DAYS,
 * open ones stay whatever their age.
 */
describe('alarm flood: bounded rows', () => {
  let t: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    t = await bootTestApp();
    probe = await MqttProbe.connect(t.mqttUrl);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  /** In chunks the app has taken before the next: a broker may drop what a slow subscriber does not read. */
  const publishAll = async (sn: string, payloads: Record<string, unknown>[]) => {
    const before = await quiet(t);
    for (let i = 0; i < payloads.length; i += 200) {
      for (const p of payloads.slice(i, i + 200)) {
        await probe.publish(`${t.root}/${sn}/fromdev`, JSON.stringify({ sn, ...p }));
      }
      await settled(t, before, Math.min(i + 200, payloads.length), 30_000);
    }
    return delta(before, await quiet(t));
  };
  const rows = (sn: string) =>
    t.query<{ active: boolean; unmatched_clear: boolean; repeat_count: number }>(
      'SELECT active, unmatched_clear, repeat_count FROM alarms WHERE sn = $1 ORDER BY id',
      [sn],
    );

  it('1000 raise/clear flips one second apart are one episode; 500 clears with nothing open one row', async () => {
    const sn = await t.register();
    const start = Math.floor(Date.now() / 1000) - 3000;
    const flips = Array.from({ length: 1000 }, (_, i) => ({
      type: 'alarm',
      ts: start + i,
      line: 2,
      code: 'overtemp',
      active: i % 2 === 0,
      value: 90,
    }));
    expect(await publishAll(sn, flips)).toMatchObject({ received: 1000, accepted: 1000 });
    expect(await rows(sn)).toEqual([{ active: false, unmatched_clear: false, repeat_count: 499 }]);

    const clears = Array.from({ length: 500 }, (_, i) => ({
      type: 'alarm',
      ts: start + 1000 + i,
      line: 5,
      code: 'leakage',
      active: false,
    }));
    expect(await publishAll(sn, clears)).toMatchObject({ received: 500, accepted: 500 });
    const all = await rows(sn);
    expect(all).toHaveLength(2);
    expect(all[1]).toEqual({ active: false, unmatched_clear: true, repeat_count: 499 });
  }, 120_000);

  it('retention deletes closed alarms past ALARMS_KEEP_DAYS and keeps open ones', async () => {
    const sn = await t.register();
    await t.query(
      `INSERT INTO alarms (sn, line, code, active, raised_at, last_at, cleared_at)
       SELECT $1, 1, 'overload', false, now() - interval '400 days', now() - interval '400 days',
              now() - interval '366 days' FROM generate_series(1, 40)`,
      [sn],
    );
    await t.query(
      `INSERT INTO alarms (sn, line, code, active, raised_at, last_at)
       VALUES ($1, 1, 'overload', true, now() - interval '400 days', now() - interval '400 days')`,
      [sn],
    );
    const deleted = await t.app
      .get(AlarmsService)
      .prune({ batchRows: 15, maxBatches: 100, pauseMs: 0 });
    expect(deleted).toBe(40);
    expect(await rows(sn)).toEqual([{ active: true, unmatched_clear: false, repeat_count: 0 }]);
    // The hourly job, with its own plan, keeps the open one too.
    await t.app.get(PeriodicJobs).runNow('alarms.prune');
    expect(await rows(sn)).toEqual([{ active: true, unmatched_clear: false, repeat_count: 0 }]);
  }, 30_000);
});
