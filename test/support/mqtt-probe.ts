import mqtt, { MqttClient } from 'mqtt';

export interface Captured {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
}

/** A plain MQTT client that records the exact bytes on the topics it watches. */
export class MqttProbe {
  readonly messages: Captured[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) =>
      this.messages.push({ topic, payload, retain: packet.retain, qos: packet.qos }),
    );
  }

  static async connect(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttProbe> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...opts });
    return new MqttProbe(client);
  }

  async subscribe(topic: string): Promise<void> {
    await this.client.subscribeAsync(topic, { qos: 0 });
  }

  async publish(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 0 });
  }

  async waitFor(pred: (m: Captured) => boolean, timeoutMs = 10_000): Promise<Captured> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages.find(pred);
      if (m) return m;
      if (Date.now() > deadline) throw new Error('timed out waiting for an MQTT message');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
