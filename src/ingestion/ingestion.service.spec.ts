import { Logger } from '@nestjs/common';
import { loadConfig } from '../config/app-config';
import type {
  CachedConcentrator,
  ConcentratorRegistry,
} from '../concentrators/concentrator-registry.service';
import type { DeviceHistory } from '../concentrators/device-history.service';
import type { FromdevMqttServer } from '../mqtt/fromdev-server';
import type { RejectionInput, RejectionsService } from './rejections.service';
import { IngestStats } from './ingest-stats';
import { IngestionService } from './ingestion.service';

const ROOT = 'smart/devs';
const SN = '202005010001';
const NEW_SN = '202005010002';

function packet(payload: unknown, sn = SN, topic = `${ROOT}/${sn}/fromdev`) {
  return {
    topic,
    payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    receivedAtMs: Date.now(),
  };
}

const now = () => Math.floor(Date.now() / 1000);

function setup(opts: { discover?: () => Promise<CachedConcentrator> } = {}) {
  const stats = new IngestStats();
  const managed: CachedConcentrator = {
    sn: SN,
    state: 'managed',
    lineCount: 4,
    reportS: null,
    online: true,
    clockSkew: false,
    lastSeenMs: 0,
    fw: null,
  };
  const recorded: RejectionInput[] = [];
  const registry = {
    get: (sn: string) => (sn === SN ? managed : undefined),
    mayDiscover: () => true,
    resolve: opts.discover ?? (async () => managed),
    seen: () => undefined,
    setClockSkew: () => undefined,
    markOffline: () => undefined,
  } as unknown as ConcentratorRegistry;
  const rejections = {
    record: (r: RejectionInput) => recorded.push(r),
  } as unknown as RejectionsService;
  const events = { add: async () => undefined } as unknown as DeviceHistory;
  const ingress = {
    stop: async () => undefined,
    useFlowGate: jest.fn(),
    useConsumer: jest.fn(),
  } as unknown as FromdevMqttServer;
  const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', MQTT_TOPIC_ROOT: ROOT });
  const svc = new IngestionService(stats, registry, rejections, events, config, ingress);
  return { svc, stats, recorded, ingress };
}

describe('IngestionService: one counted outcome per message', () => {
  // The drops are logged on purpose; the test output need not show them.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it('accepts, rejects by reason, and adds up', async () => {
    const { svc, stats, recorded } = setup();
    await svc.ingest(packet({ sn: SN, type: 'offline' }));
    await svc.ingest(packet('not json'));
    await svc.ingest(packet({ sn: '202005019999', type: 'offline' }));
    await svc.ingest(packet({ sn: SN, type: 'offline' }, SN, 'wrong/topic'));
    expect(stats.messageCounts()).toEqual({
      received: 4,
      accepted: 1,
      rejected: { bad_json: 1, serial_mismatch: 1, bad_topic: 1 },
      dropped: {},
      inFlight: 0,
    });
    expect(recorded.map((r) => r.reason)).toEqual(['bad_json', 'serial_mismatch', 'bad_topic']);
  });

  it('is the transport consumer of every fromdev message', () => {
    const { svc, ingress } = setup();
    const ingest = jest.spyOn(svc, 'ingest').mockResolvedValue(undefined);
    const consumer = (ingress.useConsumer as jest.Mock).mock.calls[0][0] as (p: unknown) => unknown;
    const p = packet({ sn: SN, type: 'offline' });
    void consumer(p);
    expect(ingest).toHaveBeenCalledWith(p);
  });

  it('sheds telemetry unparsed while the writer says so, counted as overload; never other types', async () => {
    const { svc, stats, ingress } = setup();
    let shed = true;
    const readGate = () => null;
    svc.useBackpressure({ readGate, shedTelemetry: () => shed });
    expect(ingress.useFlowGate).toHaveBeenCalledWith(readGate);
    const handled: string[] = [];
    svc.on('telemetry', () => void handled.push('telemetry'));
    svc.on('alarm', () => void handled.push('alarm'));
    const telemetry = { sn: SN, type: 'telemetry', ts: now(), lines: [{ line: 1 }] };
    await svc.ingest(packet(telemetry));
    await svc.ingest(packet('{"type":"telemetry", this is not even JSON'));
    await svc.ingest(
      packet({ sn: SN, type: 'alarm', ts: now(), line: 1, code: 'arc', active: true }),
    );
    await svc.ingest(packet({ sn: SN, type: 'offline' }));
    shed = false;
    await svc.ingest(packet(telemetry));
    expect(handled).toEqual(['alarm', 'telemetry']);
    expect(stats.messageCounts()).toEqual({
      received: 5,
      accepted: 3,
      rejected: {},
      dropped: { overload: 2 },
      inFlight: 0,
    });
    expect(stats.unaccounted()).toBe(0);
  });

  it('a new serial whose discovery fails is dropped as database_unavailable, not lost', async () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const { svc, stats } = setup({
      discover: () => Promise.reject(err),
    });
    const msg = {
      sn: NEW_SN,
      type: 'config_request',
      ts: now(),
      fw: '1',
      model: 'm',
      lines: 4,
      io: 'eth',
    };
    await expect(svc.ingest(packet(msg, NEW_SN))).resolves.toBeUndefined();
    expect(stats.messageCounts()).toMatchObject({
      received: 1,
      accepted: 0,
      dropped: { database_unavailable: 1 },
      inFlight: 0,
    });
  });

  it('a handler that throws makes the message handler_failed; the other handlers still run', async () => {
    const { svc, stats } = setup();
    const ran: string[] = [];
    svc.on('alarm', () => {
      throw new Error('boom');
    });
    svc.on('alarm', () => void ran.push('second'));
    await svc.ingest(
      packet({ sn: SN, type: 'alarm', ts: now(), line: 1, code: 'arc', active: true }),
    );
    expect(ran).toEqual(['second']);
    expect(stats.messageCounts().dropped).toEqual({ handler_failed: 1 });
  });

  it('handlers decide rejections and drops; the first decision wins and is recorded once', async () => {
    const { svc, stats, recorded } = setup();
    svc.on('ack', ({ reject }) => reject({ reason: 'unknown_command', field: 'id', detail: 'x' }));
    svc.on('ack', ({ drop }) => drop('handler_failed'));
    svc.on('telemetry', ({ drop }) => drop('buffer_full'));
    await svc.ingest(packet({ sn: SN, type: 'ack', ts: now(), id: 'c-1', ok: true }));
    await svc.ingest(packet({ sn: SN, type: 'telemetry', ts: now(), lines: [{ line: 1 }] }));
    expect(stats.messageCounts()).toMatchObject({
      received: 2,
      accepted: 0,
      rejected: { unknown_command: 1 },
      dropped: { buffer_full: 1 },
    });
    expect(recorded).toEqual([
      expect.objectContaining({
        reason: 'unknown_command',
        sn: SN,
        topic: `${ROOT}/${SN}/fromdev`,
      }),
    ]);
  });

  it('counts in flight while a handler runs, and drops what arrives after shutdown', async () => {
    const { svc, stats } = setup();
    let release!: () => void;
    svc.on('alarm', () => new Promise<void>((r) => (release = r)));
    const p = svc.ingest(
      packet({ sn: SN, type: 'alarm', ts: now(), line: 1, code: 'arc', active: true }),
    );
    await new Promise((r) => setImmediate(r));
    expect(stats.messageCounts()).toMatchObject({ received: 1, inFlight: 1 });
    expect(stats.unaccounted()).toBe(0);
    const stopped = svc.onModuleDestroy();
    release();
    await p;
    await stopped;
    await svc.ingest(packet({ sn: SN, type: 'offline' }));
    expect(stats.messageCounts()).toEqual({
      received: 2,
      accepted: 1,
      rejected: {},
      dropped: { shutdown: 1 },
      inFlight: 0,
    });
  });
});
