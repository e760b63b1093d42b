import mqtt, { IClientOptions, MqttClient } from 'mqtt';

export type ConnectOutcome =
  { ok: true; client: MqttClient } | { ok: false; code?: number; error: string };

/**
 * One connection attempt, no retries: the broker's CONNACK code when it
 * refuses (4 bad user name or password, 5 not authorised, 2 identifier
 * rejected, 3 server unavailable), or the transport error (TLS).
 */
export async function tryConnect(url: string, opts: IClientOptions): Promise<ConnectOutcome> {
  try {
    // allowRetries=false: a close without CONNACK rejects instead of hanging.
    const client = await mqtt.connectAsync(
      url,
      { reconnectPeriod: 0, connectTimeout: 5000, ...opts },
      false,
    );
    return { ok: true, client };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { ok: false, code: typeof e.code === 'number' ? e.code : undefined, error: e.message };
  }
}

/** The CONNACK code, 0 on success (the connection is closed again). */
export async function connackCode(url: string, opts: IClientOptions): Promise<number | string> {
  const r = await tryConnect(url, opts);
  if (r.ok) {
    await r.client.endAsync(true);
    return 0;
  }
  return r.code ?? r.error;
}

/** SUBACK per filter, one SUBSCRIBE each (mqtt.js rejects a whole call on any 0x80). */
export async function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  const codes: number[] = [];
  for (const f of filters) {
    try {
      const [g] = await client.subscribeAsync(f, { qos: 0 });
      codes.push(g.qos);
    } catch {
      codes.push(128);
    }
  }
  return codes;
}

/** Resolves when the client's connection closes (within the timeout), else rejects. */
export function closed(client: MqttClient, timeoutMs = 10_000): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection stayed open')), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
