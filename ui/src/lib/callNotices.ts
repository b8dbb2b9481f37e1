/** The words for what the call client reports as data: host notices and a lost connection. */
import { MEDIA_KIND_NAMES } from '@switchboard/protocol';
import type { CallNotice, CallSnapshot } from './CallClient';

export function noticeText(notice: CallNotice): string {
  switch (notice.type) {
    case 'mutedByHost':
      return notice.canUnmute
        ? `A host muted your ${MEDIA_KIND_NAMES[notice.kind]}.`
        : `A host muted your ${MEDIA_KIND_NAMES[notice.kind]}; you can turn it back on when a host allows it.`;
    case 'unmuteRequested':
      return notice.alreadyOn
        ? `A host asked you to turn your ${MEDIA_KIND_NAMES[notice.kind]} on; it is on.`
        : `A host asks you to turn your ${MEDIA_KIND_NAMES[notice.kind]} back on.`;
    case 'unmuteAllowed':
      return `A host allowed you to turn your ${MEDIA_KIND_NAMES[notice.kind]} back on.`;
    case 'unmuteLocked':
      return `A host holds your ${MEDIA_KIND_NAMES[notice.kind]} off; ask a host to let you turn it back on.`;
    case 'screenShareStopped':
      return `Your screen share stopped: ${notice.reason}`;
  }
}

/** What the call says while its connection is down (or after it gave up); nothing otherwise. */
export function connectionText(snapshot: Pick<CallSnapshot, 'status' | 'lostReason'>): string | undefined {
  if (snapshot.status === 'reconnecting') {
    return `Connection lost (${snapshot.lostReason ?? 'unknown'}). Reconnecting…`;
  }
  if (snapshot.status === 'failed') {
    return `Could not reconnect (${snapshot.lostReason ?? 'unknown'}).`;
  }
  return undefined;
}
