import { isCommandRequest, publicRoute } from './access-routes';

describe('access routes', () => {
  it('classifies command requests by method and route template', () => {
    for (const p of ['switch', 'query', 'reboot', 'config', 'schedules', 'params']) {
      expect(isCommandRequest('POST', `/api/v1/concentrators/:sn/${p}`)).toBe(true);
      expect(isCommandRequest('PUT', `/api/v1/concentrators/:sn/${p}`)).toBe(true);
      expect(isCommandRequest('GET', `/api/v1/concentrators/:sn/${p}`)).toBe(false);
    }
    expect(isCommandRequest('POST', '/api/v1/commands/switch')).toBe(true);
    expect(isCommandRequest('POST', '/api/v1/upgrades')).toBe(true);
    expect(isCommandRequest('GET', '/api/v1/commands/:id')).toBe(false);
    expect(isCommandRequest('POST', '/api/v1/concentrators/:sn/adopt')).toBe(false);
    expect(isCommandRequest('POST', '/api/v1/concentrators')).toBe(false);
    expect(isCommandRequest('POST', '/api/v1/upgradesx')).toBe(false);
  });

  it('knows the public routes and whether they are rate-limited', () => {
    expect(publicRoute('/health')).toMatchObject({ throttle: false });
    expect(publicRoute('/metrics')).toMatchObject({ throttle: false });
    expect(publicRoute('/broker/emqx/authn')).toMatchObject({ throttle: false });
    expect(publicRoute('/firmware/:sha256')).toMatchObject({ throttle: true });
    expect(publicRoute('/api/v1/firmware/:id')).toBeUndefined();
    expect(publicRoute('/api/v1/health')).toBeUndefined();
    expect(publicRoute('/healthz')).toBeUndefined();
  });
});
