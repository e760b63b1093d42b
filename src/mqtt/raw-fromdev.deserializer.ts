import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';

export const FROMDEV_EVENT = 'device.fromdev';

export interface FromdevPacket {
  topic: string;
  payload: Buffer;
  receivedAtMs: number;
}

/**
 * Keeps the device's bytes untouched: the default Nest deserializer unwraps
 * objects that have `data`/`pattern`/`id` keys, which would corrupt protocol
 * messages such as `ack` (it carries an `id`). Parsing happens in `protocol/`.
 */
export class RawFromdevDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown, options?: Record<string, unknown>): IncomingEvent {
    const payload = Buffer.isBuffer(value) ? value : Buffer.from(String(value ?? ''));
    const data: FromdevPacket = {
      topic: String(options?.channel ?? ''),
      payload,
      receivedAtMs: Date.now(),
    };
    return { pattern: FROMDEV_EVENT, data };
  }
}
