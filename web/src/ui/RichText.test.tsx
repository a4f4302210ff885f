// @vitest-environment jsdom
import { cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { RichText } from './RichText';

afterEach(cleanup);

describe('RichText', () => {
  it('renders markup as text, never as HTML', () => {
    const { container } = render(<RichText text={'<img src=x onerror="alert(1)"><b>bold</b>'} />);
    expect(container.querySelector('img, b')).toBeNull();
    expect(container.textContent).toBe('<img src=x onerror="alert(1)"><b>bold</b>');
  });

  it('makes http(s) links clickable, opening safely in a new tab', () => {
    const { getByRole } = render(<RichText text="docs at https://example.com/a?b=1." />);
    const link = getByRole('link');
    expect(link.getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(link.getAttribute('target')).toBe('_blank');
  });

  it('leaves javascript: URLs as text', () => {
    const { container } = render(<RichText text="javascript:alert(1)" />);
    expect(container.querySelector('a')).toBeNull();
  });
});
