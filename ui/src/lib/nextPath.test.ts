import { describe, expect, it } from 'vitest';
import { nextPath } from './nextPath';

const ORIGIN = 'https://meet.example.test';

describe('nextPath (where sign-in goes next)', () => {
  it('keeps paths of this site with their query and fragment', () => {
    expect(nextPath('/logs/')).toBe('/logs/');
    expect(nextPath('/r/abc?x=1#chat')).toBe('/r/abc?x=1#chat');
    expect(nextPath('/a/../logs/')).toBe('/logs/');
  });

  it('sends everything that would leave the site home', () => {
    for (const evil of [
      '//evil.com',
      '/\\evil.com',
      '/\\/evil.com',
      '\\\\evil.com',
      '/\t/evil.com',
      '/\n/evil.com',
      '/\r\n/evil.com',
      ' //evil.com',
      'https://evil.com',
      'javascript:alert(1)',
      'evil.com',
      '',
      null,
    ]) {
      expect(nextPath(evil), JSON.stringify(evil)).toBe('/');
    }
  });

  it('reads a decoded query value the way the page gets it from the URL', () => {
    // `?next=/%09/evil.com` reaches the page as "/\t/evil.com".
    const fromQuery = new URL(`${ORIGIN}/signin?next=/%09/evil.com`).searchParams.get('next');
    expect(nextPath(fromQuery)).toBe('/');
    const backslash = new URL(`${ORIGIN}/signin?next=/%5Cevil.com`).searchParams.get('next');
    expect(nextPath(backslash)).toBe('/');
  });
});
