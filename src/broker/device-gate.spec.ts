import { Logger } from '@nestjs/common';
import type Aedes from 'aedes';
import type { AuthenticateError, Client } from 'aedes';
import { loadConfig } from '../config/app-config';
import type { ConcentratorsService } from '../concentrators/concentrators.service';
import type { ConcentratorState } from '../concentrators/entities/concentrator.entity';
import type { CredentialsService, PasswordCheck } from '../credentials/credentials.service';
import { EmbeddedBrokerAuth } from '../embedded/broker-auth';
import { ConcentratorLifecycle, LifecycleChange } from '../lifecycle/concentrator-lifecycle';
import type { SecurityMetrics } from '../metrics/security-metrics.service';
import { DeviceGate } from './device-gate';

const SN = '202005010001';
const OTHER = '202005010002';
const ROOT = 'smart/devs';
const GOOD = 'good-password';

type Handler = (client: Client) => void;

/** The parts of aedes the gate's broker auth plugs into; CONNECT is driven by hand. */
function fakeAedes() {
  const on = new Map<string, Handler>();
  const broker = {
    on: (event: string, fn: Handler) => on.set(event, fn),
  } as unknown as Aedes & {
    preConnect: (c: Client, p: object, cb: (e: Error | null, ok: boolean) => void) => void;
    authenticate: (
      c: Client,
      u: string | undefined,
      p: Buffer | undefined,
      cb: (e: AuthenticateError | null, ok: boolean | null) => void,
    ) => void;
  };
  /** A device's CONNECT: null when admitted (and then ready), else the refusal reason. */
  async function connect(sn: string, password = GOOD) {
    const client = { id: sn, close: jest.fn() } as unknown as Client & { close: jest.Mock };
    broker.preConnect(client, {}, () => undefined);
    const refusal = await new Promise<string | null>((resolve) =>
      broker.authenticate(client, sn, Buffer.from(password), (err) =>
        resolve(err ? err.message : null),
      ),
    );
    if (refusal === null) on.get('clientReady')!(client);
    return { client, refusal };
  }
  return { broker, connect };
}

function setup(opts: { openEnrollment?: boolean } = {}) {
  const states = new Map<string, ConcentratorState>([[SN, 'managed']]);
  const passwords = new Map<string, string>([[SN, GOOD]]);
  const concentrators = { stateOf: jest.fn(async (sn: string) => states.get(sn) ?? null) };
  const credentials = {
    check: jest.fn(async (sn: string, pw: Buffer | undefined): Promise<PasswordCheck> => {
      const stored = passwords.get(sn);
      if (stored === undefined) return 'no_credentials';
      return pw?.toString() === stored ? 'ok' : 'bad_password';
    }),
  };
  const metrics = { brokerAuthFailure: jest.fn() };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    MQTT_TOPIC_ROOT: ROOT,
    OPEN_ENROLLMENT: opts.openEnrollment ? 'true' : 'false',
  });
  const lifecycle = new ConcentratorLifecycle();
  const auth = new EmbeddedBrokerAuth({
    topicRoot: ROOT,
    backend: { username: 'backend', password: 'backend-secret' },
  });
  const aedes = fakeAedes();
  auth.attach(aedes.broker);
  const gate = new DeviceGate(
    concentrators as unknown as ConcentratorsService,
    credentials as unknown as CredentialsService,
    lifecycle,
    config,
    auth,
    metrics as unknown as SecurityMetrics,
  );
  gate.onModuleInit();
  const publish = (sn: string, change: LifecycleChange) =>
    lifecycle.publish({ sn, change, actor: 'root' });
  return { gate, auth, states, passwords, concentrators, metrics, publish, ...aedes };
}

describe('DeviceGate', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  describe('who may connect', () => {
    it('a managed serial with its password', async () => {
      const t = setup();
      await expect(t.gate.checkDevice(SN, Buffer.from(GOOD))).resolves.toEqual({ ok: true });
      await expect(t.gate.checkDevice(SN, Buffer.from('nope'))).resolves.toEqual({
        ok: false,
        reason: 'bad_password',
      });
      await expect(t.gate.checkDevice(SN, undefined)).resolves.toEqual({
        ok: false,
        reason: 'bad_password',
      });
    });

    it('closed enrollment: unknown, password-less and pending serials stay out', async () => {
      const t = setup();
      await expect(t.gate.checkDevice(OTHER, undefined)).resolves.toEqual({
        ok: false,
        reason: 'unknown_serial',
      });
      t.states.set(OTHER, 'managed');
      await expect(t.gate.checkDevice(OTHER, undefined)).resolves.toEqual({
        ok: false,
        reason: 'no_credentials',
      });
      t.states.set(OTHER, 'pending');
      t.passwords.set(OTHER, GOOD);
      await expect(t.gate.checkDevice(OTHER, Buffer.from(GOOD))).resolves.toEqual({
        ok: false,
        reason: 'pending',
      });
      await expect(t.gate.mayAct(OTHER)).resolves.toBe(false);
      await expect(t.gate.mayAct(SN)).resolves.toBe(true);
    });

    it('open enrollment lets unknown and password-less serials in, never a wrong password', async () => {
      const t = setup({ openEnrollment: true });
      await expect(t.gate.checkDevice(OTHER, undefined)).resolves.toEqual({ ok: true });
      t.states.set(OTHER, 'pending');
      await expect(t.gate.checkDevice(OTHER, undefined)).resolves.toEqual({ ok: true });
      t.passwords.set(OTHER, GOOD);
      await expect(t.gate.checkDevice(OTHER, Buffer.from('nope'))).resolves.toEqual({
        ok: false,
        reason: 'bad_password',
      });
      await expect(t.gate.checkDevice(OTHER, Buffer.from(GOOD))).resolves.toEqual({ ok: true });
      await expect(t.gate.mayAct('202005019999')).resolves.toBe(true);
    });
  });

  describe('the embedded broker follows the lifecycle', () => {
    it.each<LifecycleChange>(['deleted', 'released', 'credentials_changed'])(
      '%s drops the live connection of that serial only',
      async (change) => {
        const t = setup();
        t.states.set(OTHER, 'managed');
        t.passwords.set(OTHER, GOOD);
        const a = await t.connect(SN);
        const b = await t.connect(OTHER);
        expect([a.refusal, b.refusal]).toEqual([null, null]);
        expect(t.auth.isConnected(SN)).toBe(true);

        await t.publish(SN, change);
        expect(a.client.close).toHaveBeenCalledTimes(1);
        expect(t.auth.isConnected(SN)).toBe(false);
        expect(b.client.close).not.toHaveBeenCalled();
        expect(t.auth.isConnected(OTHER)).toBe(true);
      },
    );

    it.each<LifecycleChange>(['discovered', 'registered', 'adopted'])(
      '%s leaves the connection alone',
      async (change) => {
        const t = setup();
        const a = await t.connect(SN);
        await t.publish(SN, change);
        expect(a.client.close).not.toHaveBeenCalled();
        expect(t.auth.isConnected(SN)).toBe(true);
      },
    );

    it('a CONNECT being checked when the serial is deleted is refused', async () => {
      const t = setup();
      let release!: () => void;
      t.concentrators.stateOf.mockImplementationOnce(async () => {
        await new Promise<void>((r) => (release = r));
        return 'managed';
      });
      const pending = t.connect(SN);
      await new Promise<void>((r) => setImmediate(r));
      await t.publish(SN, 'deleted');
      release();
      await expect(pending).resolves.toMatchObject({ refusal: 'revoked' });
      expect(t.auth.isConnected(SN)).toBe(false);
      expect(t.metrics.brokerAuthFailure).toHaveBeenCalledWith('revoked');
    });

    it('a deleted serial registered again connects afresh with its new password', async () => {
      const t = setup();
      const old = await t.connect(SN);
      await t.publish(SN, 'deleted');
      t.states.delete(SN);
      t.passwords.delete(SN);
      await expect(t.connect(SN)).resolves.toMatchObject({ refusal: 'unknown_serial' });

      t.states.set(SN, 'managed');
      t.passwords.set(SN, 'new-password');
      await t.publish(SN, 'registered');
      await expect(t.connect(SN)).resolves.toMatchObject({ refusal: 'bad_password' });
      const fresh = await t.connect(SN, 'new-password');
      expect(fresh.refusal).toBeNull();
      expect(t.auth.isConnected(SN)).toBe(true);
      expect(fresh.client.close).not.toHaveBeenCalled();
      expect(old.client.close).toHaveBeenCalledTimes(1);
    });

    it('after onModuleDestroy it neither follows the lifecycle nor admits devices', async () => {
      const t = setup();
      const a = await t.connect(SN);
      t.gate.onModuleDestroy();
      await t.publish(SN, 'deleted');
      expect(a.client.close).not.toHaveBeenCalled();
      await expect(t.connect(SN)).resolves.toMatchObject({ refusal: 'not_ready' });
    });
  });
});
