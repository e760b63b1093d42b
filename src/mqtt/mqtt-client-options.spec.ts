import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { mqttClientOptions, readPemFile, TlsFileError } from './mqtt-client-options';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('MQTT client TLS options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bcb-tls-'));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const ca = file('ca.pem', PEM);
  const cert = file('client.pem', PEM);
  const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
  const mqtt = (over: Partial<AppConfig['mqtt']> = {}): AppConfig['mqtt'] => ({
    tlsVerify: true,
    topicRoot: 'smart/devs',
    embeddedHost: '127.0.0.1',
    embeddedPort: 1883,
    username: 'admin_client',
    password: 'pw',
    ...over,
  });

  it('verifies the broker with the CA file by default, with SNI and mutual TLS when configured', () => {
    const o = mqttClientOptions(
      mqtt({ caFile: ca, certFile: cert, keyFile: key, servername: 'broker.example' }),
      'mqtts://10.0.0.5:8883',
    );
    expect(o.rejectUnauthorized).toBe(true);
    expect(o.ca).toEqual(Buffer.from(PEM));
    expect(o.cert).toEqual(Buffer.from(PEM));
    expect(Buffer.isBuffer(o.key)).toBe(true);
    expect(o.servername).toBe('broker.example');
    expect(o).toMatchObject({ username: 'admin_client', password: 'pw', queueQoSZero: false });
  });

  it('turns verification off only when asked, and adds no TLS options to plain mqtt://', () => {
    expect(mqttClientOptions(mqtt({ tlsVerify: false }), 'mqtts://b:8883').rejectUnauthorized).toBe(
      false,
    );
    const plain = mqttClientOptions(mqtt({ caFile: ca }), 'mqtt://b:1883');
    expect(plain.ca).toBeUndefined();
    expect(plain.rejectUnauthorized).toBeUndefined();
  });

  it('fails naming the variable and the file: missing, a directory, empty, not PEM', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    const cases: [string, RegExp][] = [
      [join(dir, 'nope.pem'), /MQTT_CA_FILE=.*nope\.pem: cannot read file/],
      [sub, /MQTT_CA_FILE=.*a-directory: cannot read file \(not a regular file\)/],
      [file('empty.pem', ''), /MQTT_CA_FILE=.*empty\.pem: file is empty/],
      [file('der.pem', '0\x82\x01\x0a'), /MQTT_CA_FILE=.*der\.pem: not a PEM file/],
    ];
    for (const [path, message] of cases) {
      const run = () => mqttClientOptions(mqtt({ caFile: path }), 'mqtts://b:8883');
      expect(run).toThrow(TlsFileError);
      expect(run).toThrow(message);
    }
  });

  it('checks the client certificate and key files too', () => {
    const missing = join(dir, 'missing.key');
    expect(() =>
      mqttClientOptions(mqtt({ certFile: cert, keyFile: missing }), 'mqtts://b:8883'),
    ).toThrow(/MQTT_KEY_FILE=.*missing\.key/);
    expect(() => readPemFile(file('text.pem', 'hello'), 'MQTT_CERT_FILE')).toThrow(
      /^MQTT_CERT_FILE=.*text\.pem: not a PEM file/,
    );
  });
});
