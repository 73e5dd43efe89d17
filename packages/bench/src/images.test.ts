import { distroFiles } from '@fleetscan/stack';
import { describe, expect, it } from 'vitest';
import { variantSpec } from './images.ts';

describe('variantSpec', () => {
  const specs = Array.from({ length: 30 }, (_, i) => variantSpec(i));
  const packageSet = (i: number) => {
    const d = specs[i]!.distro;
    return d.packages.map((p) => `${p.name}=${p.version}`).join(',');
  };

  it('gives every variant its own repository and package set', () => {
    expect(new Set(specs.map((s) => s.repository)).size).toBe(30);
    expect(new Set(specs.map((_, i) => packageSet(i))).size).toBe(30);
  });

  it('keeps a real distro: os-release and the essential packages', () => {
    for (const s of specs) {
      const files = distroFiles(s.distro);
      expect(files['etc/os-release']).toMatch(/^(NAME|PRETTY_NAME)=/m);
      const names = s.distro.packages.map((p) => p.name);
      if (s.distro.kind === 'debian') {
        expect(files['var/lib/dpkg/status']).toContain('Package: base-files\n');
        expect(names).toEqual(expect.arrayContaining(['base-files', 'bash']));
      } else {
        expect(files['lib/apk/db/installed']).toContain('P:musl\n');
        expect(names).toEqual(expect.arrayContaining(['musl', 'busybox']));
      }
    }
  });

  it('varies the vulnerable packages, not only the marker', () => {
    const debian = [0, 3, 6, 9].map((i) => specs[i]!.distro.packages.length);
    expect(new Set(debian).size).toBeGreaterThan(1);
  });

  it('salts a fresh set with new names', () => {
    expect(variantSpec(1, 'tp1-').repository).not.toBe(variantSpec(1).repository);
  });
});
