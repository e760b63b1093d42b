import { Logger } from '@nestjs/common';
import { MessageHandler, MqttOptions, ServerMqtt } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import { BROKER_DROPPED_TOPIC, subscriptionTopic } from '../protocol/topics';
import { FromdevPacket, RawFromdevDeserializer } from './raw-fromdev.deserializer';

type ServerMqttOptions = Required<MqttOptions>['options'];

/**
 * The port through which a higher layer holds the transport: asked before each
 * next message is read, it answers null to read on, or a promise to wait for.
 */
export type FlowGate = () => Promise<void> | null;

/** The one consumer of `fromdev` messages (ingestion): it never throws, and counts every message. */
export type FromdevConsumer = (packet: FromdevPacket) => Promise<void>;

/** Reading paused for backpressure, and what the broker says it dropped. */
export interface TransportFlow {
  paused: boolean;
  pauses: number;
  pausedSeconds: number;
  brokerDropped: number | null;
  brokerDroppedAt: string | null;
}

/**
 * A PINGREQ unanswered for this long makes the flow gate let reading go on:
 * the PINGRESP waits behind the unread messages, and mqtt.js would end the
 * connection (keepalive 30 s: after 15 s) if it never got to it.
 */
export const PING_GRACE_MS = 5000;

/**
 * The Nest MQTT transport, narrowed to what devices need:
 * - it subscribes to the configured `<root>/+/fromdev` (or its `$share/` form),
 *   which a decorator cannot know at compile time;
 * - it hands the raw bytes straight to the one consumer (ingestion) instead of
 *   JSON-parsing first, so the size cap applies before parsing and a device
 *   `ack` (which has an `id`) is never mistaken for a Nest request that wants a
 *   reply; and not through Nest's RPC pipeline: its global interceptors, pipes
 *   and filters are the HTTP API's, and cost more per message than decoding;
 * - it stops reading while the consumer's flow gate says so (backpressure);
 * - it does not hold up start-up while the broker is unreachable (health says so).
 */
export class FromdevMqttServer extends ServerMqtt {
  protected override readonly logger = new Logger('MqttIngress');
  private connectedOnce = false;
  private flowGate?: FlowGate;
  private pingSentAt?: number;
  private pausedSince?: number;
  private pauses = 0;
  private pausedMs = 0;
  private readonly waiting = new Set<() => void>();
  private brokerDropped?: { value: number; at: number };
  private consumer?: FromdevConsumer;

  constructor(
    options: ServerMqttOptions,
    private readonly subscription: string,
  ) {
    super({ ...options, deserializer: new RawFromdevDeserializer() });
  }

  static topicFor(root: string, sharedGroup?: string): string {
    return subscriptionTopic(root, sharedGroup);
  }

  override async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      // The base class types its client as `any` (mqtt is an optional peer of Nest).
      const client = this.createMqttClient() as MqttClient;
      this.mqttClient = client;
      // mqtt.js reads the next packet only once handleMessage calls back: the backpressure hook.
      client.handleMessage = (_packet, done) => this.readNext(done);
      client.on('packetsend', (p) => {
        if (p.cmd === 'pingreq') this.pingSentAt ??= Date.now();
      });
      client.on('packetreceive', (p) => {
        if (p.cmd === 'pingresp') this.pingSentAt = undefined;
      });
      client.on('close', () => (this.pingSentAt = undefined));
      this.start(() => undefined);
      client.on('connect', () => {
        if (!this.connectedOnce) this.logger.debug(`connected, subscribed to ${this.subscription}`);
        else this.logger.log('reconnected');
        this.connectedOnce = true;
      });
      callback();
    } catch (err) {
      callback(err);
    }
  }

  override bindEvents(client: MqttClient): void {
    const handle = this.getMessageHandler(client).bind(this);
    // handleMessage never rejects; nothing here awaits it.
    client.on('message', (topic, payload, packet) => {
      if (topic === BROKER_DROPPED_TOPIC) return this.noteBrokerDropped(payload);
      void handle(topic, payload, packet);
    });
    // Subscribing on every connect covers brokers that drop subscriptions of clean sessions.
    const subscribe = () => {
      client.subscribe(this.subscription, { qos: 0 }, (err) => {
        if (err) this.logger.error(`subscribe ${this.subscription} failed: ${err.message}`);
      });
      // Optional: a broker that refuses it or never publishes it leaves the count unknown.
      client.subscribe(BROKER_DROPPED_TOPIC, { qos: 0 }, (err, granted) => {
        if (err || granted?.[0]?.qos === 128) {
          this.logger.debug(`the broker does not offer ${BROKER_DROPPED_TOPIC}`);
        }
      });
    };
    client.on('connect', subscribe);
  }

  /** Plugs in the backpressure of a higher layer (ingestion, at init). */
  useFlowGate(gate: FlowGate): void {
    this.flowGate = gate;
  }

  /** For /health and /metrics. */
  flow(now = Date.now()): TransportFlow {
    const current = this.pausedSince === undefined ? 0 : now - this.pausedSince;
    const b = this.brokerDropped;
    return {
      paused: this.pausedSince !== undefined,
      pauses: this.pauses,
      pausedSeconds: (this.pausedMs + current) / 1000,
      brokerDropped: b?.value ?? null,
      brokerDroppedAt: b ? new Date(b.at).toISOString() : null,
    };
  }

  private noteBrokerDropped(payload: Buffer): void {
    const text = payload.toString('latin1').trim();
    if (/^[0-9]{1,15}$/.test(text)) this.brokerDropped = { value: Number(text), at: Date.now() };
  }

  private pingOverdue(now = Date.now()): boolean {
    return this.pingSentAt !== undefined && now - this.pingSentAt > PING_GRACE_MS;
  }

  /**
   * Called by mqtt.js after each PUBLISH was handed to the 'message' listeners;
   * `done` lets it go on to the next packet. Held while the flow gate says so:
   * the socket is then not read, TCP fills, and the broker queues (or drops
   * and counts) what follows. Never held while a PINGREQ is overdue, nor after
   * stop().
   */
  private readNext(done: () => void): void {
    const wait = this.flowGate && !this.pingOverdue() ? this.flowGate() : null;
    if (!wait) return done();
    const since = Date.now();
    this.pauses++;
    this.pausedSince = since;
    let watch: NodeJS.Timeout | undefined = undefined;
    const finish = () => {
      if (!this.waiting.delete(finish)) return;
      clearInterval(watch);
      this.pausedMs += Date.now() - since;
      this.pausedSince = undefined;
      done();
    };
    this.waiting.add(finish);
    watch = setInterval(() => {
      if (this.pingOverdue()) finish();
    }, 250).unref();
    wait.then(finish, finish);
  }

  override registerErrorListener(client: MqttClient): void {
    let last = 0;
    client.on('error', (err: Error) => {
      // A broker that is down yields an error every reconnect period; once a minute is enough.
      const now = Date.now();
      if (now - last > 60_000) this.logger.error(`MQTT error: ${err.message}`);
      last = now;
    });
  }

  /** Plugs in the consumer of every fromdev message (ingestion, at construction). */
  useConsumer(consumer: FromdevConsumer): void {
    this.consumer = consumer;
  }

  override async handleMessage(channel: string, buffer: Buffer): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) {
      this.logger.warn(`no consumer for ${channel}: message ignored`);
      return;
    }
    try {
      await consumer({ topic: channel, payload: buffer, receivedAtMs: Date.now() });
    } catch (err) {
      // Ingestion counts every failure itself and never throws; this is the last resort.
      this.logger.error(`fromdev consumer failed: ${(err as Error)?.message}`);
    }
  }

  /**
   * Every message goes to the one fromdev handler. The base class would first
   * try JSON.parse on the pattern, throwing (and catching) once per message.
   */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? null;
  }

  /** Ends the connection and waits for it, so no handler starts after this. */
  async stop(): Promise<void> {
    this.flowGate = undefined;
    [...this.waiting].forEach((finish) => finish());
    const client = this.live;
    if (!client) return;
    this.mqttClient = null;
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  override close(): void {
    void this.stop();
  }

  /** The live client (publishing to `todev` shares the backend's one connection). */
  get client(): MqttClient | undefined {
    return this.live ?? undefined;
  }

  get isConnected(): boolean {
    return this.live?.connected ?? false;
  }

  private get live(): MqttClient | null {
    return this.mqttClient as MqttClient | null;
  }
}
