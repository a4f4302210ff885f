/**
 * Splits message text into plain runs and links. Only http and https URLs become links;
 * everything is rendered as text by the caller, never as HTML.
 */
export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/giu;
// Punctuation that usually ends the sentence rather than the URL.
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']', '}']);

export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index;
    const candidate = trimTrailing(match[0]);
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

/** Drops sentence punctuation after a URL, but keeps a ")" that closes one opened inside it. */
function trimTrailing(candidate: string): string {
  let end = candidate.length;
  while (end > 0 && TRAILING.has(candidate[end - 1]!)) {
    const kept = candidate.slice(0, end);
    if (candidate[end - 1] === ')' && count(kept, '(') >= count(kept, ')')) break;
    end -= 1;
  }
  return candidate.slice(0, end);
}

function count(text: string, character: string): number {
  return text.split(character).length - 1;
}
