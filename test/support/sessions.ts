/**
 * A wrapped D1 binding (a Proxy over env.DB that counts, delays or breaks `prepare` and
 * `batch`) that the app can open its per-request session on (src/db/session.ts): each session
 * is the wrapper's own `prepare` and `batch`, so every statement still goes through it; it has
 * no bookmark. Without this, `withSession` would reach the real binding and the session's
 * statements would bypass the wrapper.
 */
export function sessionsThrough(wrapped: D1Database): D1Database {
  const session: D1DatabaseSession = {
    prepare: (query: string) => wrapped.prepare(query),
    batch: <T = unknown>(statements: D1PreparedStatement[]) => wrapped.batch<T>(statements),
    getBookmark: () => null,
  };
  return new Proxy(wrapped, {
    get(target, property) {
      if (property === "withSession") return () => session;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
