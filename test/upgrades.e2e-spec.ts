import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { IN_FLIGHT_STATES } from '../src/upgrades/entities/upgrade-target.entity';
import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { MqttProbe } from './support/mqtt-probe';
import { SseReader } from './support/sse-reader';
import { ADMIN_TOKEN, bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

type SimOptions = Partial<ConstructorParameters<typeof SimulatedConcentrator>[0]>;
type Body = Record<string, unknown>;
type Target = {
  sn: string;
  state: string;
  progress: number | null;
  reason: string | null;
  attempts: number;
  commandId: string | null;
  reportedVersion: string | null;
  fromVersion: string | null;
  lastMessage: Body | null;
  sentAt: string | null;
  ackedAt: string | null;
  finishedAt: string | null;
};

const MAX_BYTES = 64 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const image = (n: number) => randomBytes(n);

describe('firmware and upgrades (real broker, real PostgreSQL, simulator downloads over HTTP)', () => {
  let t: TestApp;
  let baseUrl: string;
  let probe: MqttProbe;
  const dataDir = mkdtempSync(join(tmpdir(), 'bcb-upgrades-'));
  const devices: SimulatedConcentrator[] = [];
  const readers: SseReader[] = [];

  const register = async (sn: string, site?: string) =>
    expect(
      (
        await t
          .api()
          .post('/api/v1/concentrators')
          .send({ sn, name: `dev ${sn}`, site })
      ).status,
    ).toBe(201);
  const device = (opts: SimOptions = {}) => {
    const d = new SimulatedConcentrator({
      brokerUrl: t.mqttUrl,
      sn: opts.sn ?? newSerial(),
      topicRoot: t.root,
      intervalMs: 0,
      lines: 2,
      rebootDelayMs: 50,
      ...opts,
    });
    devices.push(d);
    return d;
  };
  /** Registered, connected, its version known to the backend. */
  const online = async (opts: SimOptions = {}) => {
    const d = device(opts);
    await register(d.sn);
    await d.start();
    await waitFor(
      async () => {
        const c = (await t.api().get(`/api/v1/concentrators/${d.sn}`)).body;
        return c.online === true && c.fw === d.fw;
      },
      10_000,
      'online with fw',
    );
    return d;
  };
  const upload = (bytes: Buffer, version: string, model?: string, filename = 'fw.bin') => {
    const r = t.api().post('/api/v1/firmware').field('version', version);
    if (model) r.field('model', model);
    return r.attach('file', bytes, filename);
  };
  /** A multipart upload over a plain socket, so the early 413 can be seen before the body is sent. */
  const rawUpload = (size: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const boundary = 'x' + randomBytes(8).toString('hex');
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="version"\r\n\r\n9.9.7\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const req = httpRequest(
        `${baseUrl}/api/v1/firmware`,
        {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${ADMIN_TOKEN}`,
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': head.length + size + tail.length,
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      // The server answers and closes without reading: writes may fail, the answer still counts.
      req.on('error', (err) => reject(err));
      req.write(head);
    });
  /** An external image nobody downloads (targets offline, or the test stops before). */
  const ext = (over: Body = {}) => ({
    url: 'https://fw.example.com/x.bin',
    sha256: 'a'.repeat(64),
    size: 5,
    version: '9.0.0',
    ...over,
  });
  const start = (body: Body) => t.api().post('/api/v1/upgrades').send(body);
  const campaign = async (id: string) =>
    (await t.api().get(`/api/v1/upgrades/${id}`).expect(200)).body;
  const targetOf = async (id: string, sn: string): Promise<Target> =>
    ((await campaign(id)).targets as Target[]).find((x) => x.sn === sn)!;
  const waitTarget = async (id: string, sn: string, states: string[], timeoutMs = 15_000) => {
    let last: Target | undefined;
    await waitFor(
      async () => {
        last = await targetOf(id, sn);
        return states.includes(last.state);
      },
      timeoutMs,
      `target ${sn} in ${states.join('|')}`,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last: ${JSON.stringify(last)}`);
    });
    return last!;
  };
  const audit = async (action: string) =>
    (await t.api().get(`/api/v1/audit?action=${action}&limit=100`).expect(200)).body
      .items as Body[];
  const todev = (sn: string) =>
    probe.messages
      .filter((m) => m.topic === `${t.root}/${sn}/todev`)
      .map((m) => JSON.parse(m.payload.toString()) as Body);

  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        DATA_DIR: dataDir,
        FIRMWARE_MAX_BYTES: String(MAX_BYTES),
        // Short for the retry test, yet no ack on a loaded machine is late for the others.
        COMMAND_TIMEOUT_S: '2',
        UPGRADE_RATE_PER_MIN: '1000',
        UPGRADE_HTTP_ALLOW_HOSTS: 'fw.lan, 127.0.0.1',
      },
    });
    const addr = t.app.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${addr.port}`;
    probe = await MqttProbe.connect(t.mqttUrl);
    await probe.subscribe(`${t.root}/+/todev`);
  }, 30_000);
  afterAll(async () => {
    readers.forEach((r) => r.close());
    for (const d of devices) await d.stop().catch(() => undefined);
    await probe?.close();
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  describe('firmware store', () => {
    const bytes = image(20_000);
    // Stored by whichever test needs it first, so each of them also runs alone (-t).
    let stored: Promise<Body> | undefined;
    const storeFirst = () =>
      (stored ??= upload(bytes, '2.0.0', 'RJ-C8', 'rj-c8-2.0.0.bin')
        .expect(201)
        .then((r) => r.body as Body));

    it('stores an upload content-addressed, with sha256 and size computed, and lists it', async () => {
      const first = await storeFirst();
      expect(first).toMatchObject({
        version: '2.0.0',
        model: 'RJ-C8',
        sha256: sha(bytes),
        size: bytes.length,
        filename: 'rj-c8-2.0.0.bin',
        uploadedBy: 'bootstrap-admin',
        path: `/firmware/${sha(bytes)}`,
        url: null,
      });
      expect(readdirSync(join(dataDir, 'firmware'))).toContain(sha(bytes));
      expect(readdirSync(join(dataDir, 'firmware', '.incoming'))).toEqual([]);

      const list = await t.api().get('/api/v1/firmware?limit=10').expect(200);
      expect(list.body.total).toBeGreaterThanOrEqual(1);
      expect(list.body.items[0]).toMatchObject({ id: first.id, sha256: sha(bytes) });
      await t
        .api()
        .get(`/api/v1/firmware/${first.id as string}`)
        .expect(200);

      const rows = await audit('firmware.upload');
      expect(rows.find((a) => a.target === first.id)).toMatchObject({
        outcome: 'ok',
        statusCode: 201,
      });
    }, 30_000);

    it('the same bytes and labels again → 200 with the first record; relabelling → 409', async () => {
      const first = await storeFirst();
      const again = await upload(bytes, '2.0.0', 'RJ-C8').expect(200);
      expect(again.body.id).toBe(first.id);
      const relabel = await upload(bytes, '2.0.1', 'RJ-C8').expect(409);
      expect(relabel.body.message).toMatch(/already stored as version 2.0.0/);
      const otherBytes = await upload(image(100), '2.0.0', 'RJ-C8').expect(409);
      expect(otherBytes.body.message).toMatch(/already stored with another image/);
      // Same bytes for another model: a new record sharing the blob.
      const otherModel = await upload(bytes, '2.0.0', 'RJ-C16').expect(201);
      expect(otherModel.body.sha256).toBe(sha(bytes));
      expect(readdirSync(join(dataDir, 'firmware')).filter((f) => f === sha(bytes))).toHaveLength(
        1,
      );
      expect(readdirSync(join(dataDir, 'firmware', '.incoming'))).toEqual([]);
    }, 30_000);

    it('refuses bad forms: no file, bad version, unknown field', async () => {
      await t.api().post('/api/v1/firmware').field('version', '1.0').expect(400);
      const bad = await upload(image(10), '../1.0').expect(400);
      expect(JSON.stringify(bad.body.message)).toMatch(/version must be/);
      await t
        .api()
        .post('/api/v1/firmware')
        .field('version', '1.0')
        .field('evil', 'x')
        .attach('file', image(10), 'a.bin')
        .expect(400);
      await t
        .api()
        .post('/api/v1/firmware')
        .attach('file', image(10), 'a.bin')
        .field('version', '1.0')
        .attach('other', image(10), 'b.bin')
        .expect(400);
      expect(readdirSync(join(dataDir, 'firmware', '.incoming'))).toEqual([]);
    }, 30_000);

    it('needs an admin token', async () => {
      await t
        .http()
        .post('/api/v1/firmware')
        .field('version', '1.0')
        .attach('file', image(10), 'a.bin')
        .expect(401);
      await t.http().get('/api/v1/firmware').expect(401);
    }, 30_000);

    it('refuses an image over FIRMWARE_MAX_BYTES with 413, keeps nothing, audits the refusal', async () => {
      const r = await upload(image(MAX_BYTES + 1), '9.9.9').expect(413);
      expect(r.body).toMatchObject({
        statusCode: 413,
        message: expect.stringMatching(/FIRMWARE_MAX_BYTES/),
      });
      await upload(image(MAX_BYTES), '9.9.8').expect(201);
      expect(readdirSync(join(dataDir, 'firmware', '.incoming'))).toEqual([]);
      // A declared body far beyond the cap is refused before it is read.
      const huge = await rawUpload(MAX_BYTES * 4);
      expect(huge.status).toBe(413);
      expect(huge.body).toMatch(/FIRMWARE_MAX_BYTES/);
      const refusals = (await audit('firmware.upload')).filter((a) => a.statusCode === 413);
      expect(refusals).toHaveLength(2);
      for (const a of refusals)
        expect(a).toMatchObject({ outcome: 'refused', actor: 'bootstrap-admin' });
      expect(refusals.map((a) => (a.detail as Body).version)).toContain('9.9.9');
    }, 30_000);

    it('serves images to devices without a token: length, type, strong ETag, ranges, 304', async () => {
      await storeFirst();
      const path = `/firmware/${sha(bytes)}`;
      const full = await t.http().get(path).responseType('blob').expect(200);
      expect(Buffer.compare(full.body as Buffer, bytes)).toBe(0);
      expect(full.headers['content-type']).toBe('application/octet-stream');
      expect(full.headers['content-length']).toBe(String(bytes.length));
      expect(full.headers['etag']).toBe(`"${sha(bytes)}"`);
      expect(full.headers['accept-ranges']).toBe('bytes');

      const part = await t
        .http()
        .get(path)
        .set('Range', 'bytes=100-199')
        .responseType('blob')
        .expect(206);
      expect(part.headers['content-range']).toBe(`bytes 100-199/${bytes.length}`);
      expect(part.headers['content-length']).toBe('100');
      expect(Buffer.compare(part.body as Buffer, bytes.subarray(100, 200))).toBe(0);

      const tail = await t
        .http()
        .get(path)
        .set('Range', `bytes=${bytes.length - 10}-`)
        .responseType('blob')
        .expect(206);
      expect(Buffer.compare(tail.body as Buffer, bytes.subarray(bytes.length - 10))).toBe(0);

      const beyond = await t
        .http()
        .get(path)
        .set('Range', `bytes=${bytes.length + 5}-`)
        .expect(416);
      expect(beyond.headers['content-range']).toBe(`bytes */${bytes.length}`);

      await t
        .http()
        .get(path)
        .set('If-None-Match', `"${sha(bytes)}"`)
        .expect(304);
      await t.http().head(path).expect(200).expect('Content-Length', String(bytes.length));
    }, 30_000);

    it('400 for anything but a lowercase sha256, 404 for an unknown one', async () => {
      await t
        .http()
        .get(`/firmware/${sha(bytes).toUpperCase()}`)
        .expect(400);
      await t
        .http()
        .get(`/firmware/${sha(bytes).slice(1)}`)
        .expect(400);
      await t.http().get('/firmware/..%2F..%2Fetc%2Fpasswd').expect(400);
      await t
        .http()
        .get(`/firmware/${'0'.repeat(64)}`)
        .expect(404);
    }, 30_000);
  });

  describe('campaigns', () => {
    // Devices download from this test app, as PUBLIC_BASE_URL would say (the port is known only now).
    beforeEach(() => {
      t.config.http.publicBaseUrl = baseUrl;
    }, 30_000);

    it('refuses a firmwareId campaign while PUBLIC_BASE_URL is unset (devices cannot reach localhost)', async () => {
      t.config.http.publicBaseUrl = undefined;
      const d = await online();
      const fw = await upload(image(1000), '1.9.0').expect(201);
      const r = await start({ firmwareId: fw.body.id, targets: [d.sn] }).expect(400);
      expect(r.body.message).toMatch(/PUBLIC_BASE_URL/);
      t.config.http.publicBaseUrl = baseUrl;
      expect((await t.api().get(`/api/v1/firmware/${fw.body.id as string}`)).body.url).toBe(
        `${baseUrl}/firmware/${fw.body.sha256 as string}`,
      );
    }, 30_000);

    it('uploaded image → upgrade command → simulator downloads it → progress → done with the new version', async () => {
      const bytes = image(30_000);
      const fw = (await upload(bytes, '1.5.0').expect(201)).body;
      const d = await online({ fw: '1.4.2' });

      const sse = await SseReader.open(
        t.app,
        `/api/v1/stream?sn=${d.sn}&kinds=upgrade`,
        ADMIN_TOKEN,
      );
      readers.push(sse);
      expect(sse.status).toBe(200);
      const created = await start({ firmwareId: fw.id, targets: [d.sn] }).expect(201);
      expect(created.body).toMatchObject({
        firmwareId: fw.id,
        url: `${baseUrl}/firmware/${sha(bytes)}`,
        sha256: sha(bytes),
        size: bytes.length,
        version: '1.5.0',
        state: 'running',
        createdBy: 'bootstrap-admin',
      });
      expect(created.body.targets).toEqual([
        expect.objectContaining({ sn: d.sn, fromVersion: '1.4.2' }),
      ]);
      const id = created.body.id as string;

      const done = await waitTarget(id, d.sn, ['done', 'failed']);
      expect(done).toMatchObject({
        state: 'done',
        progress: 100,
        reportedVersion: '1.5.0',
        attempts: 1,
      });
      expect(d.fw).toBe('1.5.0');
      expect(done.sentAt).toBeTruthy();
      expect(done.ackedAt).toBeTruthy();
      expect(done.finishedAt).toBeTruthy();

      // Exactly the protocol's upgrade message went out, tracked as a command.
      const cmd = todev(d.sn).find((m) => m.type === 'upgrade')!;
      expect(cmd).toEqual({
        sn: d.sn,
        type: 'upgrade',
        id: done.commandId,
        ts: expect.any(Number),
        url: `${baseUrl}/firmware/${sha(bytes)}`,
        version: '1.5.0',
        sha256: sha(bytes),
        size: bytes.length,
      });
      const tracked = await t
        .api()
        .get(`/api/v1/commands/${done.commandId as string}`)
        .expect(200);
      expect(tracked.body).toMatchObject({
        type: 'upgrade',
        sn: d.sn,
        state: 'acked',
        actor: 'bootstrap-admin',
      });

      // Every stage reached the live stream (SSE), in order.
      await sse.next(
        (e) => (e.data as { upgrade: Body }).upgrade.state === 'done',
        10_000,
        'done event',
      );
      sse.close();
      const states = sse.of('upgrade').map((e) => (e.data as { upgrade: Body }).upgrade.state);
      // `acked` may be overtaken by the first progress report (the device acks, then reports at once).
      for (const s of ['sent', 'downloading', 'verifying', 'installing', 'done'])
        expect(states).toContain(s);
      expect(states.indexOf('downloading')).toBeLessThan(states.indexOf('installing'));

      await waitFor(
        async () => (await campaign(id)).state === 'finished',
        10_000,
        'campaign finished',
      );
      const c = await campaign(id);
      expect(c.totals).toMatchObject({ done: 1, total: 1, queued: 0, failed: 0 });
      expect(c.finishedAt).toBeTruthy();
      // The backend's registry follows the reboot too.
      expect((await t.api().get(`/api/v1/concentrators/${d.sn}`)).body.fw).toBe('1.5.0');

      const list = await t.api().get('/api/v1/upgrades?limit=5').expect(200);
      expect(list.body.items.find((x: Body) => x.id === id)).toMatchObject({
        totals: expect.objectContaining({ done: 1 }),
      });
      const rows = await audit('upgrade.create');
      expect(rows.find((a) => a.target === id)).toMatchObject({ outcome: 'ok', statusCode: 201 });
    }, 45_000);

    it('waits for an offline target and upgrades it when it connects', async () => {
      const bytes = image(5000);
      const fw = (await upload(bytes, '3.1.0').expect(201)).body;
      const d = device({ fw: '3.0.0' });
      await register(d.sn);
      const id = (await start({ firmwareId: fw.id, targets: [d.sn], deadlineH: 1 }).expect(201))
        .body.id as string;
      await new Promise((r) => setTimeout(r, 1200));
      expect(await targetOf(id, d.sn)).toMatchObject({
        state: 'queued',
        attempts: 0,
        fromVersion: null,
      });
      await d.start();
      expect(await waitTarget(id, d.sn, ['done', 'failed'])).toMatchObject({
        state: 'done',
        reportedVersion: '3.1.0',
      });
    }, 45_000);

    it('external URL: device reports a sha256 mismatch → failed with its message', async () => {
      const bytes = image(4000);
      const fw = (await upload(bytes, '4.0.0').expect(201)).body;
      const d = await online({ fw: '3.9.0' });
      const id = (
        await start({
          url: `${baseUrl}/firmware/${fw.sha256 as string}`,
          sha256: 'AB'.repeat(32),
          size: bytes.length,
          version: '4.0.0',
          targets: [d.sn],
        }).expect(201)
      ).body;
      expect(id.sha256).toBe('ab'.repeat(32));
      const failed = await waitTarget(id.id as string, d.sn, ['failed', 'done']);
      expect(failed).toMatchObject({ state: 'failed', reason: 'device: sha256 mismatch' });
      expect(failed.lastMessage).toMatchObject({ state: 'failed', msg: 'sha256 mismatch' });
      expect(d.fw).toBe('3.9.0');
    }, 30_000);

    it.each([
      [
        'http to a host not on the allow-list',
        { url: 'http://fw.example.com/a.bin' },
        /UPGRADE_HTTP_ALLOW_HOSTS/,
      ],
      ['file:', { url: 'file:///etc/passwd' }, /scheme/],
      ['data:', { url: 'data:application/octet-stream;base64,AAAA' }, /scheme/],
      ['javascript:', { url: 'javascript:alert(1)' }, /scheme/],
      ['userinfo', { url: 'https://good.example.com@evil.example.com/a.bin' }, /user info/],
      ['whitespace', { url: 'https://fw.example.com/a b.bin' }, /whitespace/],
      ['not a URL', { url: 'fw.example.com/a.bin' }, /scheme/],
      ['over-long', { url: `https://fw.example.com/${'a'.repeat(2100)}` }, /longer/],
      ['bad sha256', { sha256: 'xyz' }, /sha256/],
      ['sha256 too short', { sha256: 'a'.repeat(63) }, /sha256/],
      ['size 0', { size: 0 }, /size/],
      ['fractional size', { size: 1.5 }, /size/],
      ['bad version', { version: '1.0 beta' }, /version/],
      ['firmwareId and url', { firmwareId: '00000000-0000-4000-8000-000000000000' }, /either/],
    ])(
      'refuses %s with 400 and audits it',
      async (_name, patch, message) => {
        const sn = newSerial();
        await register(sn);
        const r = await start(ext({ targets: [sn], ...patch })).expect(400);
        expect(JSON.stringify(r.body.message)).toMatch(message);
        const row = (await audit('upgrade.create')).find(
          (a) =>
            (a.detail as Body).targets &&
            a.statusCode === 400 &&
            (a.detail as Body).error === r.body.message,
        );
        expect(row).toMatchObject({ outcome: 'refused', actor: 'bootstrap-admin' });
      },
      30_000,
    );

    it('accepts plain http for an allowed host, and needs exactly one source', async () => {
      const sn = newSerial();
      await register(sn);
      const ok = await start(ext({ url: 'http://FW.lan:8080/rj/1.bin', targets: [sn] })).expect(
        201,
      );
      expect(ok.body.url).toBe('http://fw.lan:8080/rj/1.bin');
      await start({ version: '9.1.0', targets: [sn] }).expect(400);
      const partial = await start({
        url: 'https://fw.example.com/x',
        version: '9.1.0',
        targets: [sn],
      }).expect(400);
      expect(partial.body.message).toMatch(/needs sha256, size/);
    }, 30_000);

    it('lists unknown and pending serials with 400', async () => {
      const managed = newSerial();
      await register(managed);
      const pending = device();
      await pending.start(); // discovered, not adopted
      await waitFor(
        async () => (await t.api().get(`/api/v1/concentrators/${pending.sn}`)).status === 200,
        10_000,
      );
      const unknown = newSerial();
      const r = await start(ext({ targets: [managed, pending.sn, unknown] })).expect(400);
      expect(r.body).toMatchObject({ unknown: [unknown], pending: [pending.sn] });
      await start(ext({ targets: ['123'] })).expect(400);
      await start(ext({ targets: { site: 'nowhere' } })).expect(400);
    }, 30_000);

    it('refuses a downgrade per target, 409 when no target is eligible, and installs it with allowDowngrade', async () => {
      const bytes = image(3000);
      const old = (await upload(bytes, '0.9.0').expect(201)).body;
      const newer = await online({ fw: '1.4.2' });
      const same = await online({ fw: '0.9' });

      const none = await start({ firmwareId: old.id, targets: [newer.sn, same.sn] }).expect(409);
      expect(none.body.targets).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ sn: newer.sn, reason: 'downgrade', fw: '1.4.2' }),
          expect.objectContaining({ sn: same.sn, reason: 'already_current' }),
        ]),
      );
      const refused = (await audit('upgrade.create')).find((a) => a.statusCode === 409);
      expect(refused).toMatchObject({ outcome: 'refused' });
      expect(JSON.stringify(refused!.detail)).toMatch(/downgrade/);
      expect(todev(newer.sn).filter((m) => m.type === 'upgrade')).toEqual([]);

      // One eligible target is enough; the other is reported as skipped.
      const older = await online({ fw: '0.8.1' });
      const mixed = await start({ firmwareId: old.id, targets: [newer.sn, older.sn] }).expect(201);
      const skipped = (mixed.body.targets as Target[]).find((x) => x.sn === newer.sn)!;
      expect(skipped).toMatchObject({
        state: 'skipped',
        reason: expect.stringMatching(/downgrade refused: device runs 1.4.2/),
      });
      expect(mixed.body.totals).toMatchObject({ skipped: 1, total: 2 });
      // Queued, or already sent: the runner's tick may fall between the commit and the answer.
      const eligible = (mixed.body.targets as Target[]).find((x) => x.sn === older.sn)!;
      expect(['queued', ...IN_FLIGHT_STATES, 'done']).toContain(eligible.state);
      expect(await waitTarget(mixed.body.id as string, older.sn, ['done', 'failed'])).toMatchObject(
        { state: 'done' },
      );
      expect((await targetOf(mixed.body.id as string, newer.sn)).state).toBe('skipped');

      const forced = await start({
        firmwareId: old.id,
        targets: [newer.sn],
        allowDowngrade: true,
      }).expect(201);
      expect(
        await waitTarget(forced.body.id as string, newer.sn, ['done', 'failed']),
      ).toMatchObject({
        state: 'done',
        fromVersion: '1.4.2',
        reportedVersion: '0.9.0',
      });
      expect(newer.fw).toBe('0.9.0');
    }, 60_000);

    it('upgrades a whole site and skips a device already in a running campaign', async () => {
      const site = `site-${randomBytes(3).toString('hex')}`;
      const a = device({ fw: '1.0.0' });
      const b = device({ fw: '1.0.0' });
      await register(a.sn, site);
      await register(b.sn, site);
      const first = await start(ext({ targets: [a.sn] })).expect(201);
      const r = await start(ext({ targets: { site } })).expect(201);
      expect(r.body.site).toBe(site);
      const ts = r.body.targets as Target[];
      expect(ts.map((x) => x.sn).sort()).toEqual([a.sn, b.sn].sort());
      expect(ts.find((x) => x.sn === a.sn)).toMatchObject({
        state: 'skipped',
        reason: expect.stringMatching(/another running/),
      });
      expect(ts.find((x) => x.sn === b.sn)).toMatchObject({ state: 'queued' });
      expect(first.body.targets[0].state).toBe('queued');
    }, 30_000);

    it('retries a command the device never acks, then fails the target', async () => {
      const d = await online({ fw: '1.0.0', ackRate: 0 });
      const id = (await start(ext({ targets: [d.sn] })).expect(201)).body.id as string;
      // Three attempts: each waits COMMAND_TIMEOUT_S for the ack, then the next runner pass.
      const failed = await waitTarget(id, d.sn, ['failed'], 25_000);
      expect(failed).toMatchObject({ attempts: 3, reason: 'no ack after 3 attempts' });
      const sent = todev(d.sn).filter((m) => m.type === 'upgrade');
      expect(sent).toHaveLength(3);
      expect(new Set(sent.map((m) => m.id)).size).toBe(3);
      const last = await t
        .api()
        .get(`/api/v1/commands/${failed.commandId as string}`)
        .expect(200);
      expect(last.body.state).toBe('timeout');
    }, 45_000);

    it('expires targets still open at the deadline and finishes the campaign', async () => {
      const sn = newSerial();
      await register(sn);
      const id = (await start(ext({ targets: [sn], deadlineH: 0.5 })).expect(201)).body
        .id as string;
      const c = await campaign(id);
      expect(new Date(c.deadlineAt as string).getTime() - Date.parse(c.createdAt as string)).toBe(
        1800_000,
      );
      // Time travel: the deadline is now.
      await t.query(`UPDATE upgrade_campaigns SET deadline_at = now() WHERE id = $1`, [id]);
      const expired = await waitTarget(id, sn, ['expired'], 10_000);
      expect(expired.reason).toMatch(/deadline passed while queued/);
      await waitFor(async () => (await campaign(id)).state === 'finished', 10_000, 'finished');
    }, 30_000);

    it('sends at most UPGRADE_RATE_PER_MIN devices per minute', async () => {
      // Earlier sends fall out of the one-minute window while this test runs; move them out now.
      await t.query(
        `UPDATE upgrade_targets SET sent_at = sent_at - interval '1 hour' WHERE sent_at IS NOT NULL`,
      );
      const saved = t.config.firmware.ratePerMin;
      t.config.firmware.ratePerMin = 1;
      try {
        const bytes = image(2000);
        const fw = (await upload(bytes, '7.0.0').expect(201)).body;
        const a = await online({ fw: '6.0.0' });
        const b = await online({ fw: '6.0.0' });
        const id = (await start({ firmwareId: fw.id, targets: [a.sn, b.sn] }).expect(201)).body
          .id as string;
        await waitFor(async () => (await campaign(id)).totals.done === 1, 20_000, 'one done');
        await new Promise((r) => setTimeout(r, 1500));
        expect((await campaign(id)).totals).toMatchObject({ done: 1, queued: 1 });
        t.config.firmware.ratePerMin = 1000;
        await waitFor(async () => (await campaign(id)).totals.done === 2, 20_000, 'both done');
      } finally {
        t.config.firmware.ratePerMin = saved;
      }
    }, 60_000);

    it('ignores progress reports for ids it did not send, or sent to another serial', async () => {
      const other = await online({ fw: '1.0.0' });
      const victim = await online({ fw: '1.0.0', ackRate: 0 });
      const id = (await start(ext({ version: '1.0.1', targets: [victim.sn] })).expect(201)).body
        .id as string;
      const sent = await waitTarget(id, victim.sn, ['sent']);
      await other.publish({ type: 'upgrade', id: sent.commandId, state: 'done', version: '1.0.1' });
      await other.publish({ type: 'upgrade', id: 'u-forged', state: 'done', version: '1.0.1' });
      await other.publish({
        type: 'config_request',
        fw: '1.0.1',
        model: 'RJ-C8',
        lines: 2,
        io: 'eth',
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(await targetOf(id, victim.sn)).toMatchObject({
        reportedVersion: null,
        lastMessage: null,
      });
      expect((await targetOf(id, victim.sn)).state).not.toBe('done');
    }, 30_000);

    it('deletes an image record and its bytes, but not while a running campaign installs it', async () => {
      const bytes = image(800);
      const fw = (await upload(bytes, '5.5.5').expect(201)).body;
      const sn = newSerial();
      await register(sn);
      await start({ firmwareId: fw.id, targets: [sn] }).expect(201);
      const busy = await t
        .api()
        .delete(`/api/v1/firmware/${fw.id as string}`)
        .expect(409);
      expect(busy.body.message).toMatch(/still installing/);

      const spare = (await upload(image(900), '5.5.6').expect(201)).body;
      await t
        .api()
        .delete(`/api/v1/firmware/${spare.id as string}`)
        .expect(204);
      await t
        .api()
        .get(`/api/v1/firmware/${spare.id as string}`)
        .expect(404);
      await t
        .http()
        .get(`/firmware/${spare.sha256 as string}`)
        .expect(404);
      expect(readdirSync(join(dataDir, 'firmware'))).not.toContain(spare.sha256);
      expect((await audit('firmware.delete')).map((a) => a.outcome).sort()).toEqual([
        'ok',
        'refused',
      ]);
    }, 30_000);

    it('documents the routes in OpenAPI', async () => {
      const doc = (await t.http().get('/docs-json').expect(200)).body as {
        paths: Record<string, Body>;
      };
      for (const p of [
        '/api/v1/firmware',
        '/api/v1/firmware/{id}',
        '/firmware/{sha256}',
        '/api/v1/upgrades',
        '/api/v1/upgrades/{id}',
      ]) {
        expect(doc.paths[p]).toBeDefined();
      }
      expect(JSON.stringify(doc.paths['/api/v1/firmware'].post)).toMatch(/multipart\/form-data/);
    }, 30_000);

    it('404 for an unknown campaign, 400 for a malformed id, admin only', async () => {
      await t.api().get('/api/v1/upgrades/00000000-0000-4000-8000-000000000000').expect(404);
      await t.api().get('/api/v1/upgrades/nope').expect(400);
      await request(t.app.getHttpServer()).get('/api/v1/upgrades').expect(401);
    }, 30_000);
  });
});
