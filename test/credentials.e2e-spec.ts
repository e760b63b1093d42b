import { randomBytes } from 'node:crypto';
import { IClientOptions } from 'mqtt';
import { EmbeddedBrokerAuth } from '../src/embedded/broker-auth';
import { EmbeddedBrokerHandle, startEmbeddedBroker } from '../src/embedded/embedded-broker';
import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { freePort } from './support/free-port';
import { MqttProbe } from './support/mqtt-probe';
import { closed, connackCode, subackCodes, tryConnect } from './support/mqtt-connect';
import { bootTestApp, newSerial, TestApp, waitFor, within } from './support/test-app';

const BACKEND = {
  username: 'admin_client',
  password: 'backend-' + randomBytes(12).toString('hex'),
};
const HOOK_SECRET = 'hook-secret-' + randomBytes(12).toString('hex');
const BAD_CREDENTIALS = 4;

/** An authenticating embedded broker of its own and an app that installs its device checks. */
async function start(env: Record<string, string> = {}) {
  const root = `e2e${randomBytes(4).toString('hex')}/devs`;
  const auth = new EmbeddedBrokerAuth({ topicRoot: root, backend: BACKEND });
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort(), auth });
  // A failed boot must not leave the broker listening: that alone keeps Jest from exiting.
  const t = await bootTestApp({
    root,
    brokerAuth: auth,
    env: {
      MQTT_URL: broker.url,
      MQTT_USERNAME: BACKEND.username,
      MQTT_PASSWORD: BACKEND.password,
      // config_request is then answered with the fleet default config: a round trip to wait on.
      PUSH_DEFAULT_CONFIG: 'true',
      ...env,
    },
  }).catch(async (err: unknown) => {
    await broker.close();
    throw err;
  });
  const sims: SimulatedConcentrator[] = [];
  const simulator = (sn: string, password?: string) => {
    const d = new SimulatedConcentrator({
      brokerUrl: broker.url,
      sn,
      password,
      topicRoot: root,
      intervalMs: 0,
      lines: 2,
    });
    sims.push(d);
    return d;
  };
  const stop = async () => {
    for (const d of sims) await d.stop().catch(() => undefined);
    try {
      await t.close();
    } finally {
      await broker.close();
    }
  };
  return { t, broker, auth, root, simulator, stop };
}

type Started = Awaited<ReturnType<typeof start>>;

const deviceOpts = (sn: string, password?: string, extra: IClientOptions = {}): IClientOptions => ({
  username: sn,
  password,
  clientId: sn,
  ...extra,
});

describe('embedded broker before the app is up', () => {
  it('lets the backend in at once, and tells devices to come back later (server unavailable)', async () => {
    const root = 'early/devs';
    const auth = new EmbeddedBrokerAuth({ topicRoot: root, backend: BACKEND });
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort(), auth });
    try {
      expect(await connackCode(broker.url, { ...BACKEND, clientId: 'backend-1' })).toBe(0);
      expect(
        await connackCode(broker.url, {
          username: BACKEND.username,
          password: 'nope',
          clientId: 'b',
        }),
      ).toBe(BAD_CREDENTIALS);
      const sn = newSerial();
      expect(await connackCode(broker.url, deviceOpts(sn, 'whatever'))).toBe(3);
    } finally {
      await broker.close();
    }
  }, 30_000);
});

describe('device credentials and ACL on the embedded broker', () => {
  let t: TestApp;
  let broker: EmbeddedBrokerHandle;
  let root: string;
  let backendProbe: MqttProbe;
  let simulator: Started['simulator'];
  let stop: Started['stop'];

  const register = async (sn = newSerial()) => {
    const res = await t
      .api()
      .post('/api/v1/concentrators')
      .send({ sn, name: `dev ${sn}` });
    expect(res.status).toBe(201);
    return { sn, password: res.body.mqttPassword as string };
  };
  const fromdev = (sn: string) => `${root}/${sn}/fromdev`;
  const todev = (sn: string) => `${root}/${sn}/todev`;
  const telemetryRows = async (sn: string) =>
    Number(
      (await t.query<{ n: string }>('SELECT count(*) n FROM telemetry WHERE sn = $1', [sn]))[0].n,
    );
  /** Published last by the same client: once it is through, anything sent before it was too. */
  const marker = async (sn: string, password: string) => {
    const r = await tryConnect(broker.url, deviceOpts(sn, password));
    if (!r.ok) throw new Error(r.error);
    const ts = Math.floor(Date.now() / 1000);
    await r.client.publishAsync(
      fromdev(sn),
      JSON.stringify({ sn, type: 'telemetry', ts, lines: [{ line: 1, v: 230.5 }] }),
    );
    await backendProbe.waitFor(
      (m) => m.topic === fromdev(sn) && m.payload.includes(`"ts":${ts}`),
      10_000,
    );
    await r.client.endAsync();
  };

  beforeAll(async () => {
    ({ t, broker, root, simulator, stop } = await start({ BROKER_HOOK_SECRET: HOOK_SECRET }));
    // A second backend connection: what the broker delivers to the backend's user.
    backendProbe = await MqttProbe.connect(broker.url, {
      ...BACKEND,
      clientId: 'e2e-backend-probe',
    });
    await backendProbe.subscribe(`${root}/+/fromdev`);
  }, 30_000);
  afterAll(async () => {
    await backendProbe?.close();
    await stop?.();
  }, 30_000);

  it('returns a password once on create and keeps only a mosquitto $7$ hash', async () => {
    const { sn, password } = await register();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const [row] = await t.query<{ password_hash: string }>(
      'SELECT password_hash FROM device_credentials WHERE sn = $1',
      [sn],
    );
    expect(row.password_hash).toMatch(/^\$7\$10000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(row.password_hash).not.toContain(password);
    const view = await t.api().get(`/api/v1/concentrators/${sn}`);
    expect(JSON.stringify(view.body)).not.toContain(password);
    expect(view.body.mqttPassword).toBeUndefined();
    const audit = await t.query<{ action: string; detail: Record<string, unknown> }>(
      `SELECT action, detail FROM audit_log WHERE target = $1 AND action LIKE 'credentials.%'`,
      [sn],
    );
    expect(audit).toEqual([{ action: 'credentials.issue', detail: { reason: 'create' } }]);
    expect(JSON.stringify(audit)).not.toContain(password);
  }, 30_000);

  it('admits a device with its password and ingests its telemetry; refuses everything else', async () => {
    const { sn, password } = await register();
    const d = simulator(sn, password);
    await d.start();
    await d.publishTelemetry();
    await waitFor(async () => {
      await t.flush();
      return (await telemetryRows(sn)) > 0;
    });
    await d.stop();

    const other = await register();
    const cases: [string, IClientOptions, number][] = [
      ['wrong password', deviceOpts(sn, (password[0] === 'x' ? 'y' : 'x') + password.slice(1)), BAD_CREDENTIALS],
      ["another device's password", deviceOpts(sn, other.password), BAD_CREDENTIALS],
      ['no password', deviceOpts(sn), BAD_CREDENTIALS],
      ['client id not the serial', deviceOpts(sn, password, { clientId: `${sn}-x` }), 2],
      ['unknown serial', deviceOpts(newSerial(), password), BAD_CREDENTIALS],
      ['11 digits', deviceOpts(sn.slice(1), password), BAD_CREDENTIALS],
      ['wildcard +', deviceOpts(sn.slice(1) + '+', password), BAD_CREDENTIALS],
      ['wildcard #', deviceOpts(sn.slice(1) + '#', password), BAD_CREDENTIALS],
      ['slash', deviceOpts(`${sn.slice(0, 6)}/${sn.slice(7)}`, password), BAD_CREDENTIALS],
      ['anonymous', { clientId: sn }, BAD_CREDENTIALS],
      ['device password for the backend user', { ...deviceOpts(sn, password), username: 'admin_client' }, BAD_CREDENTIALS],
      [
        'a will on another topic',
        deviceOpts(sn, password, { will: { topic: fromdev(other.sn), payload: Buffer.from('{}'), qos: 0, retain: false } }),
        5,
      ],
      [
        'a retained will',
        deviceOpts(sn, password, { will: { topic: fromdev(sn), payload: Buffer.from('{}'), qos: 0, retain: true } }),
        5,
      ],
    ]; // prettier-ignore
    for (const [what, opts, code] of cases) {
      expect({ what, code: await connackCode(broker.url, opts) }).toEqual({ what, code });
    }
    expect(await connackCode(broker.url, deviceOpts(sn, password))).toBe(0);

    const metrics = await t.http().get('/metrics');
    expect(metrics.text).toMatch(/bcb_broker_auth_failures_total\{reason="bad_password"\} [1-9]/);
    expect(metrics.text).toMatch(
      /bcb_broker_auth_failures_total\{reason="client_id_mismatch"\} [1-9]/,
    );
  }, 45_000);

  it("confines a device to its own topics: other serials' fromdev, wildcards and retain are refused", async () => {
    const a = await register();
    const b = await register();
    const r = await tryConnect(broker.url, deviceOpts(a.sn, a.password));
    if (!r.ok) throw new Error(r.error);
    const filters = [todev(a.sn), `${root}/+/todev`, todev(b.sn), `${root}/#`, fromdev(b.sn)];
    expect(await subackCodes(r.client, filters)).toEqual([0, 128, 128, 128, 128]);

    // Publishing as another serial: the broker drops it and the connection.
    const spoof = JSON.stringify({
      sn: b.sn,
      type: 'telemetry',
      ts: 1_700_000_000,
      lines: [{ line: 1 }],
    });
    r.client.publish(fromdev(b.sn), spoof);
    await closed(r.client);
    await r.client.endAsync(true);

    // A retained message, even on its own topic.
    const r2 = await tryConnect(broker.url, deviceOpts(a.sn, a.password));
    if (!r2.ok) throw new Error(r2.error);
    r2.client.publish(fromdev(a.sn), JSON.stringify({ sn: a.sn, type: 'status', ts: 1 }), {
      retain: true,
    });
    await closed(r2.client);
    await r2.client.endAsync(true);

    await marker(a.sn, a.password);
    expect(backendProbe.messages.filter((m) => m.topic === fromdev(b.sn))).toEqual([]);
    expect(backendProbe.messages.filter((m) => m.retain || m.payload.includes('"ts":1}'))).toEqual(
      [],
    );
    await t.flush();
    expect(await telemetryRows(b.sn)).toBe(0);
    const rejections = await t.query('SELECT * FROM rejections WHERE sn = $1', [b.sn]);
    expect(rejections).toEqual([]);
  }, 30_000);

  it("does not deliver other devices' todev, and the backend may write only todev", async () => {
    const a = await register();
    const b = await register();
    const probe = await MqttProbe.connect(broker.url, deviceOpts(a.sn, a.password));
    // The wildcard is refused (SUBACK 0x80): nothing of others arrives through it.
    expect(await subackCodes(probe.client, [`${root}/+/todev`, todev(a.sn)])).toEqual([128, 0]);
    const devB = simulator(b.sn, b.password);
    await devB.start();
    await devB.waitFor((m) => m.type === 'config', 10_000); // the backend's answer to config_request
    const backendWriter = await tryConnect(broker.url, {
      ...BACKEND,
      clientId: 'e2e-backend-writer',
    });
    if (!backendWriter.ok) throw new Error(backendWriter.error);
    const c = backendWriter.client;
    await c.publishAsync(todev(b.sn), '{"to":"b"}');
    await c.publishAsync(todev(a.sn), '{"to":"a"}');
    await probe.waitFor((m) => m.topic === todev(a.sn), 10_000);
    await devB.waitFor((m) => m.to === 'b', 10_000);
    expect(probe.messages.filter((m) => m.topic !== todev(a.sn))).toEqual([]);
    // The backend's user writing to fromdev (posing as a device) is refused too.
    c.publish(fromdev(b.sn), '{}');
    await closed(c);
    await c.endAsync(true);
    await probe.close();
    await devB.stop();
  }, 30_000);

  it('rotation: a new password, the old one refused, the connected device dropped, audited', async () => {
    const { sn, password } = await register();
    const d = simulator(sn, password);
    await d.start();
    const dropped = new Promise<void>((resolve) => d.once('disconnected', () => resolve()));
    const res = await t.api().post(`/api/v1/concentrators/${sn}/credentials`).send({});
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      sn,
      mqttPassword: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      issuedAt: expect.any(String),
    });
    await within(dropped, 10_000, 'the device to be dropped');
    await d.stop();
    expect(res.body.mqttPassword).not.toBe(password);
    expect(await connackCode(broker.url, deviceOpts(sn, password))).toBe(BAD_CREDENTIALS);
    expect(await connackCode(broker.url, deviceOpts(sn, res.body.mqttPassword))).toBe(0);

    const audit = await t.query<{ action: string; actor: string; outcome: string }>(
      `SELECT action, actor, outcome FROM audit_log WHERE target = $1 AND action = 'credentials.rotate'`,
      [sn],
    );
    expect(audit).toEqual([
      { action: 'credentials.rotate', actor: 'bootstrap-admin', outcome: 'ok' },
    ]);

    const unknown = newSerial();
    expect((await t.api().post(`/api/v1/concentrators/${unknown}/credentials`)).status).toBe(404);
    const refused = await t.query(
      `SELECT 1 FROM audit_log WHERE target = $1 AND action = 'credentials.rotate' AND outcome = 'refused'`,
      [unknown],
    );
    expect(refused).toHaveLength(1);
    expect((await t.http().post(`/api/v1/concentrators/${sn}/credentials`)).status).toBe(401);
  }, 30_000);

  it('release drops the device and shuts it out; adopting it again restores its password', async () => {
    const { sn, password } = await register();
    const d = simulator(sn, password);
    await d.start();
    const dropped = new Promise<void>((resolve) => d.once('disconnected', () => resolve()));
    expect((await t.api().post(`/api/v1/concentrators/${sn}/release`)).status).toBe(200);
    await within(dropped, 10_000, 'the device to be dropped');
    await d.stop();
    expect(await connackCode(broker.url, deviceOpts(sn, password))).toBe(BAD_CREDENTIALS);
    const adopt = await t.api().post(`/api/v1/concentrators/${sn}/adopt`).send({ name: 'again' });
    expect(adopt.status).toBe(200);
    expect(adopt.body.mqttPassword).toBeUndefined();
    expect(await connackCode(broker.url, deviceOpts(sn, password))).toBe(0);
  }, 30_000);

  it('exports mosquitto files with the backend user and managed devices', async () => {
    const { sn } = await register();
    const passwd = await t.api().get('/api/v1/broker/mosquitto/passwd');
    expect(passwd.status).toBe(200);
    expect(passwd.headers['content-type']).toMatch(/^text\/plain/);
    const [row] = await t.query<{ password_hash: string }>(
      'SELECT password_hash FROM device_credentials WHERE sn = $1',
      [sn],
    );
    expect(passwd.text.split('\n')).toContain(`${sn}:${row.password_hash}`);
    expect(passwd.text).toMatch(/^admin_client:\$7\$10000\$/m);
    const acl = await t.api().get('/api/v1/broker/mosquitto/aclfile');
    expect(acl.text).toContain(`user ${sn}\ntopic write ${fromdev(sn)}\ntopic read ${todev(sn)}\n`);
    expect(acl.text).toContain(
      `user admin_client\ntopic read ${root}/+/fromdev\ntopic write ${root}/+/todev\n`,
    );
  }, 30_000);

  describe('EMQX hooks', () => {
    const authn = (body: unknown, secret: string | null = HOOK_SECRET) => {
      const r = t.http().post('/broker/emqx/authn');
      if (secret !== null) r.set('X-Broker-Hook-Secret', secret);
      return r.send(body as object);
    };
    const authz = (body: unknown, secret: string | null = HOOK_SECRET) => {
      const r = t.http().post('/broker/emqx/authz');
      if (secret !== null) r.set('X-Broker-Hook-Secret', secret);
      return r.send(body as object);
    };
    const allow = { result: 'allow', is_superuser: false };

    it('authenticates devices and the backend, denies everything doubtful, always with 200', async () => {
      const { sn, password } = await register();
      const ok = { username: sn, password, clientid: sn, peerhost: '10.0.0.9' };
      const r = await authn(ok);
      expect([r.status, r.body]).toEqual([200, allow]);
      expect((await authn({ ...BACKEND, clientid: 'backend-2' })).body).toEqual(allow);
      const denied: [string, unknown, string | null][] = [
        ['no secret', ok, null],
        ['wrong secret', ok, HOOK_SECRET + 'x'],
        ['wrong password', { ...ok, password: password + 'x' }, HOOK_SECRET],
        ['client id differs', { ...ok, clientid: 'other' }, HOOK_SECRET],
        ['no client id', { username: sn, password }, HOOK_SECRET],
        ['unknown serial', { ...ok, username: newSerial() }, HOOK_SECRET],
        ['not a serial', { ...ok, username: 'dashboard', clientid: 'dashboard' }, HOOK_SECRET],
        ['backend, wrong password', { ...BACKEND, password: 'x' }, HOOK_SECRET],
        ['password as a number', { ...ok, password: 12345 }, HOOK_SECRET],
        ['not an object', [1, 2], HOOK_SECRET],
      ];
      for (const [what, body, secret] of denied) {
        const res = await authn(body, secret);
        expect({ what, status: res.status, body: res.body }).toEqual({
          what,
          status: 200,
          body: { result: 'deny', is_superuser: false },
        });
      }
      const malformed = await t
        .http()
        .post('/broker/emqx/authn')
        .set('X-Broker-Hook-Secret', HOOK_SECRET)
        .set('Content-Type', 'application/json')
        .send('{"username":');
      expect([malformed.status, malformed.body]).toEqual([200, { result: 'deny' }]);
      const huge = await authn({ ...ok, peerhost: 'x'.repeat(20_000) });
      expect([huge.status, huge.body]).toEqual([200, { result: 'deny' }]);
    }, 30_000);

    it('authorizes per the ACL: own fromdev (not retained) and own todev, backend the rest', async () => {
      const { sn } = await register();
      const other = newSerial();
      const dev = { username: sn, clientid: sn };
      const cases: [unknown, 'allow' | 'deny'][] = [
        [{ ...dev, action: 'publish', topic: fromdev(sn), retain: 'false', qos: '0' }, 'allow'],
        [{ ...dev, action: 'publish', topic: fromdev(sn), retain: false }, 'allow'],
        [{ ...dev, action: 'publish', topic: fromdev(sn), retain: 'true' }, 'deny'],
        [{ ...dev, action: 'publish', topic: fromdev(sn) }, 'deny'],
        [{ ...dev, action: 'publish', topic: fromdev(other), retain: 'false' }, 'deny'],
        [{ ...dev, action: 'publish', topic: todev(sn), retain: 'false' }, 'deny'],
        [{ ...dev, action: 'subscribe', topic: todev(sn) }, 'allow'],
        [{ ...dev, action: 'subscribe', topic: `${root}/+/todev` }, 'deny'],
        [{ ...dev, action: 'subscribe', topic: todev(other) }, 'deny'],
        [{ ...dev, action: 'all', topic: todev(sn) }, 'deny'],
        [{ username: sn, clientid: 'x', action: 'subscribe', topic: todev(sn) }, 'deny'],
        [{ username: other, clientid: other, action: 'subscribe', topic: todev(other) }, 'deny'],
        [{ username: 'admin_client', action: 'subscribe', topic: `${root}/+/fromdev` }, 'allow'],
        [
          { username: 'admin_client', action: 'subscribe', topic: `$share/g1/${root}/+/fromdev` },
          'allow',
        ],
        [{ username: 'admin_client', action: 'subscribe', topic: '#' }, 'deny'],
        [
          { username: 'admin_client', action: 'publish', topic: todev(other), retain: 'false' },
          'allow',
        ],
        [
          { username: 'admin_client', action: 'publish', topic: fromdev(other), retain: 'false' },
          'deny',
        ],
      ];
      for (const [body, result] of cases) {
        const res = await authz(body);
        expect({ body, status: res.status, result: res.body.result }).toEqual({
          body,
          status: 200,
          result,
        });
      }
      const noSecret = await authz({ ...dev, action: 'subscribe', topic: todev(sn) }, null);
      expect([noSecret.status, noSecret.body]).toEqual([200, { result: 'deny' }]);

      // Released: its rights end, even if EMQX still holds its connection.
      await t.api().post(`/api/v1/concentrators/${sn}/release`);
      expect((await authz({ ...dev, action: 'subscribe', topic: todev(sn) })).body.result).toBe(
        'deny',
      );
    }, 30_000);
  });
});

describe('open enrollment on the embedded broker', () => {
  let t: TestApp;
  let broker: EmbeddedBrokerHandle;
  let simulator: Started['simulator'];
  let stop: Started['stop'];

  beforeAll(async () => {
    ({ t, broker, simulator, stop } = await start({ OPEN_ENROLLMENT: 'true' }));
  }, 30_000);
  afterAll(() => stop?.(), 30_000);

  it('lets an unknown serial in without a password so it shows up as pending', async () => {
    const sn = newSerial();
    const d = simulator(sn);
    await d.start();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.state === 'pending',
    );
    // Adoption gives it a password (once); its open connection stays, the next one needs it.
    const adopt = await t.api().post(`/api/v1/concentrators/${sn}/adopt`).send({ name: 'found' });
    expect(adopt.status).toBe(200);
    expect(adopt.body.mqttPassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(d.connected).toBe(true);
    await d.stop();
    expect(await connackCode(broker.url, deviceOpts(sn))).toBe(BAD_CREDENTIALS);
    expect(await connackCode(broker.url, deviceOpts(sn, adopt.body.mqttPassword))).toBe(0);
  }, 30_000);

  it('still requires the password of a device that has one, and drops a deleted one', async () => {
    const res = await t.api().post('/api/v1/concentrators').send({ sn: newSerial(), name: 'm' });
    expect(await connackCode(broker.url, deviceOpts(res.body.sn, 'guess'))).toBe(BAD_CREDENTIALS);

    const sn = newSerial();
    const d = simulator(sn);
    await d.start();
    await waitFor(async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).status === 200);
    const dropped = new Promise<void>((resolve) => d.once('disconnected', () => resolve()));
    expect((await t.api().delete(`/api/v1/concentrators/${sn}`)).status).toBe(204);
    await within(dropped, 10_000, 'the device to be dropped');
  }, 30_000);

  it('keeps the EMQX hooks off (deny) while BROKER_HOOK_SECRET is unset', async () => {
    const sn = newSerial();
    const res = await t
      .http()
      .post('/broker/emqx/authn')
      .set('X-Broker-Hook-Secret', '')
      .send({ username: sn, password: '', clientid: sn });
    expect([res.status, res.body]).toEqual([200, { result: 'deny', is_superuser: false }]);
  }, 30_000);
});
