import {
  BadRequestException,
  ConflictException,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { AuditService } from '../audit/audit.service';
import { loadConfig } from '../config/app-config';
import type { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import type { Actor } from '../identity/roles';
import { Command } from './command.entity';
import type { LockedCommands } from './command-store';
import {
  CommandsService,
  DispatchOptions,
  IdempotentReplay,
  SendCommandInput,
} from './commands.service';
import { CooldownException, SwitchService } from './switch.service';

const SN = '202005010001';
const NOW = new Date('2025-06-01T12:00:00Z').getTime();
const COOLDOWN_S = 10;
const ALICE: Actor = { name: 'alice', role: 'operator' };

function device(sn: string, over: Partial<CachedConcentrator> = {}): CachedConcentrator {
  return {
    sn,
    state: 'managed',
    lineCount: 4,
    reportS: null,
    online: true,
    clockSkew: false,
    lastSeenMs: 0,
    fw: null,
    ...over,
  };
}

/**
 * CommandsService as the switch path sees it: `dispatch` runs the guard
 * against a fake locked view (the newest switch per serial), like the store does
 * under its lock, and stores a row carrying the key and hash.
 */
function setup(opts: { cooldownS?: number; bulkMax?: number } = {}) {
  const devices = new Map<string, CachedConcentrator>([[SN, device(SN)]]);
  const lastSwitch = new Map<string, Date>();
  const locked = new Map<string, LockedCommands & { lastSwitchSince: jest.Mock }>();
  const offline = new Set<string>();
  let n = 0;
  const commands = {
    findByIdempotencyKey: jest.fn(
      async (_actor: Actor | null, _key: string): Promise<Command | null> => null,
    ),
    target: jest.fn(async (sn: string) => {
      const d = devices.get(sn);
      if (!d) throw new NotFoundException(`concentrator ${sn} not found`);
      return d;
    }),
    dispatch: jest.fn(async (input: SendCommandInput, o: DispatchOptions = {}) => {
      if (offline.has(input.sn)) throw new ConflictException('device_offline');
      const view = {
        lastSwitchSince: jest.fn(async (since: Date, _lines: number[] | null) => {
          const last = lastSwitch.get(input.sn);
          return last && last > since ? last : null;
        }),
      };
      locked.set(input.sn, view);
      await o.guard?.(view);
      return Object.assign(new Command(), {
        id: `c-${++n}`,
        sn: input.sn,
        type: 'switch',
        lines: o.lines ?? null,
        payload: { ...input.message },
        state: 'sent',
        actor: input.actor?.name ?? 'system',
        actorRole: input.actor?.role ?? null,
        createdAt: new Date(),
        settledAt: null,
        lateAckAt: null,
        idempotencyKey: o.idempotency?.key ?? null,
        requestHash: o.idempotency?.hash ?? null,
      });
    }),
  };
  const audit = { record: jest.fn(async () => undefined) };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    SWITCH_COOLDOWN_S: String(opts.cooldownS ?? COOLDOWN_S),
    BULK_SWITCH_MAX: String(opts.bulkMax ?? 500),
  });
  const svc = new SwitchService(
    commands as unknown as CommandsService,
    audit as unknown as AuditService,
    config,
  );
  return { svc, commands, audit, devices, lastSwitch, locked, offline };
}

describe('SwitchService.switch', () => {
  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  it('dispatches the message as given, with the lines sorted for the cooldown', async () => {
    const t = setup();
    const out = await t.svc.switch(SN, { lines: [3, 1], on: true }, ALICE, '10.1.1.1');
    expect(out.replayed).toBe(false);
    const [input, o] = t.commands.dispatch.mock.calls[0];
    expect(input).toEqual({
      sn: SN,
      message: { type: 'switch', lines: [3, 1], on: true },
      actor: ALICE,
      ip: '10.1.1.1',
    });
    expect(o?.lines).toEqual([1, 3]);
    expect(o?.idempotency).toBeUndefined();
    expect(t.commands.findByIdempotencyKey).not.toHaveBeenCalled();
    expect(t.locked.get(SN)!.lastSwitchSince).toHaveBeenCalledWith(
      new Date(NOW - COOLDOWN_S * 1000),
      [1, 3],
    );
  });

  it('"all" becomes every line when the count is known, null when it is not', async () => {
    const t = setup();
    await t.svc.switch(SN, { lines: 'all', on: false }, ALICE);
    expect(t.commands.dispatch.mock.calls[0][1]?.lines).toEqual([1, 2, 3, 4]);
    t.devices.get(SN)!.lineCount = null;
    await t.svc.switch(SN, { lines: 'all', on: false }, ALICE);
    expect(t.commands.dispatch.mock.calls[1][1]?.lines).toBeNull();
    // Without a known count, any line is let through to the device.
    await t.svc.switch(SN, { lines: [64], on: false }, ALICE);
    expect(t.commands.dispatch.mock.calls[2][1]?.lines).toEqual([64]);
  });

  it('refuses a line beyond the line count with 400, dispatching nothing', async () => {
    const t = setup();
    const err = await t.svc.switch(SN, { lines: [2, 5, 6], on: true }, ALICE).catch((e) => e);
    expect(err).toBeInstanceOf(BadRequestException);
    expect((err as Error).message).toBe("line 5,6 is beyond the concentrator's 4 lines");
    expect(t.commands.dispatch).not.toHaveBeenCalled();
  });

  it('a line switched within the cooldown refuses with 429 and the seconds left', async () => {
    const t = setup();
    t.lastSwitch.set(SN, new Date(NOW - 3000));
    const err = await t.svc.switch(SN, { lines: [2], on: true }, ALICE).catch((e) => e);
    expect(err).toBeInstanceOf(CooldownException);
    expect((err as CooldownException).retryAfterS).toBe(7);
    expect((err as CooldownException).getStatus()).toBe(429);
    expect((err as CooldownException).getResponse()).toMatchObject({
      statusCode: 429,
      retryAfterS: 7,
      message: 'line 2 switched less than the cooldown ago',
    });
  });

  it('rounds the wait up and never asks for less than a second', async () => {
    const t = setup();
    t.lastSwitch.set(SN, new Date(NOW - COOLDOWN_S * 1000 + 200));
    const err = (await t.svc
      .switch(SN, { lines: 'all', on: true }, ALICE)
      .catch((e) => e)) as CooldownException;
    expect(err.retryAfterS).toBe(1);
    expect(err.getResponse()).toMatchObject({
      message: 'lines 1,2,3,4 switched less than the cooldown ago',
    });
  });

  it('lets the switch through once the cooldown has passed', async () => {
    const t = setup();
    t.lastSwitch.set(SN, new Date(NOW - COOLDOWN_S * 1000 - 1));
    await expect(t.svc.switch(SN, { lines: [1], on: true }, ALICE)).resolves.toMatchObject({
      replayed: false,
    });
  });

  it('a cooldown of 0 never reads the last switch', async () => {
    const t = setup({ cooldownS: 0 });
    t.lastSwitch.set(SN, new Date(NOW - 10));
    await t.svc.switch(SN, { lines: [1], on: true }, ALICE);
    expect(t.locked.get(SN)!.lastSwitchSince).not.toHaveBeenCalled();
  });

  it('replays the same request under the same Idempotency-Key, audited, nothing published', async () => {
    const t = setup();
    const first = await t.svc.switch(SN, { lines: [1], on: true }, ALICE, '10.0.0.1', 'key-1');
    const [, o] = t.commands.dispatch.mock.calls[0];
    expect(o?.idempotency).toEqual({ key: 'key-1', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(first.command.requestHash).toBe(o?.idempotency?.hash);

    t.commands.findByIdempotencyKey.mockResolvedValue(first.command);
    // The replay is answered even within the cooldown: nothing is switched again.
    t.lastSwitch.set(SN, new Date(NOW));
    const again = await t.svc.switch(SN, { lines: [1], on: true }, ALICE, '10.0.0.2', 'key-1');
    expect(again).toEqual({ command: first.command, replayed: true });
    expect(t.commands.findByIdempotencyKey).toHaveBeenLastCalledWith(ALICE, 'key-1');
    expect(t.commands.dispatch).toHaveBeenCalledTimes(1);
    expect(t.audit.record).toHaveBeenCalledWith({
      actor: ALICE,
      action: 'command.switch',
      target: SN,
      outcome: 'ok',
      statusCode: 202,
      detail: { commandId: first.command.id, idempotentReplay: true },
      ip: '10.0.0.2',
    });
  });

  it('refuses a different request under a used Idempotency-Key with 422', async () => {
    const t = setup();
    const first = await t.svc.switch(SN, { lines: [1], on: true }, ALICE, undefined, 'key-1');
    t.commands.findByIdempotencyKey.mockResolvedValue(first.command);
    for (const dto of [
      { lines: [1], on: false },
      { lines: [1, 2], on: true },
    ]) {
      await expect(t.svc.switch(SN, dto, ALICE, undefined, 'key-1')).rejects.toBeInstanceOf(
        UnprocessableEntityException,
      );
    }
    await expect(
      t.svc.switch('202005010002', { lines: [1], on: true }, ALICE, undefined, 'key-1'),
    ).rejects.toBeInstanceOf(UnprocessableEntityException);
    expect(t.commands.dispatch).toHaveBeenCalledTimes(1);
    expect(t.audit.record).not.toHaveBeenCalled();
  });

  it('a key taken concurrently (IdempotentReplay from the store) is answered as a replay', async () => {
    const t = setup();
    const first = await t.svc.switch(SN, { lines: [1], on: true }, ALICE, undefined, 'key-1');
    t.commands.dispatch.mockRejectedValueOnce(new IdempotentReplay(first.command));
    await expect(
      t.svc.switch(SN, { lines: [1], on: true }, ALICE, undefined, 'key-1'),
    ).resolves.toEqual({ command: first.command, replayed: true });
    t.commands.dispatch.mockRejectedValueOnce(new IdempotentReplay(first.command));
    await expect(
      t.svc.switch(SN, { lines: [1], on: false }, ALICE, undefined, 'key-1'),
    ).rejects.toBeInstanceOf(UnprocessableEntityException);
  });
});

describe('SwitchService.bulk', () => {
  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  it('refuses a serial listed twice with 400 before sending anything', async () => {
    const t = setup();
    const err = await t.svc
      .bulk(
        {
          on: true,
          targets: [
            { sn: SN, lines: [1] },
            { sn: '202005010002', lines: [1] },
            { sn: SN, lines: [2] },
          ],
        },
        ALICE,
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadRequestException);
    expect((err as Error).message).toBe(`targets: ${SN} is listed twice`);
    expect(t.commands.dispatch).not.toHaveBeenCalled();
  });

  it('refuses more than BULK_SWITCH_MAX targets with 400', async () => {
    const t = setup({ bulkMax: 2 });
    const targets = ['202005010001', '202005010002', '202005010003'].map((sn) => ({
      sn,
      lines: 'all' as const,
    }));
    await expect(t.svc.bulk({ on: true, targets }, ALICE)).rejects.toThrow(
      'at most 2 targets per request (BULK_SWITCH_MAX)',
    );
    await expect(
      t.svc.bulk({ on: true, targets: targets.slice(0, 2) }, ALICE),
    ).resolves.toBeTruthy();
  });

  it("answers each target with what a single switch would have, in the request's order", async () => {
    const t = setup();
    const [ok, off, cool, pending, unknown, beyond] = [1, 2, 3, 4, 5, 6].map(
      (i) => `20200501000${i}`,
    );
    for (const sn of [ok, off, cool, beyond]) t.devices.set(sn, device(sn));
    t.offline.add(off);
    t.lastSwitch.set(cool, new Date(NOW - 4000));
    t.devices.set(pending, device(pending, { state: 'pending' }));
    t.commands.target.mockImplementation(async (sn: string) => {
      const d = t.devices.get(sn);
      if (!d) throw new NotFoundException(`concentrator ${sn} not found`);
      if (d.state !== 'managed') throw new ConflictException(`concentrator ${sn} is pending`);
      return d;
    });
    const view = await t.svc.bulk(
      {
        on: false,
        targets: [
          { sn: ok, lines: [1] },
          { sn: off, lines: [1] },
          { sn: cool, lines: 'all' },
          { sn: pending, lines: [1] },
          { sn: unknown, lines: [1] },
          { sn: beyond, lines: [9] },
        ],
      },
      ALICE,
      '10.0.0.3',
    );
    expect(view.sent).toBe(1);
    expect(view.refused).toBe(5);
    expect(view.results.map((r) => [r.sn, r.statusCode])).toEqual([
      [ok, 202],
      [off, 409],
      [cool, 429],
      [pending, 409],
      [unknown, 404],
      [beyond, 400],
    ]);
    expect(view.results[0].command).toMatchObject({ sn: ok, state: 'sent', lines: [1] });
    expect(view.results[1]).toEqual({ sn: off, statusCode: 409, error: 'device_offline' });
    expect(view.results[2]).toMatchObject({ retryAfterS: 6 });
    expect(view.results[4].error).toBe(`concentrator ${unknown} not found`);
    // Every refusal is audited as such; the sent one is audited by dispatch itself.
    expect(t.audit.record).toHaveBeenCalledTimes(5);
    expect(t.audit.record).toHaveBeenCalledWith({
      actor: ALICE,
      action: 'command.switch',
      target: off,
      outcome: 'refused',
      statusCode: 409,
      detail: { bulk: true, error: 'device_offline', lines: [1], on: false },
      ip: '10.0.0.3',
    });
  });

  it('stops after a server-side failure: the failed target 500, the rest 503 not attempted, each audited', async () => {
    const t = setup();
    const sns = Array.from({ length: 20 }, (_, i) => `2020050100${String(i + 10)}`);
    for (const sn of sns) t.devices.set(sn, device(sn));
    t.commands.dispatch.mockImplementationOnce(async () => {
      throw new Error('boom');
    });
    const view = await t.svc.bulk(
      { on: true, targets: sns.map((sn) => ({ sn, lines: [1] })) },
      ALICE,
    );
    const codes = view.results.map((r) => r.statusCode);
    expect(codes[0]).toBe(500);
    expect(view.results[0].error).toBe('internal error');
    // Workers already past their check finish their target; nothing starts afterwards.
    const sent = view.results.filter((r) => r.statusCode === 202).length;
    expect(sent).toBeLessThan(8);
    expect(view.sent).toBe(sent);
    expect(t.commands.dispatch).toHaveBeenCalledTimes(1 + sent);
    for (const r of view.results.filter((x) => x.statusCode === 503)) {
      expect(r.error).toBe(`not attempted: stopped after a server-side failure on ${sns[0]}`);
    }
    expect(sent + codes.filter((c) => c === 503).length).toBe(19);
    expect(t.audit.record).toHaveBeenCalledTimes(20 - sent);
  });
});
