import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { BackendMessage, encodeBackendMessage } from '../protocol/backend-messages';
import { todevTopic } from '../protocol/topics';
import { FromdevMqttServer } from './fromdev-server';

/**
 * The one way anything reaches `<root>/<sn>/todev`: the exact protocol JSON, QoS 0,
 * never retained, no Nest envelope. When the broker link is down it refuses
 * rather than queueing, so a command is never delivered late.
 */
@Injectable()
export class TodevPublisher {
  constructor(
    private readonly server: FromdevMqttServer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get connected(): boolean {
    return this.server.isConnected;
  }

  /** Resolves once the message is written to the broker connection. */
  async publish(msg: BackendMessage): Promise<string> {
    const payload = encodeBackendMessage(msg);
    const client = this.server.client;
    if (!client || !client.connected) {
      throw new ServiceUnavailableException('broker_unavailable');
    }
    const topic = todevTopic(this.config.mqtt.topicRoot, msg.sn);
    await new Promise<void>((resolve, reject) =>
      client.publish(topic, payload, { qos: 0, retain: false }, (err) =>
        err ? reject(new ServiceUnavailableException('broker_unavailable')) : resolve(),
      ),
    );
    return payload;
  }
}
