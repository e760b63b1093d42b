import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { BROKER_DROPPED_TOPIC } from '../protocol/topics';
import { FromdevMqttServer, PING_GRACE_MS } from './fromdev-server';
import type { FromdevPacket } from './raw-fromdev.deserializer';

type Done = () => void;

/** The server over a fake mqtt.js client: what it subscribes, and its handleMessage hook. */
class TestServer extends FromdevMqttServer {
  readonly fake = Object.assign(new EventEmitter(), {
    subscribe: jest.fn(),
    end: jest.fn((_force: boolean, _opts: unknown, cb: () => void) => cb()),
    connected: true,
    handleMessage: undefined as unknown as (packet: unknown, done: Done) => void,
  });

  override createMqttClient(): MqttClient {
    return this.fake as unknown as MqttClient;
  }
}

async function listening() {
  const server = new TestServer({ url: 'mqtt://127.0.0.1:1' }, 'smart/devs/+/fromdev');
  await server.listen(() => undefined);
  const delivered: string[] = [];
  server.useConsumer((packet) => {
    delivered.push(packet.topic);
    return Promise.resolve();
  });
  const readNext = (): { done: jest.Mock } => {
    const done = jest.fn();
    server.fake.handleMessage({ cmd: 'publish' }, done);
    return { done };
  };
  return { server, delivered, readNext };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('FromdevMqttServer backpressure', () => {
  afterEach(() => jest.useRealTimers());

  it('reads on at once without a flow gate, or while the gate answers null', async () => {
    const { server, readNext } = await listening();
    expect(readNext().done).toHaveBeenCalledTimes(1);
    server.useFlowGate(() => null);
    expect(readNext().done).toHaveBeenCalledTimes(1);
    expect(server.flow()).toMatchObject({ paused: false, pauses: 0, pausedSeconds: 0 });
  });

  it('holds the next read until the gate lets go, and counts the pause', async () => {
    const { server, readNext } = await listening();
    let open!: () => void;
    server.useFlowGate(() => new Promise<void>((r) => (open = r)));
    const { done } = readNext();
    await flush();
    expect(done).not.toHaveBeenCalled();
    expect(server.flow()).toMatchObject({ paused: true, pauses: 1 });
    open();
    await flush();
    expect(done).toHaveBeenCalledTimes(1);
    expect(server.flow().paused).toBe(false);
  });

  it('lets go while a PINGREQ waits for its answer longer than the grace, and holds nothing until the answer', async () => {
    jest.useFakeTimers();
    const { server, readNext } = await listening();
    server.useFlowGate(() => new Promise<void>(() => undefined));
    server.fake.emit('packetsend', { cmd: 'pingreq' });
    const { done } = readNext();
    jest.advanceTimersByTime(PING_GRACE_MS - 500);
    expect(done).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1000);
    expect(done).toHaveBeenCalledTimes(1);
    // Still overdue: the next messages are read without asking the gate.
    expect(readNext().done).toHaveBeenCalledTimes(1);
    server.fake.emit('packetreceive', { cmd: 'pingresp' });
    expect(readNext().done).not.toHaveBeenCalled();
  });

  it('lets every held read go on stop()', async () => {
    const { server, readNext } = await listening();
    server.useFlowGate(() => new Promise<void>(() => undefined));
    const { done } = readNext();
    await server.stop();
    expect(done).toHaveBeenCalledTimes(1);
  });

  it('hands each message to the consumer with its topic, bytes and receive time', async () => {
    const server = new TestServer({ url: 'mqtt://127.0.0.1:1' }, 'smart/devs/+/fromdev');
    await server.listen(() => undefined);
    const got: FromdevPacket[] = [];
    server.useConsumer((p) => Promise.resolve(void got.push(p)));
    const before = Date.now();
    server.fake.emit('message', 'smart/devs/202005010001/fromdev', Buffer.from('{"a":1}'), {});
    await flush();
    expect(got).toHaveLength(1);
    expect(got[0].topic).toBe('smart/devs/202005010001/fromdev');
    expect(got[0].payload.toString()).toBe('{"a":1}');
    expect(got[0].receivedAtMs).toBeGreaterThanOrEqual(before);
  });

  it("subscribes to the broker's dropped count and keeps it out of ingestion", async () => {
    const { server, delivered } = await listening();
    server.fake.emit('connect');
    const topics = server.fake.subscribe.mock.calls.map((c) => c[0] as string);
    expect(topics).toEqual(['smart/devs/+/fromdev', BROKER_DROPPED_TOPIC]);
    expect(server.flow()).toMatchObject({ brokerDropped: null, brokerDroppedAt: null });
    server.fake.emit('message', BROKER_DROPPED_TOPIC, Buffer.from('1234'), {});
    server.fake.emit('message', BROKER_DROPPED_TOPIC, Buffer.from('junk'), {});
    server.fake.emit('message', 'smart/devs/202005010001/fromdev', Buffer.from('{}'), {});
    await flush();
    expect(server.flow()).toMatchObject({
      brokerDropped: 1234,
      brokerDroppedAt: expect.any(String),
    });
    expect(delivered).toEqual(['smart/devs/202005010001/fromdev']);
  });
});
