import { describe, expect, it } from 'vitest';
import { configName, isAtOrBelow, nameKey } from './names.js';

describe('DNS names', () => {
  it('files configured names under one key: lowercase, without the final dot', () => {
    expect(configName('Webcam.Family.burrow.internal.')).toBe('webcam.family.burrow.internal');
    expect(configName('webcam')).toBe('webcam');
    expect(nameKey('WebCam.X')).toBe('webcam.x');
    for (const bad of ['', '.', 'a..b', 'has space', 'x'.repeat(64), 'ü.example'])
      expect(configName(bad)).toBeNull();
  });

  it('tells a name at or below a suffix, label by label', () => {
    expect(isAtOrBelow('webcam.burrow.internal', 'burrow.internal')).toBe(true);
    expect(isAtOrBelow('burrow.internal', 'burrow.internal')).toBe(true);
    expect(isAtOrBelow('xburrow.internal', 'burrow.internal')).toBe(false);
    expect(isAtOrBelow('a\\.burrow.internal', 'burrow.internal')).toBe(false);
    expect(isAtOrBelow('internal', 'burrow.internal')).toBe(false);
    expect(isAtOrBelow('anything', '')).toBe(true);
  });
});
