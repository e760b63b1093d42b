import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { IClientOptions } from 'mqtt';
import { AppConfig } from '../config/app-config';

export class TlsFileError extends Error {}

/** Reads a PEM file up front so a bad path fails at start with the file named, not deep in TLS. */
export function readPemFile(path: string, variable: string): Buffer {
  let content: Buffer;
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    content = readFileSync(path);
  } catch (err) {
    throw new TlsFileError(`${variable}=${path}: cannot read file (${(err as Error).message})`);
  }
  if (content.length === 0) throw new TlsFileError(`${variable}=${path}: file is empty`);
  if (!content.toString('utf8').includes('-----BEGIN ')) {
    throw new TlsFileError(`${variable}=${path}: not a PEM file (no -----BEGIN line)`);
  }
  return content;
}

export function defaultClientId(): string {
  return `bcb-${hostname().slice(0, 20)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Options for the backend's own MQTT connection. QoS 0 messages are never queued
 * while disconnected: a switching command must not fire minutes later.
 */
export function mqttClientOptions(cfg: AppConfig['mqtt'], url: string): IClientOptions {
  const opts: IClientOptions = {
    clientId: cfg.clientId ?? defaultClientId(),
    username: cfg.username,
    password: cfg.password,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 2000,
    connectTimeout: 10000,
    queueQoSZero: false,
    resubscribe: true,
  };
  const secure = url.startsWith('mqtts:') || url.startsWith('tls:') || url.startsWith('wss:');
  if (secure) {
    if (cfg.caFile) opts.ca = readPemFile(cfg.caFile, 'MQTT_CA_FILE');
    if (cfg.certFile && cfg.keyFile) {
      opts.cert = readPemFile(cfg.certFile, 'MQTT_CERT_FILE');
      opts.key = readPemFile(cfg.keyFile, 'MQTT_KEY_FILE');
    }
    opts.rejectUnauthorized = cfg.tlsVerify;
    if (cfg.servername) opts.servername = cfg.servername;
  }
  return opts;
}
