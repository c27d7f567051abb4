/** Who joined or left, as `userJoined` / `userLeft` list them. */
export interface ViewerRef {
  userId: string;
  displayName: string;
}

/** Users named per message; `count` carries the rest. */
export const ARRIVALS_LISTED = 20;

/**
 * Joins and leaves gathered over a short window and announced once per window:
 * `userJoined {users, count}` and `userLeft {users, count}`, `users` being the
 * first ARRIVALS_LISTED of `count`. A crowd of N arriving costs a few
 * broadcasts per second, not N broadcasts to up to N viewers (N² sends). A
 * connection that joins and leaves inside one window is announced in neither.
 */
export class ViewerArrivals {
  private joined = new Map<string, ViewerRef>();
  private left = new Map<string, ViewerRef>();

  /** `broadcast` sends to everyone in the room (the receivers may be listed themselves). */
  constructor(private readonly broadcast: (type: string, message: unknown) => void) {}

  join(sessionId: string, user: ViewerRef): void {
    this.joined.set(sessionId, user);
  }

  leave(sessionId: string, user: ViewerRef): void {
    if (!this.joined.delete(sessionId)) this.left.set(sessionId, user);
  }

  get pending(): boolean {
    return this.joined.size > 0 || this.left.size > 0;
  }

  /** Announces the window's joins, then its leaves. */
  flush(): void {
    const { joined, left } = this;
    this.joined = new Map();
    this.left = new Map();
    if (joined.size) this.broadcast("userJoined", announcement(joined));
    if (left.size) this.broadcast("userLeft", announcement(left));
  }
}

function announcement(users: Map<string, ViewerRef>) {
  const listed: ViewerRef[] = [];
  for (const { userId, displayName } of users.values()) {
    if (listed.length === ARRIVALS_LISTED) break;
    listed.push({ userId, displayName });
  }
  return { users: listed, count: users.size };
}
