import { BadRequestException } from '@nestjs/common';
import { TariffIdPipe } from './tariff-id.pipe';
import { canonicalZone } from './tariffs.service';

describe('TariffIdPipe', () => {
  const pipe = new TariffIdPipe();

  it('passes slugs', () => {
    for (const id of ['a', 'home-tou', '2024-night', 'x'.repeat(64)]) {
      expect(pipe.transform(id)).toBe(id);
    }
  });

  it('refuses anything else with a 400 that states the rule', () => {
    for (const id of ['', 'Home', 'a_b', '-a', 'a b', 'x'.repeat(65), 'é', 'a/b', '\u0000']) {
      expect(() => pipe.transform(id)).toThrow(BadRequestException);
    }
    expect(() => pipe.transform('Home')).toThrow(/tariff id must be a slug/);
  });
});

describe('canonicalZone', () => {
  it('spells a zone as the zone database does', () => {
    expect(canonicalZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalZone('Asia/Shanghai')).toBe('Asia/Shanghai');
    expect(canonicalZone('Etc/UTC')).toBe('UTC');
  });
});
