/**
 * Splits message text into plain runs and links. Only http and https URLs become links;
 * everything is rendered as text by the caller, never as HTML.
 */
export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/giu;
// Punctuation that usually ends the sentence rather than the URL.
const TRAILING = /[.,;:!?'")\]}>]+$/u;

export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index;
    let candidate = match[0];
    const trailing = TRAILING.exec(candidate);
    // Keep a closing parenthesis that closes one opened inside the URL (Wikipedia links).
    if (trailing) {
      let cut = trailing[0];
      if (cut.startsWith(')') && count(candidate, '(') > count(candidate, ')') - 1) cut = cut.slice(1);
      candidate = candidate.slice(0, candidate.length - cut.length);
    }
    const href = safeHref(candidate);
    if (!href) continue;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: candidate, href });
    last = start + candidate.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** The URL normalized, when it parses and is http or https; null otherwise. */
export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function count(text: string, character: string): number {
  return text.split(character).length - 1;
}
