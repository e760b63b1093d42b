import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

/** Parses Prometheus text into `name{labels}` → value (labels as printed). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of a metric whose labels include all of `labels`. */
function sum(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [k, v] of m) {
    const brace = k.indexOf('{');
    if ((brace < 0 ? k : k.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([l, val]) => k.includes(`${l}="${val}"`))) total += v;
  }
  return total;
}

describe('/metrics and certificate expiry in /health', () => {
  let t: TestApp;
  let dir: string;
  let certFile: string;
  const devices: SimulatedConcentrator[] = [];
  const scrape = async () => {
    const res = await t.http().get('/metrics');
    expect(res.status).toBe(200);
    return parse(res.text);
  };

  beforeAll(async () => {
    // A throwaway certificate that expires in 10 days: under the 30-day warning threshold.
    dir = mkdtempSync(join(tmpdir(), 'bcb-metrics-'));
    certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '10',
        '-subj',
        '/CN=metrics-test',
      ],
      { stdio: 'ignore' },
    );
    t = await bootTestApp({
      env: {
        // Configured but unused (the tests use an external broker): reported all the same.
        EMBEDDED_MQTT_TLS_CERT_FILE: certFile,
        EMBEDDED_MQTT_TLS_KEY_FILE: keyFile,
        CERT_WARN_DAYS: '30',
      },
    });
  }, 30_000);
  afterAll(async () => {
    for (const d of devices) await d.stop().catch(() => undefined);
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const device = async (sn: string, password?: string) => {
    const d = new SimulatedConcentrator({
      brokerUrl: t.mqttUrl,
      sn,
      topicRoot: t.root,
      intervalMs: 0,
      lines: 2,
      ackRate: 1,
      ...(password ? { username: sn, password } : {}),
    });
    devices.push(d);
    await d.start();
    return d;
  };

  it('answers without a token in Prometheus text format, with process metrics', async () => {
    const res = await t.http().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.text).toMatch(/^# HELP bcb_mqtt_messages_received_total /m);
    expect(res.text).toMatch(/^# TYPE bcb_telemetry_flush_duration_seconds histogram$/m);
    expect(res.text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  }, 30_000);

  it('counts messages, rejections by reason, stored rows and batches; devices and commands', async () => {
    const managed = newSerial();
    const created = await t.api().post('/api/v1/concentrators').send({ sn: managed, name: 'm' });
    expect(created.status).toBe(201);
    const d = await device(managed, created.body.mqttPassword as string | undefined);
    const now = Math.floor(Date.now() / 1000);
    // Distinct timestamps: a second sample at the same instant would be a duplicate row.
    await d.publishTelemetry(undefined, { ts: now - 20 });
    await d.publishTelemetry(undefined, { ts: now - 10 });
    await d.publish({ type: 'telemetry', lines: 'not a list' });
    await d.publish({ type: 'no_such_type' });
    // An unknown serial becomes pending (discovery by its status message).
    const pendingSn = newSerial();
    const p = await device(pendingSn);
    await p.publishStatus();
    await waitFor(
      async () => (await t.query('SELECT 1 FROM telemetry WHERE sn = $1', [managed])).length === 4,
      10_000,
      'rows',
    );
    await waitFor(
      async () =>
        (await t.query(`SELECT 1 FROM concentrators WHERE sn = $1`, [pendingSn])).length === 1,
      10_000,
      'pending',
    );

    const sw = await t
      .api()
      .post(`/api/v1/concentrators/${managed}/switch`)
      .send({ lines: [1], on: false });
    expect(sw.status).toBe(202);
    await waitFor(
      async () => {
        const r = await t.query<{ state: string }>('SELECT state FROM commands WHERE id = $1', [
          sw.body.id,
        ]);
        return r[0]?.state === 'acked';
      },
      10_000,
      'command acked',
    );
    // The device reports the switched line right after its ack: wait for that message too, so
    // no message arrives between the /health and /metrics reads below.
    await waitFor(
      async () => {
        await t.flush();
        const latest = await t.api().get(`/api/v1/concentrators/${managed}/latest`);
        return latest.body.lines?.find((l: { line: number }) => l.line === 1)?.on === false;
      },
      10_000,
      'status after the switch',
    );

    const health = (await t.http().get('/health')).body as {
      ingest: {
        received: number;
        stored: number;
        batches: number;
        rejected: Record<string, number>;
      };
    };
    const m = await scrape();
    expect(sum(m, 'bcb_mqtt_messages_received_total')).toBe(health.ingest.received);
    expect(health.ingest.received).toBeGreaterThanOrEqual(5);
    expect(sum(m, 'bcb_telemetry_rows_stored_total')).toBe(health.ingest.stored);
    expect(health.ingest.stored).toBeGreaterThanOrEqual(4);
    const reasons = Object.entries(health.ingest.rejected);
    expect(reasons.reduce((a, [, n]) => a + n, 0)).toBeGreaterThanOrEqual(2);
    for (const [reason, n] of reasons)
      expect(sum(m, 'bcb_mqtt_messages_rejected_total', { reason })).toBe(n);
    expect(sum(m, 'bcb_telemetry_batches_total')).toBe(health.ingest.batches);
    expect(sum(m, 'bcb_telemetry_messages_stored_total')).toBe(2);
    expect(sum(m, 'bcb_telemetry_batch_rows_count')).toBe(health.ingest.batches);
    expect(sum(m, 'bcb_telemetry_batch_rows_sum')).toBeGreaterThanOrEqual(4);
    expect(sum(m, 'bcb_telemetry_flush_duration_seconds_count')).toBe(health.ingest.batches);
    expect(m.get('bcb_ingest_buffered_rows')).toBe(0);
    expect(m.get('bcb_telemetry_rows_dropped_total')).toBe(0);

    expect(m.get('bcb_concentrators{state="managed"}')).toBe(1);
    expect(m.get('bcb_concentrators{state="pending"}')).toBe(1);
    expect(m.get('bcb_concentrators_online{state="managed"}')).toBe(1);

    const db = await t.query<{ type: string; state: string; n: number }>(
      'SELECT type, state, count(*)::int AS n FROM commands GROUP BY 1, 2',
    );
    expect(db).toContainEqual({ type: 'switch', state: 'acked', n: 1 });
    // Counted at most once a second: an earlier scrape may still be cached.
    const commandsMatch = (mm: Map<string, number>) =>
      db.every((r) => mm.get(`bcb_commands{type="${r.type}",state="${r.state}"}`) === r.n);
    await waitFor(async () => commandsMatch(await scrape()), 10_000, 'commands gauge');
  }, 45_000);

  it('counts API and broker authentication failures', async () => {
    const before = await scrape();
    expect((await t.http().get('/api/v1/concentrators')).status).toBe(401);
    expect(
      (
        await t
          .http()
          .get('/api/v1/concentrators')
          .set('Authorization', 'Bearer wrong-token-0123456789')
      ).status,
    ).toBe(401);
    // No hook secret configured here: the EMQX hook denies, and that is a broker auth failure.
    const hook = await t
      .http()
      .post('/broker/emqx/authn')
      .send({ username: '202001010001', password: 'x' });
    expect(hook.status).toBe(200);
    expect(hook.body).toMatchObject({ result: 'deny' });
    const after = await scrape();
    const diff = (name: string, labels?: Record<string, string>) =>
      sum(after, name, labels) - sum(before, name, labels);
    expect(diff('bcb_api_auth_failures_total', { reason: 'missing' })).toBe(1);
    expect(diff('bcb_api_auth_failures_total', { reason: 'invalid' })).toBe(1);
    expect(diff('bcb_broker_auth_failures_total')).toBe(1);
  }, 30_000);

  it('reports certificate expiry days, and /health warns under CERT_WARN_DAYS but stays 200', async () => {
    const m = await scrape();
    const days = m.get(
      `bcb_tls_cert_expiry_days{variable="EMBEDDED_MQTT_TLS_CERT_FILE",file="${certFile}"}`,
    );
    expect(days).toBe(9); // 10 days minus the seconds since it was made, floored
    expect(
      m.get(`bcb_tls_cert_unreadable{variable="EMBEDDED_MQTT_TLS_CERT_FILE",file="${certFile}"}`),
    ).toBe(0);
    const res = await t.http().get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('warning');
    expect(res.body.tls).toEqual([
      expect.objectContaining({
        variable: 'EMBEDDED_MQTT_TLS_CERT_FILE',
        file: certFile,
        daysLeft: 9,
      }),
    ]);
    expect(res.body.warnings).toEqual([
      expect.stringContaining('EMBEDDED_MQTT_TLS_CERT_FILE: certificate expires in 9 days'),
    ]);
  }, 30_000);
});
