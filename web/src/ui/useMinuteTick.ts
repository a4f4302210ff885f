import { useEffect, useReducer } from 'react';

/** Re-renders every minute while on, so "last seen 3 min ago" stays true. */
export function useMinuteTick(on: boolean): void {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!on) return;
    const timer = window.setInterval(tick, 60_000);
    return () => window.clearInterval(timer);
  }, [on]);
}
