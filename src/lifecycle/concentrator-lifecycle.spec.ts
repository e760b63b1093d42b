import { Logger } from '@nestjs/common';
import { ConcentratorLifecycle, LifecycleEvent } from './concentrator-lifecycle';

const SN = '202005010001';

describe('ConcentratorLifecycle', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it('hands every subscriber the same event, in the order they subscribed', async () => {
    const lc = new ConcentratorLifecycle();
    const seen: [string, LifecycleEvent][] = [];
    lc.subscribe((e) => void seen.push(['a', e]));
    lc.subscribe((e) => void seen.push(['b', e]));
    await lc.publish({ sn: SN, change: 'deleted', actor: 'root', detail: { purge: true } });
    expect(seen.map(([who]) => who)).toEqual(['a', 'b']);
    expect(seen[0][1]).toBe(seen[1][1]);
    expect(seen[0][1]).toEqual({
      sn: SN,
      change: 'deleted',
      actor: 'root',
      detail: { purge: true },
      at: expect.any(Date),
    });
  });

  it('keeps a given time', async () => {
    const lc = new ConcentratorLifecycle();
    const at = new Date('2025-01-01T00:00:00Z');
    let got: Date | undefined;
    lc.subscribe((e) => void (got = e.at));
    await lc.publish({ sn: SN, change: 'adopted', actor: null, at });
    expect(got).toBe(at);
  });

  it('resolves only once every asynchronous subscriber has finished', async () => {
    const lc = new ConcentratorLifecycle();
    const done: string[] = [];
    lc.subscribe(async () => {
      await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => setImmediate(r));
      done.push('slow');
    });
    lc.subscribe(() => void done.push('sync'));
    await lc.publish({ sn: SN, change: 'registered', actor: null });
    expect(done.sort()).toEqual(['slow', 'sync']);
  });

  it('runs every subscriber even when some fail, then rethrows the first failure', async () => {
    const lc = new ConcentratorLifecycle();
    const ran: string[] = [];
    const first = new Error('first');
    const second = new Error('second');
    lc.subscribe(() => void ran.push('ok-1'));
    lc.subscribe(async () => {
      // Fails later in time than the next one, yet is first by subscription.
      await new Promise<void>((r) => setImmediate(r));
      ran.push('fail-1');
      throw first;
    });
    lc.subscribe(() => {
      ran.push('fail-2');
      throw second;
    });
    lc.subscribe(async () => void ran.push('ok-2'));
    await expect(lc.publish({ sn: SN, change: 'released', actor: null })).rejects.toBe(first);
    expect(ran.sort()).toEqual(['fail-1', 'fail-2', 'ok-1', 'ok-2']);
  });

  it('an unsubscribed listener hears nothing more; no subscribers is fine', async () => {
    const lc = new ConcentratorLifecycle();
    await expect(
      lc.publish({ sn: SN, change: 'discovered', actor: null }),
    ).resolves.toBeUndefined();
    const heard: string[] = [];
    const off = lc.subscribe((e) => void heard.push(e.change));
    await lc.publish({ sn: SN, change: 'adopted', actor: null });
    off();
    await lc.publish({ sn: SN, change: 'deleted', actor: null });
    expect(heard).toEqual(['adopted']);
  });
});
