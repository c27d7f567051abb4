/**
 * What rooms re-write to Redis after Redis lost its data (a restart without
 * persistence): keys they own beside their listing, such as the queue's
 * "user is queued" markers. A room registers in onCreate and unregisters in
 * onDispose; the Redis data-loss watch runs every registered task.
 */
type Task = () => Promise<unknown>;

const tasks = new Set<Task>();

/** Registers `task`; returns its unregistration. */
export function onRedisDataLoss(task: Task): () => void {
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Runs every registered task; resolves with how many failed (each is tried). */
export async function reannounceRoomKeys(): Promise<{ tasks: number; failed: number }> {
  const results = await Promise.allSettled([...tasks].map((task) => task()));
  return { tasks: results.length, failed: results.filter((r) => r.status === "rejected").length };
}
