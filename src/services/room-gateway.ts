import { AppError } from "./errors";
import type { MessageParams } from "./i18n-messages";

/** Creates rooms and calls methods on them wherever they run (the matchmaker, in production). */
export interface RoomGateway {
  create(roomName: string, options: Record<string, unknown>): Promise<string>;
  call<T>(roomId: string, method: string, args?: unknown[]): Promise<T>;
}

/** What a room method answers across processes: a value or an error to re-raise. */
export type RoomAnswer<T> =
  { ok: true; value: T } | { ok: false; status: number; code: string; message: string; params?: MessageParams };

/** The value of a room's answer, or its error raised again on this side. */
export function unwrapAnswer<T>(answer: RoomAnswer<T>): T {
  if (!answer.ok) throw new AppError(answer.status, answer.code, answer.message).withParams(answer.params ?? {});
  return answer.value;
}
