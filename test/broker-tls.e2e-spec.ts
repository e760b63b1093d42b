import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IClientOptions } from 'mqtt';
import { startInfrastructure, Infrastructure } from '../src/bootstrap';
import { aclFile, passwdFile } from '../src/broker/mosquitto-files';
import { TopicAcl } from '../src/protocol/topic-acl';
import { loadConfig } from '../src/config/app-config';
import { generatePassword, hashPasswordSync } from '../src/credentials/password-hash';
import { mqttClientOptions, TlsFileError } from '../src/mqtt/mqtt-client-options';
import { TodevPublisher } from '../src/mqtt/todev-publisher.service';
import { newCommandId } from '../src/protocol/backend-messages';
import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { freePort } from './support/free-port';
import { findMosquitto, MosquittoProcess } from './support/mosquitto';
import { closed, connackCode, subackCodes, tryConnect } from './support/mqtt-connect';
import { MqttProbe } from './support/mqtt-probe';
import {
  ADMIN_TOKEN,
  bootTestApp,
  createTestDatabase,
  newSerial,
  TestApp,
  TestDatabase,
  waitFor,
} from './support/test-app';
import { makeTlsFixture, TlsFixture } from './support/tls-fixtures';

const BAD_CREDENTIALS = 4;
const TLS_REFUSED = /certificate|self[- ]signed|unable to (verify|get)/i;

const rootName = () => `e2e${randomBytes(4).toString('hex')}/devs`;

async function telemetryRows(t: TestApp, sn: string): Promise<number> {
  const rows = await t.query<{ n: string }>('SELECT count(*) n FROM telemetry WHERE sn = $1', [sn]);
  return Number(rows[0].n);
}

/** Waits for the row of a telemetry message sent with this `ts` (unique per test: no dedup). */
async function ingested(t: TestApp, sn: string, ts: number): Promise<void> {
  await waitFor(async () => {
    await t.flush();
    const rows = await t.query('SELECT 1 FROM telemetry WHERE sn = $1 AND ts = to_timestamp($2)', [sn, ts]);
    return rows.length > 0;
  }, 8000, `telemetry of ${sn}`); // prettier-ignore
}

let tsCounter = Math.floor(Date.now() / 1000) - 600;
const uniqueTs = () => ++tsCounter;

async function register(t: TestApp, sn = newSerial()): Promise<{ sn: string; password: string }> {
  const res = await t
    .api()
    .post('/api/v1/concentrators')
    .send({ sn, name: `tls ${sn}` });
  expect(res.status).toBe(201);
  return { sn, password: res.body.mqttPassword as string };
}

describe('embedded broker: TLS listener, generated backend credentials', () => {
  let tls: TlsFixture;
  let db: TestDatabase;
  let infra: Infrastructure;
  let t: TestApp;
  let tlsUrl: string;
  const root = rootName();
  const sims: SimulatedConcentrator[] = [];

  beforeAll(async () => {
    tls = makeTlsFixture();
    db = await createTestDatabase();
    infra = await startInfrastructure(
      loadConfig({
        DATABASE_URL: db.url,
        EMBEDDED_MQTT_HOST: '127.0.0.1',
        EMBEDDED_MQTT_PORT: '0',
        EMBEDDED_MQTT_TLS_PORT: '0',
        EMBEDDED_MQTT_TLS_CERT_FILE: tls.certFile,
        EMBEDDED_MQTT_TLS_KEY_FILE: tls.keyFile,
        MQTT_TOPIC_ROOT: root,
        ADMIN_TOKEN,
      }),
    );
    const m = infra.config.mqtt;
    t = await bootTestApp({
      db,
      root,
      brokerAuth: infra.brokerAuth,
      env: { MQTT_URL: m.url!, MQTT_USERNAME: m.username!, MQTT_PASSWORD: m.password! },
    });
    tlsUrl = `mqtts://localhost:${infra.config.security.embeddedTlsPort}`;
  }, 30_000);
  afterAll(async () => {
    for (const d of sims) await d.stop().catch(() => undefined);
    await t?.close();
    await infra?.stop();
    await db?.drop();
    tls?.cleanup();
  }, 45_000);

  it('runs the backend under a generated admin_client password that no other client knows', async () => {
    const m = infra.config.mqtt;
    expect(m.username).toBe('admin_client');
    expect(m.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await t.http().get('/health')).body.broker.up).toBe(true);
    const guess = { username: 'admin_client', password: 'admin_client', clientId: 'guess' };
    expect(await connackCode(m.url!, guess)).toBe(BAD_CREDENTIALS);
    // Nothing to export for an external broker: the password exists only in this process.
    const passwd = await t.api().get('/api/v1/broker/mosquitto/passwd');
    expect(passwd.text).toMatch(/^# backend user left out: MQTT_PASSWORD/m);
    expect(passwd.text).not.toMatch(/^admin_client:/m);
  }, 30_000);

  it('serves devices over one-way TLS with the same authentication', async () => {
    const { sn, password } = await register(t);
    const ca = readFileSync(tls.caFile);
    const d = new SimulatedConcentrator({
      brokerUrl: tlsUrl,
      sn,
      password,
      topicRoot: root,
      intervalMs: 0,
      lines: 2,
      tls: { ca },
    });
    sims.push(d);
    await d.start();
    const ts = uniqueTs();
    await d.publishTelemetry(undefined, { ts });
    await ingested(t, sn, ts);

    const device = (pw: string, extra: IClientOptions = {}) => ({
      username: sn,
      password: pw,
      clientId: sn,
      ca,
      ...extra,
    });
    expect(await connackCode(tlsUrl, device('wrong'))).toBe(BAD_CREDENTIALS);
    // A device that does not trust this CA never gets as far as a password.
    const other = makeTlsFixture();
    try {
      const r = await tryConnect(tlsUrl, device(password, { ca: readFileSync(other.caFile) }));
      expect(r.ok ? 'connected' : r.error).toMatch(TLS_REFUSED);
    } finally {
      other.cleanup();
    }
  }, 30_000);

  it('fails at start naming the variable when a TLS file is unusable', async () => {
    const bad = join(tls.dir, 'missing.pem');
    const cfg = loadConfig({
      DATABASE_URL: db.url,
      EMBEDDED_MQTT_HOST: '127.0.0.1',
      EMBEDDED_MQTT_PORT: '0',
      EMBEDDED_MQTT_TLS_PORT: '0',
      EMBEDDED_MQTT_TLS_CERT_FILE: bad,
      EMBEDDED_MQTT_TLS_KEY_FILE: tls.keyFile,
    });
    const start = startInfrastructure(cfg);
    await expect(start).rejects.toThrow(TlsFileError);
    await expect(start).rejects.toThrow(
      /^EMBEDDED_MQTT_TLS_CERT_FILE=.*missing\.pem: cannot read file/,
    );
  }, 30_000);
});

const mosquittoBin = findMosquitto();
if (!mosquittoBin) {
  console.warn(
    '\n*** SKIPPED: external mosquitto TLS test: no mosquitto binary (/usr/sbin/mosquitto, or set MOSQUITTO_BIN); CI installs it ***\n',
  );
}

(mosquittoBin ? describe : describe.skip)(
  'external mosquitto 2 over TLS, files from the export endpoints',
  () => {
    let tls: TlsFixture;
    let mosquitto: MosquittoProcess;
    let t: TestApp;
    let url: string;
    let ca: Buffer;
    const root = rootName();
    const admin = { username: 'admin_client', password: generatePassword() };
    const sims: SimulatedConcentrator[] = [];
    let a: { sn: string; password: string };
    let b: { sn: string; password: string };

    const passwdPath = () => join(tls.dir, 'passwd');
    const aclPath = () => join(tls.dir, 'acl');
    const device = (sn: string, password: string): IClientOptions => ({
      username: sn,
      password,
      clientId: sn,
      ca,
      servername: 'broker.test',
    });
    const simulator = (sn: string, password: string) => {
      const d = new SimulatedConcentrator({
        brokerUrl: url,
        sn,
        password,
        topicRoot: root,
        intervalMs: 0,
        lines: 2,
        tls: { ca, servername: 'broker.test' },
      });
      sims.push(d);
      return d;
    };
    /** What docs/broker-integration.md tells operators to do after a registry change. */
    const exportAndReload = async () => {
      const passwd = await t.api().get('/api/v1/broker/mosquitto/passwd');
      const acl = await t.api().get('/api/v1/broker/mosquitto/aclfile');
      expect([passwd.status, acl.status]).toEqual([200, 200]);
      writeFileSync(passwdPath(), passwd.text);
      writeFileSync(aclPath(), acl.text);
      mosquitto.reload();
    };

    beforeAll(async () => {
      tls = makeTlsFixture();
      ca = readFileSync(tls.caFile);
      // The app needs a broker to boot: start mosquitto knowing only the backend's user.
      const acl = new TopicAcl(root);
      writeFileSync(
        passwdPath(),
        passwdFile([{ username: admin.username, hash: hashPasswordSync(admin.password) }], []),
      );
      writeFileSync(aclPath(), aclFile(acl, admin.username, [], []));
      const port = await freePort();
      mosquitto = await MosquittoProcess.start({
        bin: mosquittoBin!,
        dir: tls.dir,
        port,
        certFile: tls.certFile,
        keyFile: tls.keyFile,
        passwordFile: passwdPath(),
        aclFile: aclPath(),
      });
      url = `mqtts://127.0.0.1:${port}`;
      t = await bootTestApp({
        root,
        env: {
          MQTT_URL: url,
          MQTT_CA_FILE: tls.caFile,
          MQTT_SERVERNAME: 'broker.test',
          MQTT_USERNAME: admin.username,
          MQTT_PASSWORD: admin.password,
          // config_request is then answered with the fleet default config: a round trip to wait on.
          PUSH_DEFAULT_CONFIG: 'true',
        },
      });
      a = await register(t);
      b = await register(t);
      await exportAndReload();
      await waitFor(
        async () => (await connackCode(url, device(a.sn, a.password))) === 0,
        10_000,
        'reload',
      );
    }, 30_000);
    afterAll(async () => {
      for (const d of sims) await d.stop().catch(() => undefined);
      await t?.close();
      await mosquitto?.stop();
      tls?.cleanup();
    }, 45_000);

    it('connects the backend with CA verification (and SNI); a foreign CA is refused', async () => {
      const health = await t.http().get('/health');
      expect([health.status, health.body.broker.up]).toEqual([200, true]);
      const other = makeTlsFixture();
      try {
        const opts = mqttClientOptions({ ...t.config.mqtt, caFile: other.caFile }, url);
        const r = await tryConnect(url, opts);
        expect(r.ok ? 'connected' : r.error).toMatch(TLS_REFUSED);
        // No CA file: the system store does not know the test CA either.
        const sys = await tryConnect(
          url,
          mqttClientOptions({ ...t.config.mqtt, caFile: undefined }, url),
        );
        expect(sys.ok ? 'connected' : sys.error).toMatch(TLS_REFUSED);
        // The right CA but a name the certificate does not carry: the host name is checked too.
        const name = mqttClientOptions({ ...t.config.mqtt, servername: 'evil.test' }, url);
        const wrongName = await tryConnect(url, name);
        expect(wrongName.ok ? 'connected' : wrongName.error).toMatch(/altnames|does not match/i);
      } finally {
        other.cleanup();
      }
    }, 30_000);

    it('admits a device with its password and ingests its telemetry; a wrong password is refused', async () => {
      const d = simulator(a.sn, a.password);
      await d.start();
      const ts = uniqueTs();
      await d.publishTelemetry(undefined, { ts });
      await ingested(t, a.sn, ts);
      await d.stop();
      expect(await connackCode(url, device(b.sn, a.password))).toBe(5);
      expect(await connackCode(url, device(b.sn, 'x'))).toBe(5);
      expect(await connackCode(url, device(newSerial(), a.password))).toBe(5);
    }, 30_000);

    it("never lets the backend see a device's publish to another serial's fromdev, or a retained one", async () => {
      const d = simulator(a.sn, a.password);
      await d.start();
      const spoof = { sn: b.sn, type: 'telemetry', ts: uniqueTs(), lines: [{ line: 1 }] };
      await d.publishRaw(spoof, `${root}/${b.sn}/fromdev`);
      // Same connection, after the spoof: once this is stored, the spoof would have been too.
      const ts = uniqueTs();
      await d.publishTelemetry(undefined, { ts });
      await ingested(t, a.sn, ts);
      await d.stop();

      // mosquitto with retain_available false drops a client that tries to retain.
      const r = await tryConnect(url, device(a.sn, a.password));
      if (!r.ok) throw new Error(r.error);
      const retainedTs = 1_600_000_000;
      r.client.publish(
        `${root}/${a.sn}/fromdev`,
        JSON.stringify({ sn: a.sn, type: 'telemetry', ts: retainedTs, lines: [{ line: 1, v: 1 }] }),
        { retain: true },
      );
      await closed(r.client);
      await r.client.endAsync(true);

      await t.flush();
      expect(await telemetryRows(t, b.sn)).toBe(0);
      expect(await t.query('SELECT 1 FROM rejections WHERE sn = $1', [b.sn])).toEqual([]);
      const [row] = await t.query<{ last_seen_at: Date | null }>(
        'SELECT last_seen_at FROM concentrators WHERE sn = $1',
        [b.sn],
      );
      expect(row.last_seen_at).toBeNull();
      const retained = await t.query(
        'SELECT 1 FROM telemetry WHERE sn = $1 AND ts = to_timestamp($2)',
        [a.sn, retainedTs],
      );
      expect(retained).toEqual([]);
    }, 30_000);

    it("gives a device subscribed to <root>/+/todev nothing of other devices'", async () => {
      const probe = await MqttProbe.connect(url, device(a.sn, a.password));
      const codes = await subackCodes(probe.client, [`${root}/+/todev`, `${root}/${a.sn}/todev`]);
      expect(codes[1]).toBe(0);
      const devB = simulator(b.sn, b.password);
      await devB.start();
      await devB.waitFor((m) => m.type === 'config', 10_000);
      const todev = t.app.get(TodevPublisher);
      const ts = Math.floor(Date.now() / 1000);
      await todev.publish({
        sn: b.sn,
        type: 'query',
        id: newCommandId('query'),
        ts,
        what: 'status',
      });
      await todev.publish({
        sn: a.sn,
        type: 'query',
        id: newCommandId('query'),
        ts,
        what: 'status',
      });
      await devB.waitFor((m) => m.type === 'query', 10_000);
      await probe.waitFor((m) => m.topic === `${root}/${a.sn}/todev`, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(probe.messages.filter((m) => m.topic !== `${root}/${a.sn}/todev`)).toEqual([]);
      await probe.close();
      await devB.stop();
    }, 30_000);

    it('after rotation, export and SIGHUP, only the new password works', async () => {
      const res = await t.api().post(`/api/v1/concentrators/${b.sn}/credentials`);
      expect(res.status).toBe(201);
      await exportAndReload();
      await waitFor(
        async () => (await connackCode(url, device(b.sn, res.body.mqttPassword))) === 0,
        10_000,
        'reload',
      );
      expect(await connackCode(url, device(b.sn, b.password))).toBe(5);
    }, 30_000);
  },
);
