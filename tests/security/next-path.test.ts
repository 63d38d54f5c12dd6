// The login page's `?next=`: only paths on our own origin are followed; every way of writing another origin
// (protocol-relative, backslash, scheme, whitespace the URL parser drops) falls back to the home page.
import { describe, expect, it } from 'vitest';
import { nextPath } from '../../app/src/lib/navigation/next-path.ts';

const origin = 'https://class.example.org';

describe('login next path', () => {
  it('keeps paths on this site, with their query and hash', () => {
    expect(nextPath('/courses/42', origin)).toBe('/courses/42');
    expect(nextPath('/classes/7?tab=chat#panel', origin)).toBe('/classes/7?tab=chat#panel');
    expect(nextPath('/%2F%2Fevil.example', origin)).toBe('/%2F%2Fevil.example');
  });

  it('sends everything that leaves the site home', () => {
    for (const raw of [
      '//evil.example/phish',
      '/\\evil.example',
      '/\\/evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      'https://evil.example',
      'javascript:alert(1)',
      ' //evil.example',
      '',
      null,
      undefined,
    ]) {
      expect(nextPath(raw, origin), JSON.stringify(raw)).toBe('/');
    }
  });
});
