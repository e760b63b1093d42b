import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { enroll, EnrollError } from './enroll';

/** A stand-in API on a real socket: enough to check what the simulator sends and how it reads answers. */
function fakeApi(handler: (req: IncomingMessage, body: string) => [number, unknown]) {
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      const [status, answer] = handler(req, body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  return {
    seen,
    async url() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('enroll', () => {
  it('registers each serial with the token and returns the passwords; a known serial gets new credentials', async () => {
    const api = fakeApi((req) => {
      if (req.url === '/api/v1/concentrators') {
        return req.headers['content-length'] && api.seen.length === 1
          ? [201, { mqttPassword: 'pw-new' }]
          : [409, { message: 'exists' }];
      }
      return [201, { mqttPassword: 'pw-rotated' }];
    });
    try {
      const passwords = await enroll({
        apiUrl: await api.url(),
        token: 't0k3n',
        sns: ['202005010001', '202005010002'],
      });
      expect(passwords).toEqual({ '202005010001': 'pw-new', '202005010002': 'pw-rotated' });
      expect(api.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        'POST /api/v1/concentrators',
        'POST /api/v1/concentrators',
        'POST /api/v1/concentrators/202005010002/credentials',
      ]);
      expect(api.seen.every((s) => s.auth === 'Bearer t0k3n')).toBe(true);
      expect(JSON.parse(api.seen[0].body)).toEqual({
        sn: '202005010001',
        name: 'Simulated 202005010001',
      });
    } finally {
      await api.close();
    }
  });

  it('explains a refused token and an unreachable API', async () => {
    const api = fakeApi(() => [401, { message: 'invalid token' }]);
    try {
      await expect(
        enroll({ apiUrl: await api.url(), token: 'bad', sns: ['202005010001'] }),
      ).rejects.toThrow(/refused the token \(401\).*admin token/);
    } finally {
      await api.close();
    }
    await expect(
      enroll({ apiUrl: 'http://127.0.0.1:1', token: 't', sns: ['202005010001'] }),
    ).rejects.toThrow(EnrollError);
    await expect(
      enroll({ apiUrl: 'http://127.0.0.1:1', token: 't', sns: ['202005010001'] }),
    ).rejects.toThrow(/cannot reach the API at http:\/\/127\.0\.0\.1:1 .*is the service running/);
  });
});
