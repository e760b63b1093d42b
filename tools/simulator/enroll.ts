/**
 * Registers simulated concentrators through the backend's REST API, the way
 * an installer does before mounting real ones: each gets its MQTT password
 * (shown once). A serial registered earlier gets a fresh password instead,
 * so the simulator can be restarted at will.
 */
export interface EnrollOptions {
  apiUrl: string;
  token: string;
  sns: string[];
  /** Sent as `name`; the serial is appended. */
  namePrefix?: string;
  fetchImpl?: typeof fetch;
}

export class EnrollError extends Error {}

interface ApiAnswer {
  status: number;
  body: { mqttPassword?: string; message?: unknown };
}

export async function enroll(o: EnrollOptions): Promise<Record<string, string>> {
  const f = o.fetchImpl ?? fetch;
  const call = async (path: string, body?: unknown): Promise<ApiAnswer> => {
    let res: Response;
    try {
      res = await f(new URL(path, o.apiUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new EnrollError(
        `cannot reach the API at ${o.apiUrl} (${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}); is the service running?`,
      );
    }
    const text = await res.text();
    let parsed: ApiAnswer['body'] = {};
    try {
      parsed = JSON.parse(text) as ApiAnswer['body'];
    } catch {
      // Not JSON: the status says enough.
    }
    return { status: res.status, body: parsed };
  };
  const passwords: Record<string, string> = {};
  for (const sn of o.sns) {
    let r = await call('/api/v1/concentrators', {
      sn,
      name: `${o.namePrefix ?? 'Simulated'} ${sn}`,
    });
    if (r.status === 409) r = await call(`/api/v1/concentrators/${sn}/credentials`);
    if (r.status === 401 || r.status === 403) {
      throw new EnrollError(
        `the API refused the token (${r.status}): registering needs an admin token (--token, ADMIN_TOKEN, or --token-file)`,
      );
    }
    if ((r.status !== 200 && r.status !== 201) || !r.body.mqttPassword) {
      throw new EnrollError(
        `registering ${sn} failed: ${r.status} ${JSON.stringify(r.body.message ?? '')}`,
      );
    }
    passwords[sn] = r.body.mqttPassword;
  }
  return passwords;
}
