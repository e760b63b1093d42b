import { certWarning } from './cert-expiry';

describe('certWarning', () => {
  const c = { variable: 'MQTT_CA_FILE', file: '/x/ca.pem' };
  it('warns below the threshold, for expired and unreadable files, and not otherwise', () => {
    expect(certWarning({ ...c, daysLeft: 30 }, 30)).toBeUndefined();
    expect(certWarning({ ...c, daysLeft: 29 }, 30)).toBe(
      'MQTT_CA_FILE: certificate expires in 29 days (warning below 30)',
    );
    expect(certWarning({ ...c, daysLeft: -2 }, 30)).toBe(
      'MQTT_CA_FILE: certificate expired 2 days ago',
    );
    expect(certWarning({ ...c, error: 'ENOENT' }, 30)).toBe(
      'MQTT_CA_FILE: cannot read /x/ca.pem: ENOENT',
    );
  });
});
