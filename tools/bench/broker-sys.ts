import mqtt, { MqttClient } from 'mqtt';

export const DROPPED_TOPIC = '$SYS/broker/publish/messages/dropped';
const UPTIME_TOPIC = '$SYS/broker/uptime';
const VERSION_TOPIC = '$SYS/broker/version';

/**
 * The broker's own count of messages it dropped (mosquitto: QoS 0 traffic a
 * subscriber could not take, among others), where the broker publishes it.
 * mosquitto refreshes $SYS every sys_interval seconds (10 by default), all
 * topics in one go, uptime among them: a reading is current once an uptime
 * message has arrived after the moment it is meant to describe. mosquitto
 * publishes a value only once it changes: a broker that has $SYS but has never
 * dropped anything has no dropped topic yet, which reads as 0.
 */
export class BrokerDropCounter {
  private value?: number;
  private uptimeTicks = 0;
  /** `$SYS/broker/version`, e.g. "mosquitto version 2.0.11". */
  version?: string;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic === DROPPED_TOPIC) this.value = Number(payload.toString());
      else if (topic === UPTIME_TOPIC) this.uptimeTicks++;
      else if (topic === VERSION_TOPIC) this.version = payload.toString();
    });
  }

  static async connect(
    url: string,
    auth: { username?: string; password?: string },
  ): Promise<BrokerDropCounter> {
    const client = await mqtt.connectAsync(url, {
      clientId: `bench-sys-${process.pid}`,
      username: auth.username,
      password: auth.password,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    const counter = new BrokerDropCounter(client);
    try {
      await client.subscribeAsync([DROPPED_TOPIC, UPTIME_TOPIC, VERSION_TOPIC], { qos: 0 });
    } catch {
      // A broker that refuses $SYS subscriptions simply has no reading.
    }
    // The $SYS topics are retained: a broker that has them answers at once.
    for (let i = 0; i < 20 && !counter.available; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return counter;
  }

  /** False when the broker has no mosquitto-style $SYS tree (aedes, EMQX…). */
  get available(): boolean {
    return this.value !== undefined || this.uptimeTicks > 0;
  }

  /** The last value published, undefined when the broker has no such counter. */
  get current(): number | undefined {
    return this.available ? (this.value ?? 0) : undefined;
  }

  /** Waits for the broker's next $SYS refresh (at most maxS), then returns the value. */
  async fresh(maxS: number): Promise<number | undefined> {
    if (!this.available) return undefined;
    const ticks = this.uptimeTicks;
    const until = Date.now() + maxS * 1000;
    while (this.uptimeTicks === ticks && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // The other $SYS topics of the same refresh follow on the same socket.
    await new Promise((r) => setTimeout(r, 300));
    return this.current;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
