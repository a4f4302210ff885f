import type { Presence } from '../core/types';

export function PresenceDot({ presence }: { presence: Presence }) {
  return (
    <span className={`presence-dot presence-dot--${presence}`} data-presence={presence}>
      <span className="visually-hidden">{presence}</span>
    </span>
  );
}
