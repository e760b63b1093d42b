import { Logger, NotFoundException } from '@nestjs/common';
import type { AuditInput, AuditService } from '../audit/audit.service';
import { loadConfig } from '../config/app-config';
import type { SqlRunner } from '../database/sql-runner';
import type { Actor } from '../identity/roles';
import { ConcentratorLifecycle, LifecycleEvent } from '../lifecycle/concentrator-lifecycle';
import { CredentialsService } from './credentials.service';
import { parseHash } from './password-hash';

const SN = '202005010001';
const UNREGISTERED = '202005019999';
const ADMIN: Actor = { name: 'root', role: 'admin' };
// The floor: hashing stays well under a millisecond.
const ITERATIONS = 101;

/**
 * `device_credentials` as its statements see it: the foreign key to the
 * registry, ON CONFLICT replacing or keeping the row.
 */
function fakeSql(registered: Set<string>) {
  const table = new Map<string, { hash: string; issuedBy: string | null; issuedAt: Date }>();
  const rows = jest.fn(async (sql: string, params: unknown[] = []): Promise<unknown[]> => {
    if (sql.startsWith('SELECT password_hash FROM device_credentials WHERE sn')) {
      const r = table.get(params[0] as string);
      return r ? [{ password_hash: r.hash }] : [];
    }
    if (sql.startsWith('SELECT sn, password_hash AS hash')) {
      return [...table.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([sn, r]) => ({ sn, hash: r.hash }));
    }
    if (sql.startsWith('INSERT INTO device_credentials')) {
      const [sn, hash, issuedBy] = params as [string, string, string | null];
      if (!registered.has(sn)) {
        throw Object.assign(new Error('violates foreign key constraint'), { code: '23503' });
      }
      if (table.has(sn) && /DO NOTHING/.test(sql)) return [];
      const issuedAt = new Date();
      table.set(sn, { hash, issuedBy, issuedAt });
      return [{ issued_at: issuedAt }];
    }
    throw new Error(`unexpected SQL: ${sql}`);
  });
  return { table, rows };
}

function setup() {
  const registered = new Set([SN]);
  const sql = fakeSql(registered);
  const audits: AuditInput[] = [];
  const audit = { record: jest.fn(async (e: AuditInput) => void audits.push(e)) };
  const lifecycle = new ConcentratorLifecycle();
  const events: LifecycleEvent[] = [];
  lifecycle.subscribe((e) => void events.push(e));
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    DEVICE_PASSWORD_ITERATIONS: String(ITERATIONS),
  });
  const svc = new CredentialsService(
    sql as unknown as SqlRunner,
    audit as unknown as AuditService,
    lifecycle,
    config,
  );
  return { svc, sql, audits, lifecycle, events, registered };
}

const pw = (s: string) => Buffer.from(s);

describe('CredentialsService', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it('issues a first password, stored only as a $7$ hash that checks', async () => {
    const t = setup();
    const issued = await t.svc.issueForNew(SN, ADMIN);
    expect(issued.sn).toBe(SN);
    expect(issued.mqttPassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const stored = t.sql.table.get(SN)!;
    expect(stored.hash).not.toContain(issued.mqttPassword);
    expect(parseHash(stored.hash)?.iterations).toBe(ITERATIONS);
    expect(stored.issuedBy).toBe('root');
    expect(issued.issuedAt).toBe(stored.issuedAt);

    await expect(t.svc.check(SN, pw(issued.mqttPassword))).resolves.toBe('ok');
    await expect(t.svc.check(SN, pw('wrong'))).resolves.toBe('bad_password');
    await expect(t.svc.check(SN, undefined)).resolves.toBe('bad_password');
    await expect(t.svc.check(UNREGISTERED, pw(issued.mqttPassword))).resolves.toBe(
      'no_credentials',
    );
    expect(t.audits).toEqual([
      {
        actor: ADMIN,
        action: 'credentials.issue',
        target: SN,
        outcome: 'ok',
        statusCode: undefined,
        detail: { reason: 'create' },
      },
    ]);
    // Issuing is not a change brokers must react to.
    expect(t.events).toEqual([]);
  });

  it('gives each issue its own password and salt', async () => {
    const t = setup();
    t.registered.add('202005010002');
    const a = await t.svc.issueForNew(SN, null);
    const b = await t.svc.issueForNew('202005010002', null);
    expect(a.mqttPassword).not.toBe(b.mqttPassword);
    expect(parseHash(t.sql.table.get(SN)!.hash)!.salt).not.toEqual(
      parseHash(t.sql.table.get('202005010002')!.hash)!.salt,
    );
    expect(t.sql.table.get(SN)!.issuedBy).toBeNull();
  });

  it('issuing for an unregistered serial is a 404', async () => {
    const t = setup();
    await expect(t.svc.issueForNew(UNREGISTERED, ADMIN)).rejects.toBeInstanceOf(NotFoundException);
    expect(t.sql.table.size).toBe(0);
  });

  it('rotate: the old password stops working at once, brokers hear credentials_changed', async () => {
    const t = setup();
    const first = await t.svc.issueForNew(SN, ADMIN);
    // What a subscriber (the broker gate) sees when it hears the change.
    let duringEvent: string | undefined;
    t.lifecycle.subscribe(async (e) => {
      if (e.change === 'credentials_changed') {
        duringEvent = await t.svc.check(SN, pw(first.mqttPassword));
      }
    });
    const second = await t.svc.rotate(SN, ADMIN);
    expect(second.mqttPassword).not.toBe(first.mqttPassword);
    await expect(t.svc.check(SN, pw(first.mqttPassword))).resolves.toBe('bad_password');
    await expect(t.svc.check(SN, pw(second.mqttPassword))).resolves.toBe('ok');
    expect(duringEvent).toBe('bad_password');
    expect(t.events).toEqual([
      { sn: SN, change: 'credentials_changed', actor: 'root', at: expect.any(Date) },
    ]);
    expect(t.audits.at(-1)).toEqual({
      actor: ADMIN,
      action: 'credentials.rotate',
      target: SN,
      outcome: 'ok',
      statusCode: undefined,
      detail: { reason: 'rotate' },
    });
  });

  it('rotate still hands out the new password when a subscriber fails, and says so in the audit', async () => {
    const t = setup();
    const first = await t.svc.issueForNew(SN, ADMIN);
    t.lifecycle.subscribe(() => {
      throw new Error('broker gate down');
    });
    const second = await t.svc.rotate(SN, ADMIN);
    await expect(t.svc.check(SN, pw(second.mqttPassword))).resolves.toBe('ok');
    await expect(t.svc.check(SN, pw(first.mqttPassword))).resolves.toBe('bad_password');
    expect(t.audits.at(-1)).toMatchObject({
      action: 'credentials.rotate',
      outcome: 'ok',
      detail: { reason: 'rotate', subscriberError: 'broker gate down' },
    });
  });

  it('rotate also gives a password to a registered serial that had none', async () => {
    const t = setup();
    const issued = await t.svc.rotate(SN, null);
    await expect(t.svc.check(SN, pw(issued.mqttPassword))).resolves.toBe('ok');
    expect(t.events).toEqual([
      expect.objectContaining({ sn: SN, change: 'credentials_changed', actor: null }),
    ]);
  });

  it('rotating an unregistered serial is a refused 404: audited, nothing announced', async () => {
    const t = setup();
    await expect(t.svc.rotate(UNREGISTERED, ADMIN)).rejects.toBeInstanceOf(NotFoundException);
    expect(t.events).toEqual([]);
    expect(t.audits).toEqual([
      {
        actor: ADMIN,
        action: 'credentials.rotate',
        target: UNREGISTERED,
        outcome: 'refused',
        statusCode: 404,
        detail: { reason: 'rotate', error: `concentrator ${UNREGISTERED} not found` },
      },
    ]);
  });

  it('a database failure while rotating is a failed 500 in the audit and is rethrown', async () => {
    const t = setup();
    const boom = new Error('disk full');
    t.sql.rows.mockRejectedValueOnce(boom);
    await expect(t.svc.rotate(SN, ADMIN)).rejects.toBe(boom);
    expect(t.events).toEqual([]);
    expect(t.audits).toEqual([
      expect.objectContaining({
        action: 'credentials.rotate',
        outcome: 'failed',
        statusCode: 500,
        detail: { reason: 'rotate', error: 'internal error' },
      }),
    ]);
  });

  it('on adoption, issues only when the device has no password yet', async () => {
    const t = setup();
    const issued = await t.svc.issueIfMissing(SN, ADMIN);
    expect(issued).not.toBeNull();
    expect(t.audits.map((a) => [a.action, a.detail])).toEqual([
      ['credentials.issue', { reason: 'adopt' }],
    ]);
    // Released and adopted again: it keeps the password it has.
    await expect(t.svc.issueIfMissing(SN, ADMIN)).resolves.toBeNull();
    await expect(t.svc.check(SN, pw(issued!.mqttPassword))).resolves.toBe('ok');
    expect(t.audits).toHaveLength(1);
    // Unregistered: nothing to issue.
    await expect(t.svc.issueIfMissing(UNREGISTERED, ADMIN)).resolves.toBeNull();
    expect(t.events).toEqual([]);
  });

  it('lists every stored hash by serial for the password file', async () => {
    const t = setup();
    t.registered.add('202005010000');
    await t.svc.issueForNew(SN, null);
    await t.svc.issueForNew('202005010000', null);
    const hashes = await t.svc.hashes();
    expect(hashes.map((h) => h.sn)).toEqual(['202005010000', SN]);
    expect(hashes[1].hash).toBe(t.sql.table.get(SN)!.hash);
  });
});
