import { Logger } from '@nestjs/common';
import { MessageHandler, MqttContext, MqttOptions, ServerMqtt } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import { subscriptionTopic } from '../protocol/topics';
import { FROMDEV_EVENT, FromdevPacket, RawFromdevDeserializer } from './raw-fromdev.deserializer';

type ServerMqttOptions = Required<MqttOptions>['options'];

/**
 * The Nest MQTT transport, narrowed to what devices need:
 * - it subscribes to the configured `<root>/+/fromdev` (or its `$share/` form),
 *   which a decorator cannot know at compile time;
 * - it hands the raw bytes to the deserializer instead of JSON-parsing first, so
 *   the size cap applies before parsing and a device `ack` (which has an `id`)
 *   is never mistaken for a Nest request that wants a reply;
 * - it does not hold up start-up while the broker is unreachable (health says so).
 */
export class FromdevMqttServer extends ServerMqtt {
  protected override readonly logger = new Logger('MqttIngress');
  private connectedOnce = false;

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
    // The handler's errors end in the catch-all filter; nothing here awaits it.
    client.on('message', (topic, payload, packet) => {
      void handle(topic, payload, packet);
    });
    // Subscribing on every connect covers brokers that drop subscriptions of clean sessions.
    const subscribe = () =>
      client.subscribe(this.subscription, { qos: 0 }, (err) => {
        if (err) this.logger.error(`subscribe ${this.subscription} failed: ${err.message}`);
      });
    client.on('connect', subscribe);
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

  override async handleMessage(
    channel: string,
    buffer: Buffer,
    _pub: MqttClient,
    originalPacket?: Record<string, unknown>,
  ): Promise<unknown> {
    const packet = (await this.deserializer.deserialize(buffer, { channel })) as {
      pattern: string;
      data: FromdevPacket;
    };
    const ctx = new MqttContext([channel, originalPacket as never]);
    return this.handleEvent(FROMDEV_EVENT, packet, ctx);
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
