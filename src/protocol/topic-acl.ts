import { SERIAL_RE } from './serial';
import { BROKER_DROPPED_TOPIC } from './topics';

/** Who an authenticated MQTT connection is. */
export type Principal = { kind: 'backend' } | { kind: 'device'; sn: string };

const SHARE_RE = /^\$share\/[A-Za-z0-9_-]+\//;

/**
 * The vendor guide's ACL, one implementation for the embedded broker, the EMQX
 * hooks and the exported mosquitto acl_file: a device writes only its own
 * `fromdev` and reads only its own `todev`, never retained; the backend reads
 * every `fromdev` (plain or `$share/<group>/`) and writes every `todev`; it
 * may also read the broker's count of dropped messages (BROKER_DROPPED_TOPIC).
 */
export class TopicAcl {
  constructor(readonly root: string) {}

  fromdev(sn: string): string {
    return `${this.root}/${sn}/fromdev`;
  }

  todev(sn: string): string {
    return `${this.root}/${sn}/todev`;
  }

  mayPublish(p: Principal, topic: string, retain: boolean): boolean {
    if (retain) return false;
    if (p.kind === 'device') return topic === this.fromdev(p.sn);
    return this.serialLevel(topic, '/todev', false);
  }

  maySubscribe(p: Principal, filter: string): boolean {
    if (p.kind === 'device') return filter === this.todev(p.sn);
    if (filter === BROKER_DROPPED_TOPIC) return true;
    const plain = filter.replace(SHARE_RE, '');
    return this.serialLevel(plain, '/fromdev', true);
  }

  /** Delivery-time check, so a rule slip on subscribe still leaks nothing. */
  mayReceive(p: Principal, topic: string): boolean {
    if (p.kind === 'device') return topic === this.todev(p.sn);
    if (topic === BROKER_DROPPED_TOPIC) return true;
    return this.serialLevel(topic, '/fromdev', false);
  }

  /** `<root>/<12 digits><suffix>`, or `<root>/+<suffix>` when the wildcard is allowed. */
  private serialLevel(topic: string, suffix: string, allowPlus: boolean): boolean {
    const prefix = this.root + '/';
    if (!topic.startsWith(prefix) || !topic.endsWith(suffix)) return false;
    const level = topic.slice(prefix.length, topic.length - suffix.length);
    return (allowPlus && level === '+') || SERIAL_RE.test(level);
  }
}

/** Usernames a device may use: exactly a serial, which also rules out `+`, `#` and `/`. */
export function isDeviceUsername(username: string | undefined): username is string {
  return typeof username === 'string' && SERIAL_RE.test(username);
}
