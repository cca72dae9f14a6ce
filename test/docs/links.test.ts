import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';

// The docs are read in a clone, offline: every link must land on a file (and heading) of this repository.
const root = resolve(import.meta.dirname, '../..');
const pages = execFileSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

function linksIn(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('documentation links', () => {
  it('finds the pages it checks', () => {
    assert.ok(pages.includes('README.md') && pages.some((p) => p.startsWith('docs/')), pages.join(', '));
  });

  it('computes anchors as GitHub does', () => {
    assert.equal(anchorOf('Shared tier: one token per profile across the fleet'), 'shared-tier-one-token-per-profile-across-the-fleet');
    assert.equal(anchorOf("Flush a profile's token (operators)"), 'flush-a-profiles-token-operators');
  });

  for (const page of pages) {
    it(`${page}: every link points to a file and heading inside the repository`, () => {
      const broken: string[] = [];
      for (const link of linksIn(join(root, page))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
          broken.push(`${link} (points outside the repository)`);
          continue;
        }
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(root, page) : resolve(dirname(join(root, page)), path);
        if (!target.startsWith(root) || !existsSync(target)) broken.push(`${link} (no such file)`);
        else if (anchor !== undefined && target.endsWith('.md') && !anchorsIn(target).has(anchor)) broken.push(`${link} (no such heading)`);
      }
      assert.deepEqual(broken, []);
    });
  }

  it('keeps the README a front door of at most 250 lines that links every page of docs/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.ok(readme.split('\n').length <= 250, `README.md has ${readme.split('\n').length} lines`);
    const linked = new Set(linksIn(join(root, 'README.md')));
    const missing = pages.filter((p) => p.startsWith('docs/') || p === 'CONTRIBUTING.md').filter((p) => !linked.has(p));
    assert.deepEqual(missing, []);
  });
});
