import { useState } from 'react';
import { initials } from '../core/format';
import { safeHref } from '../core/linkify';
import type { Presence } from '../core/types';
import { PresenceDot } from './PresenceDot';

// A stable hue per id, so a person keeps their colour everywhere.
function hue(id: string): number {
  let hash = 0;
  for (const character of id) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return hash % 360;
}

export function Avatar({
  id,
  name,
  size = 40,
  presence,
  imageUrl,
}: {
  id: string;
  name: string;
  size?: number;
  presence?: Presence;
  /** The person's avatarUrl; initials show when there is none or it does not load. */
  imageUrl?: string | null;
}) {
  const [broken, setBroken] = useState(false);
  const src = imageUrl && !broken ? safeHref(imageUrl) : null;
  return (
    <span
      className="avatar"
      style={{ width: size, height: size, fontSize: size * 0.4, ['--avatar-hue' as string]: hue(id) }}
    >
      {src ? (
        <img className="avatar__image" src={src} alt="" referrerPolicy="no-referrer" onError={() => setBroken(true)} />
      ) : (
        <span aria-hidden="true">{initials(name)}</span>
      )}
      {presence && <PresenceDot presence={presence} />}
    </span>
  );
}
