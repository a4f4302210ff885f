import { useMemo } from 'react';
import { linkify } from '../core/linkify';

/** Message text as text: http(s) links are clickable, nothing is ever parsed as HTML. */
export function RichText({ text }: { text: string }) {
  const parts = useMemo(() => linkify(text), [text]);
  return (
    <>
      {parts.map((part, index) =>
        part.kind === 'link' ? (
          <a key={index} href={part.href} target="_blank" rel="noopener noreferrer">
            {part.text}
          </a>
        ) : (
          <span key={index}>{part.text}</span>
        ),
      )}
    </>
  );
}
