import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, TestApp, waitFor } from './support/test-app';

/**
 * A concentrator keeps the report period it was commissioned with until an
 * operator sets one: registering or adopting it pushes no default over it.
 */
describe('device config: nothing overrides the device until an operator sets it', () => {
  let t: TestApp;
  let probe: MqttProbe;
  const todev = (sn: string) =>
    probe.messages
      .filter((m) => m.topic === `${t.root}/${sn}/todev`)
      .map((m) => JSON.parse(m.payload.toString()) as { type: string; report_s?: number });

  beforeAll(async () => {
    t = await bootTestApp();
    probe = await MqttProbe.connect(t.mqttUrl);
    await probe.subscribe(`${t.root}/+/todev`);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  it('sends no config to a registered concentrator; GET shows none desired', async () => {
    const sn = await t.register();
    const d = t.simulator({ sn });
    await d.start();
    // The answer to config_request would be on its way by the time a status round trip is done.
    await d.publish({ type: 'status', lines: [{ line: 1, on: true, cause: 'manual_on' }] });
    await t.flush();
    await waitFor(async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.online, 5000);
    expect(todev(sn)).toEqual([]);
    const config = await t.api().get(`/api/v1/concentrators/${sn}/config`).expect(200);
    expect(config.body).toMatchObject({ sn, desired: null, sync: null, commandId: null });
    const view = await t.api().get(`/api/v1/concentrators/${sn}`).expect(200);
    expect(view.body.sync).toEqual({ config: null, schedules: null, params: null });
  }, 30_000);

  it('sends nothing on adoption either, and the config an operator sets goes out at once', async () => {
    const d = t.simulator({ intervalMs: 5000 });
    await d.start();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${d.sn}`)).status === 200,
      5000,
      'discovered',
    );
    await t.api().post(`/api/v1/concentrators/${d.sn}/adopt`).send({ name: 'Lab' }).expect(200);
    await t.flush();
    expect(todev(d.sn)).toEqual([]);
    expect(d.config).toEqual({});

    await t
      .api()
      .put(`/api/v1/concentrators/${d.sn}/config`)
      .send({ reportS: 15, heartbeatS: 30, deltaPct: 5 })
      .expect(200);
    await waitFor(() => todev(d.sn).some((m) => m.type === 'config'), 5000, 'config pushed');
    expect(todev(d.sn).find((m) => m.type === 'config')).toMatchObject({ report_s: 15 });
    await waitFor(() => d.config.report_s === 15, 5000, 'device applied it');
    await waitFor(
      async () =>
        (await t.api().get(`/api/v1/concentrators/${d.sn}/config`)).body.sync === 'synced',
      5000,
      'acked',
    );
  }, 30_000);
});
