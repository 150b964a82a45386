/** Config files for tests: a temp directory per test file, and the refusal a bad config gets. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

/** Registers beforeAll/afterAll for a temp directory; returns `write(name, text)` → its path. */
export function configFiles(prefix: string): (name: string, text: string) => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name, text) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
}

/** The message a config text is refused with (fails the test when it is accepted). */
export function configRefusal(text: string): string {
  try {
    parseConfig(text, 'dr.config.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}
