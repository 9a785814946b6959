// Issue #12 item 12: the docs users read must not point at files that do not ship (the design
// folder outside the repository), and every relative link must lead to a file in the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const USER_DOCS = ['README.md', 'ui/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

test('user docs name no design files outside the repository', () => {
  for (const doc of USER_DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    assert.doesNotMatch(text, /shared\/design|\/work\//, `${doc} points outside the repository`);
  }
});

test('relative links in the user docs lead to files that exist', () => {
  for (const doc of USER_DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // http:, mailto:
      assert.ok(existsSync(join(ROOT, dirname(doc), target)), `${doc} links to ${target}, which is not in the repository`);
    }
  }
});
