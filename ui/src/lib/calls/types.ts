/** Past calls as GET /api/calls and /api/calls/<id> answer (the types are in common/protocol). */
export type { CallParticipant, CallSummary, Percentiles, QualityPoint } from '@switchboard/protocol';

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
