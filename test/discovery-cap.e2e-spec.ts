import { delta, quiet, settled } from './support/accounting';
import { bootTestApp, TestApp } from './support/test-app';

/** Pending concentrators come from device traffic alone: their number is capped. */
describe('discovery cap (PENDING_MAX)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp({ env: { PENDING_MAX: '3' } });
  }, 30_000);
  afterAll(async () => {
    await t?.close();
  }, 30_000);

  const pending = async () =>
    (
      await t.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM concentrators WHERE state = 'pending'`,
      )
    )[0].n;

  it('registers unknown serials up to the cap, refuses and counts the rest, and makes room after an adoption', async () => {
    const before = await quiet(t);
    const devices = Array.from({ length: 5 }, () => t.simulator());
    // One at a time: which serials get the three places must not depend on timing.
    for (const d of devices) {
      await d.start();
      await settled(t, before, devices.indexOf(d) + 1);
    }
    const after = await settled(t, before, 5);
    await t.flush();
    expect(await pending()).toBe(3);
    expect(delta(before, after)).toMatchObject({ received: 5, accepted: 3 });
    expect(delta(before, after).rejected).toEqual({ unknown_device: 2 });

    await t
      .api()
      .post(`/api/v1/concentrators/${devices[0].sn}/adopt`)
      .send({ name: 'A' })
      .expect(200);
    const mark = await quiet(t);
    await devices[3].publish({
      type: 'config_request',
      fw: '1.0',
      model: 'M',
      lines: 8,
      io: 'eth',
    });
    await settled(t, mark, 1);
    await t.flush();
    expect(await pending()).toBe(3);
    const row = await t.api().get(`/api/v1/concentrators/${devices[3].sn}`).expect(200);
    expect(row.body.state).toBe('pending');
  }, 60_000);
});
