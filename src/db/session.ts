import type { Bindings } from "../env";

/**
 * The request and response header that carries a D1 bookmark: the database's position a
 * session has read or written up to. A client that sends back the last one it saw reads at
 * least that fresh (read-your-writes), on whichever copy of the database answers.
 */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/** Longer than any bookmark D1 writes (59 characters today), short enough to log or store. */
export const MAX_BOOKMARK_LENGTH = 128;

/**
 * D1 writes bookmarks as lower-case hex groups joined by dashes (8-8-8-32 digits, locally and
 * in D1's documentation). The shape is checked, not the widths, so a longer group D1 may write
 * later still passes. Anything else is refused here rather than handed to D1: local D1 keeps
 * any string as the session's bookmark and answers it back (one with a line break throws).
 */
export const BOOKMARK = /^[0-9a-f]+(?:-[0-9a-f]+)*$/;

export const isBookmark = (value: string) =>
  value.length <= MAX_BOOKMARK_LENGTH && BOOKMARK.test(value);

/**
 * Where a session's first query goes: `first-primary` for an operation that writes (its checks
 * read what it is about to change), `first-unconstrained` for a read (any replica), or a
 * client's bookmark (any copy at least that fresh).
 */
export type SessionStart = "first-primary" | "first-unconstrained" | D1SessionBookmark;

/**
 * `env` for one request or call: the same bindings, with `DB` running every statement in one
 * D1 session started at `start`. A copy, never a change to `env`, which every request in the
 * isolate shares.
 *
 * `DB` stays a whole D1Database, so the code that queries it is unchanged: `prepare` and
 * `batch` go through the session (sequentially consistent, and its bookmark advances);
 * `exec`, `dump` and `withSession`, which a session does not have, are the binding's own and
 * run outside it (no request path uses them).
 */
export function inSession(
  env: Bindings,
  start: SessionStart,
): { env: Bindings; session: D1DatabaseSession } {
  const binding = env.DB;
  const session = binding.withSession(start);
  const DB: D1Database = {
    prepare: (query) => session.prepare(query),
    batch: <T = unknown>(statements: D1PreparedStatement[]) => session.batch<T>(statements),
    exec: (query) => binding.exec(query),
    dump: () => binding.dump(),
    withSession: (constraintOrBookmark) => binding.withSession(constraintOrBookmark),
  };
  return { env: { ...env, DB }, session };
}

/**
 * `inSession`, with the session started only by the first statement: a request answered from
 * memory (a remembered key) starts none. `bookmark()` is the session's latest, or null when it
 * never started; an unused session started at a constraint has none either.
 */
export function inLazySession(
  env: Bindings,
  start: "first-primary" | "first-unconstrained",
): { env: Bindings; bookmark(): string | null } {
  const binding = env.DB;
  let session: D1DatabaseSession | undefined;
  const started = () => {
    session ??= binding.withSession(start);
    return session;
  };
  const DB: D1Database = {
    prepare: (query) => started().prepare(query),
    batch: <T = unknown>(statements: D1PreparedStatement[]) => started().batch<T>(statements),
    exec: (query) => binding.exec(query),
    dump: () => binding.dump(),
    withSession: (constraintOrBookmark) => binding.withSession(constraintOrBookmark),
  };
  return { env: { ...env, DB }, bookmark: () => session?.getBookmark() ?? null };
}
