// What the scale bench's database weighs, read from the SQLite file workerd keeps for the local
// D1. D1 refuses `dbstat` and `PRAGMA page_count` (not authorized), so the file is opened
// read-only with Node's own SQLite (node:sqlite, which has dbstat) beside the running workerd:
// a WAL reader, it sees what workerd has committed and writes nothing.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The D1 database file under Miniflare's persistence directory that holds `workspaceId` (files
 * are named by a hash of their binding's id, so each is asked).
 */
export async function databaseFile(stateDir, workspaceId) {
  const { DatabaseSync } = await import("node:sqlite");
  const dir = join(stateDir, "d1", "miniflare-D1DatabaseObject");
  const files = readdirSync(dir)
    .filter((name) => /^[0-9a-f]{64}\.sqlite$/.test(name))
    .map((name) => join(dir, name));
  const holds = (file) => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return (
        db.prepare("SELECT 1 AS found FROM workspaces WHERE id = ?").get(workspaceId) !== undefined
      );
    } finally {
      db.close();
    }
  };
  const file = files.find(holds);
  if (!file) throw new Error(`no D1 database in ${dir} holds workspace ${workspaceId}`);
  return file;
}

/**
 * Per table: rows, and the bytes of its b-tree and of its indexes' (dbstat's pgsize: whole
 * pages, free space in them included, as the file holds them); the database's pages in all
 * (page_count × page_size), and the file and its write-ahead log on disk.
 */
export async function databaseBytes(file, tables) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const owner = new Map(
      db
        .prepare("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")
        .all()
        .map((row) => [row.name, row.tbl_name]),
    );
    const byObject = db
      .prepare(
        "SELECT name, sum(pgsize) AS bytes, sum(payload) AS payload FROM dbstat GROUP BY name",
      )
      .all();
    const result = {};
    for (const table of tables) {
      const objects = byObject.filter((row) => owner.get(row.name) === table);
      const own = objects.find((row) => row.name === table);
      const indexes = objects.filter((row) => row.name !== table);
      result[table] = {
        rows: db.prepare(`SELECT count(*) AS n FROM ${table}`).get().n,
        tableBytes: own?.bytes ?? 0,
        payloadBytes: own?.payload ?? 0,
        indexBytes: indexes.reduce((sum, row) => sum + row.bytes, 0),
        indexes: Object.fromEntries(indexes.map((row) => [row.name, row.bytes])),
      };
    }
    const pageSize = db.prepare("PRAGMA page_size").get().page_size;
    const pageCount = db.prepare("PRAGMA page_count").get().page_count;
    const onDisk = (path) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    return {
      tables: result,
      databaseBytes: pageSize * pageCount,
      fileBytes: onDisk(file),
      walBytes: onDisk(`${file}-wal`),
    };
  } finally {
    db.close();
  }
}
