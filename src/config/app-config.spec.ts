import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.database.url).toBeUndefined();
    expect(c.mqtt.url).toBeUndefined();
    expect(c.mqtt.topicRoot).toBe('smart/devs');
    expect(c.mqtt.embeddedPort).toBe(1883);
    expect(c.ingest.maxPayloadBytes).toBe(65536);
    expect(c.autoAdopt).toBe(false);
    expect(c.mqtt.tlsVerify).toBe(true);
  });

  it('reads typed values', () => {
    const c = loadConfig({
      PORT: '8080',
      AUTO_ADOPT: 'yes',
      MQTT_TLS_VERIFY: 'false',
      MQTT_SHARED_GROUP: 'backend',
      UPGRADE_HTTP_ALLOW_HOSTS: 'fw.local, 10.0.0.5',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      MQTT_URL: 'mqtts://broker:8883',
    });
    expect(c.http.port).toBe(8080);
    expect(c.autoAdopt).toBe(true);
    expect(c.mqtt.tlsVerify).toBe(false);
    expect(c.mqtt.sharedGroup).toBe('backend');
    expect(c.firmware.httpAllowHosts).toEqual(['fw.local', '10.0.0.5']);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ MQTT_URL: 'http://broker' }, 'MQTT_URL'],
    [{ MQTT_TOPIC_ROOT: 'smart/+/devs' }, 'MQTT_TOPIC_ROOT'],
    [{ MQTT_TOPIC_ROOT: '/smart' }, 'MQTT_TOPIC_ROOT'],
    [{ MQTT_SHARED_GROUP: 'a/b' }, 'MQTT_SHARED_GROUP'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ AUTO_ADOPT: 'maybe' }, 'AUTO_ADOPT'],
    [{ MQTT_CERT_FILE: '/x.pem' }, 'MQTT_CERT_FILE'],
    [{ INGEST_BATCH_SIZE: '0' }, 'INGEST_BATCH_SIZE'],
    [{ DATABASE_CONNECT_TIMEOUT_MS: '0' }, 'DATABASE_CONNECT_TIMEOUT_MS'],
    [{ DATABASE_STATEMENT_TIMEOUT_MS: 'soon' }, 'DATABASE_STATEMENT_TIMEOUT_MS'],
    [{ DATABASE_QUERY_TIMEOUT_MS: '3000' }, 'DATABASE_QUERY_TIMEOUT_MS'],
    [
      { DATABASE_STATEMENT_TIMEOUT_MS: '10000', DATABASE_QUERY_TIMEOUT_MS: '5000' },
      'DATABASE_QUERY_TIMEOUT_MS',
    ],
  ])('fails fast naming the bad variable: %j', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('bounds every database wait, the client-side one just past the server-side one', () => {
    expect(loadConfig({}).database.bounds).toEqual({
      connectTimeoutMs: 2000,
      statementTimeoutMs: 3000,
      queryTimeoutMs: 4000,
      bulkTimeoutMs: 30_000,
      migrationTimeoutMs: 600_000,
      idleInTransactionTimeoutMs: 30_000,
    });
    const raised = loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '20000' }).database.bounds;
    expect(raised.queryTimeoutMs).toBe(21_000);
    const explicit = loadConfig({
      DATABASE_STATEMENT_TIMEOUT_MS: '20000',
      DATABASE_QUERY_TIMEOUT_MS: '25000',
    }).database.bounds;
    expect(explicit.queryTimeoutMs).toBe(25_000);
  });
});
