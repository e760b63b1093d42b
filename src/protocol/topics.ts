import { SERIAL_RE, isSerial } from './serial';
import { sanitizeExcerpt } from './sanitize';

const FROMDEV_SUFFIX = '/fromdev';

/**
 * mosquitto's count of messages it dropped (queue limits, all clients, since
 * it started), published every sys_interval. Brokers that do not publish it
 * (aedes, EMQX) leave it unknown.
 */
export const BROKER_DROPPED_TOPIC = '$SYS/broker/publish/messages/dropped';
const SHARE_GROUP_RE = /^[A-Za-z0-9_-]+$/;
// A bad serial is worth recording only if it is short enough to be a typo or a
// misconfigured device rather than junk.
const MAX_RECORDED_SN = 32;
// MQTT caps a topic at 65535 UTF-8 bytes; leave room for `/<sn>/fromdev` and a
// `$share/<group>/` prefix.
const MAX_ROOT_LENGTH = 1024;

export type FromdevTopicResult =
  { ok: true; sn: string } | { ok: false; reason: 'bad_topic' | 'bad_serial'; sn?: string };

/** Returns `root` unchanged, or throws with a message fit for a config error. */
export function validateTopicRoot(root: string): string {
  if (typeof root !== 'string' || root.length === 0) {
    throw new Error('MQTT topic root must be a non-empty string');
  }
  if (root.length > MAX_ROOT_LENGTH) {
    throw new Error(`MQTT topic root is longer than ${MAX_ROOT_LENGTH} characters`);
  }
  if (root.includes('+') || root.includes('#')) {
    throw new Error(`MQTT topic root "${sanitizeExcerpt(root, 64)}" must not contain + or #`);
  }
  if (root.includes('\u0000')) {
    throw new Error('MQTT topic root must not contain NUL');
  }
  // `$`-topics are reserved for the broker ($SYS, $share): `+` never matches them.
  if (root.startsWith('$')) {
    throw new Error(`MQTT topic root "${sanitizeExcerpt(root, 64)}" must not start with $`);
  }
  if (root.startsWith('/') || root.endsWith('/')) {
    throw new Error(`MQTT topic root "${sanitizeExcerpt(root, 64)}" must not start or end with /`);
  }
  if (root.includes('//')) {
    throw new Error(`MQTT topic root "${sanitizeExcerpt(root, 64)}" has an empty level`);
  }
  return root;
}

// The simulator may deliberately publish under a malformed serial, so only
// characters that would change the topic's structure are refused here.
function assertTopicLevel(sn: string): void {
  if (typeof sn !== 'string' || sn.length === 0 || sn.includes('/') || hasForbiddenChar(sn)) {
    throw new Error(`"${sanitizeExcerpt(String(sn), 32)}" cannot be used as a topic level`);
  }
}

export function fromdevTopic(root: string, sn: string): string {
  assertTopicLevel(sn);
  return `${root}/${sn}/fromdev`;
}

export function todevTopic(root: string, sn: string): string {
  if (!isSerial(sn)) {
    throw new Error(`refusing to publish to non-serial "${sanitizeExcerpt(String(sn), 32)}"`);
  }
  return `${root}/${sn}/todev`;
}

export function subscriptionTopic(root: string, sharedGroup?: string): string {
  validateTopicRoot(root);
  const topic = `${root}/+/fromdev`;
  if (sharedGroup === undefined) return topic;
  if (typeof sharedGroup !== 'string' || !SHARE_GROUP_RE.test(sharedGroup)) {
    throw new Error(
      `MQTT shared subscription group "${sanitizeExcerpt(String(sharedGroup), 64)}" must match [A-Za-z0-9_-]+`,
    );
  }
  return `$share/${sharedGroup}/${topic}`;
}

function hasForbiddenChar(topic: string): boolean {
  return topic.includes('+') || topic.includes('#') || topic.includes('\u0000');
}

/** Hot path: called for every inbound message, so plain string operations only. */
export function parseFromdevTopic(root: string, topic: string): FromdevTopicResult {
  const rootLen = root.length;
  if (
    topic.length <= rootLen + FROMDEV_SUFFIX.length + 1 ||
    !topic.startsWith(root) ||
    topic.charCodeAt(rootLen) !== 0x2f ||
    !topic.endsWith(FROMDEV_SUFFIX) ||
    hasForbiddenChar(topic)
  ) {
    return { ok: false, reason: 'bad_topic' };
  }
  const sn = topic.slice(rootLen + 1, topic.length - FROMDEV_SUFFIX.length);
  if (sn.includes('/')) return { ok: false, reason: 'bad_topic' };
  if (SERIAL_RE.test(sn)) return { ok: true, sn };
  // Only a value that needed no escaping is kept, so the recorded `sn` is
  // exactly what the device used.
  if (sn.length <= MAX_RECORDED_SN && sanitizeExcerpt(sn, MAX_RECORDED_SN) === sn) {
    return { ok: false, reason: 'bad_serial', sn };
  }
  return { ok: false, reason: 'bad_serial' };
}
