import type { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import type { DeviceEventInput, DeviceHistory } from '../concentrators/device-history.service';
import type {
  DeviceMessageContext,
  DeviceMessageHandler,
} from '../ingestion/device-message-context';
import type { IngestionService } from '../ingestion/ingestion.service';
import { ConcentratorLifecycle, LifecycleChange } from '../lifecycle/concentrator-lifecycle';
import type { StatusLine } from '../protocol/device-messages';
import { AlarmsIngestHandlers } from './alarms.ingest-handlers';
import type { AlarmsService } from './alarms.service';

const SN = '202005010001';
const OTHER = '202005010002';

function setup() {
  const handlers = new Map<string, DeviceMessageHandler>();
  const ingestion = {
    on: (type: string, h: DeviceMessageHandler) => handlers.set(type, h),
  } as unknown as IngestionService;
  const added: DeviceEventInput[] = [];
  const events = { add: async (e: DeviceEventInput) => void added.push(e) };
  const alarms = { apply: jest.fn(async () => undefined) };
  const lifecycle = new ConcentratorLifecycle();
  new AlarmsIngestHandlers(
    ingestion,
    alarms as unknown as AlarmsService,
    events as unknown as DeviceHistory,
    lifecycle,
  ).onModuleInit();

  /** The status lines that became history rows. */
  async function status(sn: string, atMs: number, lines: StatusLine[]) {
    const before = added.length;
    await handlers.get('status')!({
      dev: { sn, state: 'managed' } as CachedConcentrator,
      msg: { sn, type: 'status', ts: Math.floor(atMs / 1000), lines },
      topic: `smart/devs/${sn}/fromdev`,
      at: new Date(atMs),
      receivedAt: new Date(atMs),
      reject: jest.fn(),
      drop: jest.fn(),
    } as unknown as DeviceMessageContext);
    return added.slice(before);
  }
  const publish = (sn: string, change: LifecycleChange) =>
    lifecycle.publish({ sn, change, actor: 'root' });
  return { status, publish };
}

describe('AlarmsIngestHandlers: status changes follow the lifecycle', () => {
  it('records a change once, not its repeats', async () => {
    const t = setup();
    const first = await t.status(SN, 1000, [{ line: 1, on: false, cause: 'leakage' }]);
    expect(first).toEqual([
      {
        sn: SN,
        kind: 'status',
        line: 1,
        at: new Date(1000),
        detail: { on: false, cause: 'leakage' },
      },
    ]);
    await expect(t.status(SN, 2000, [{ line: 1, on: false, cause: 'leakage' }])).resolves.toEqual(
      [],
    );
  });

  it('after deleted or registered, the first status of the serial is a change again', async () => {
    for (const change of ['deleted', 'registered'] as const) {
      const t = setup();
      const line: StatusLine = { line: 1, on: true, cause: 'remote_on' };
      await t.status(SN, 1000, [line]);
      await t.status(OTHER, 1000, [line]);
      await t.publish(SN, change);
      await expect(t.status(SN, 2000, [line])).resolves.toHaveLength(1);
      // Another serial's memory is untouched.
      await expect(t.status(OTHER, 2000, [line])).resolves.toEqual([]);
    }
  });

  it('a serial registered again is not judged against the old device: an older time counts', async () => {
    const t = setup();
    await t.status(SN, 90_000, [{ line: 2, on: true, cause: 'manual_on' }]);
    await t.publish(SN, 'deleted');
    await t.publish(SN, 'registered');
    await expect(t.status(SN, 10_000, [{ line: 2, on: false }])).resolves.toHaveLength(1);
    // …and it is now the reference: repeating it is no change.
    await expect(t.status(SN, 11_000, [{ line: 2, on: false }])).resolves.toEqual([]);
  });

  it('adopt, release and a new password keep what is known', async () => {
    const t = setup();
    const line: StatusLine = { line: 1, on: true, cause: 'remote_on' };
    await t.status(SN, 1000, [line]);
    for (const change of ['adopted', 'released', 'credentials_changed'] as const) {
      await t.publish(SN, change);
    }
    await expect(t.status(SN, 2000, [line])).resolves.toEqual([]);
  });
});
