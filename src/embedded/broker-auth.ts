import { Logger } from '@nestjs/common';
import type Aedes from 'aedes';
import type { AuthenticateError, Client, PublishPacket } from 'aedes';
import { isDeviceUsername, Principal, TopicAcl } from '../protocol/topic-acl';
import { sameSecret } from '../lib/secret';

/** Nest token under which the app finds the embedded broker's gate (null for an external broker). */
export const EMBEDDED_BROKER_AUTH = Symbol('EMBEDDED_BROKER_AUTH');

export type DeviceCheck = { ok: true } | { ok: false; reason: string };

/** What the app installs once it can reach the database. */
export interface DeviceAuthorizer {
  checkDevice(sn: string, password: Buffer | undefined): Promise<DeviceCheck>;
}

export interface EmbeddedBrokerAuthOptions {
  topicRoot: string;
  /** The backend's own MQTT identity; checked here, so it connects before the app is up. */
  backend: { username: string; password: string };
  /** True when the password was generated at start (then no external broker can know it). */
  backendPasswordGenerated?: boolean;
}

// MQTT 3.1.1 CONNACK return codes (aedes accepts 2-5).
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_CREDENTIALS = 4;
const NOT_AUTHORIZED = 5;

type Granted = Principal & { epoch: number };
type Will = { topic: string; retain?: boolean } | null | undefined;

/**
 * Authentication and ACL for the embedded aedes broker. The backend's user is
 * known from the configuration; devices are checked by a DeviceAuthorizer that
 * the app installs once it is up (until then devices get "server unavailable"
 * and retry). Each connection is checked once at CONNECT and its principal kept
 * with the client, so publishing costs one string comparison.
 */
export class EmbeddedBrokerAuth {
  readonly acl: TopicAcl;
  /** The backend's credentials, handed to the app's own MQTT client. */
  readonly backend: Readonly<{ username: string; password: string }>;
  readonly backendPasswordGenerated: boolean;
  private readonly log = new Logger('BrokerAuth');
  private authorizer: DeviceAuthorizer | null = null;
  private denyListener: (reason: string) => void = () => undefined;
  private readonly granted = new WeakMap<Client, Granted>();
  private readonly wills = new WeakMap<Client, Will>();
  private readonly connected = new Map<string, Client>();
  // Bumped on rotation/revocation, so a check that started before it cannot admit the old password.
  private readonly epochs = new Map<string, number>();
  private logWindow = { start: 0, count: 0 };

  constructor(opts: EmbeddedBrokerAuthOptions) {
    this.acl = new TopicAcl(opts.topicRoot);
    this.backend = { ...opts.backend };
    this.backendPasswordGenerated = opts.backendPasswordGenerated ?? false;
  }

  install(authorizer: DeviceAuthorizer, onDeny?: (reason: string) => void): void {
    this.authorizer = authorizer;
    if (onDeny) this.denyListener = onDeny;
  }

  uninstall(authorizer: DeviceAuthorizer): void {
    if (this.authorizer !== authorizer) return;
    this.authorizer = null;
    this.denyListener = () => undefined;
  }

  /** Drops a device's connection now and fails any CONNECT for it still being checked. */
  disconnect(sn: string): boolean {
    this.epochs.set(sn, this.epoch(sn) + 1);
    const client = this.connected.get(sn);
    if (!client) return false;
    this.connected.delete(sn);
    client.close();
    return true;
  }

  isConnected(sn: string): boolean {
    return this.connected.has(sn);
  }

  attach(broker: Aedes): void {
    broker.preConnect = (client, packet, cb) => {
      this.wills.set(client, packet.will as Will);
      cb(null, true);
    };
    broker.authenticate = (client, username, password, cb) =>
      this.authenticate(client, username, password, cb);
    broker.authorizePublish = (client, packet, cb) => cb(this.checkPublish(client, packet));
    broker.authorizeSubscribe = (client, sub, cb) => {
      const p = this.granted.get(client);
      if (p && this.acl.maySubscribe(p, sub.topic)) return cb(null, sub);
      this.deny('acl_subscribe', p && p.kind === 'device' ? p.sn : client.id);
      // A null subscription answers SUBACK 0x80 and keeps the client connected.
      cb(null, null);
    };
    broker.authorizeForward = (client, packet) => {
      const p = this.granted.get(client);
      return p && this.acl.mayReceive(p, packet.topic) ? packet : null;
    };
    broker.on('clientReady', (client) => {
      const p = this.granted.get(client);
      if (p?.kind !== 'device') return;
      if (p.epoch !== this.epoch(p.sn)) {
        client.close();
        return;
      }
      this.connected.set(p.sn, client);
    });
    broker.on('clientDisconnect', (client) => {
      const p = this.granted.get(client);
      if (p?.kind === 'device' && this.connected.get(p.sn) === client) this.connected.delete(p.sn);
    });
  }

  private epoch(sn: string): number {
    return this.epochs.get(sn) ?? 0;
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    cb: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const refuse = (code: number, reason: string) => {
      this.deny(reason, username);
      const err = new Error(reason) as AuthenticateError;
      err.returnCode = code;
      cb(err, false);
    };
    if (username === this.backend.username) {
      if (!password || !sameSecret(password, this.backend.password)) {
        return refuse(BAD_CREDENTIALS, 'bad_password');
      }
      this.granted.set(client, { kind: 'backend', epoch: 0 });
      return cb(null, true);
    }
    if (!isDeviceUsername(username)) return refuse(BAD_CREDENTIALS, 'bad_username');
    const sn = username;
    if (client.id !== sn) return refuse(IDENTIFIER_REJECTED, 'client_id_mismatch');
    const will = this.wills.get(client);
    if (will && !this.acl.mayPublish({ kind: 'device', sn }, will.topic, will.retain === true)) {
      return refuse(NOT_AUTHORIZED, 'acl_will');
    }
    const authorizer = this.authorizer;
    if (!authorizer) return refuse(SERVER_UNAVAILABLE, 'not_ready');
    const epoch = this.epoch(sn);
    authorizer.checkDevice(sn, password).then(
      (r) => {
        if (!r.ok) return refuse(BAD_CREDENTIALS, r.reason);
        if (this.epoch(sn) !== epoch) return refuse(BAD_CREDENTIALS, 'revoked');
        this.granted.set(client, { kind: 'device', sn, epoch });
        cb(null, true);
      },
      (err: Error) => {
        this.log.error(`device check for ${sn} failed: ${err.message}`);
        refuse(SERVER_UNAVAILABLE, 'error');
      },
    );
  }

  private checkPublish(client: Client | null, packet: PublishPacket): Error | null {
    // aedes re-checks a stored will at publish time, with no client when its owner is gone.
    const p = client ? this.granted.get(client) : undefined;
    if (p && this.acl.mayPublish(p, packet.topic, packet.retain === true)) return null;
    const who = p?.kind === 'device' ? p.sn : (client?.id ?? 'unknown');
    const reason = packet.retain ? 'acl_retain' : 'acl_publish';
    this.deny(reason, who);
    // aedes closes the connection on an error: a device breaking its ACL is not trusted further.
    return new Error(reason);
  }

  private deny(reason: string, who: string | undefined): void {
    this.denyListener(reason);
    // A misconfigured fleet retries every few seconds; cap the log, the metric counts all.
    const now = Date.now();
    if (now - this.logWindow.start > 60_000) this.logWindow = { start: now, count: 0 };
    if (++this.logWindow.count <= 20) {
      this.log.warn(`refused ${JSON.stringify(String(who ?? '').slice(0, 64))}: ${reason}`);
    }
  }
}
