import { EventEmitter } from "node:events";
import { PGlite, types } from "@electric-sql/pglite";

/**
 * A `pg`-shaped driver over one embedded PGlite database, for TypeORM's
 * postgres dialect (`{ type: "postgres", driver }`).
 *
 * Why our own and not `typeorm-pglite`: PGlite is a single session, and that
 * package hands the same session to every TypeORM query runner at once, so two
 * concurrent transactions interleave their statements (one's BEGIN, the
 * other's COMMIT) and `FOR UPDATE` protects nothing. Here `connect()` leases the
 * session exclusively until the query runner releases it, which gives
 * serialisable transactions, the same answers as PostgreSQL for our workloads,
 * and a clear error instead of a hang when code waits for a second connection
 * while holding the first.
 */
export interface PgliteDriverOptions {
  /** A directory, or "memory://" for a throwaway database. */
  dataDir: string;
  /** How long a caller may wait for the session before failing loudly. */
  leaseTimeoutMs?: number;
}

type Callback<T> = (err: Error | null, value?: T) => void;
interface QueryResult {
  rows: unknown[];
  rowCount: number;
  command?: string;
  fields: unknown[];
}

export function createPgliteDriver(options: PgliteDriverOptions) {
  const leaseTimeoutMs = options.leaseTimeoutMs ?? 15_000;
  let db: Promise<PGlite> | undefined;
  let leased = false;
  const waiting: Array<() => void> = [];

  const open = () =>
    (db ??= PGlite.create({
      dataDir: options.dataDir,
      // Booleans as SQL literals, as node-postgres sends them (PGlite's default text form breaks some casts).
      serializers: { [types.BOOL]: (v: unknown) => (v === true ? "TRUE" : v === false ? "FALSE" : String(v)) },
    }));

  function acquire(): Promise<void> {
    if (!leased) {
      leased = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(grant), 1);
        reject(
          new Error(`embedded database busy for ${leaseTimeoutMs} ms (a connection held while waiting for another?)`),
        );
      }, leaseTimeoutMs);
      waiting.push(grant);
    });
  }

  function releaseLease() {
    const next = waiting.shift();
    if (next) next();
    else leased = false;
  }

  async function run(sql: string, params?: unknown[]): Promise<QueryResult> {
    const pg = await open();
    if (params && params.length > 0) {
      const r = await pg.query(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length, command: commandOf(sql), fields: r.fields };
    }
    // Multi-statement strings (migrations) go through exec; TypeORM wants the last result.
    const results = await pg.exec(sql);
    const last = results[results.length - 1];
    return {
      rows: last?.rows ?? [],
      rowCount: (last as { rowCount?: number })?.rowCount ?? last?.rows.length ?? 0,
      command: commandOf(sql),
      fields: last?.fields ?? [],
    };
  }

  class Client extends EventEmitter {
    query(sql: string, params?: unknown[] | Callback<QueryResult>, cb?: Callback<QueryResult>) {
      const callback = typeof params === "function" ? params : cb;
      const values = typeof params === "function" ? undefined : params;
      const result = run(sql, values);
      if (callback)
        result.then(
          (r) => callback(null, r),
          (e: Error) => callback(e),
        );
      return result;
    }
  }

  class Pool extends EventEmitter {
    private readonly client = new Client();

    connect(cb: (err: Error | null, client?: Client, release?: (err?: Error) => void) => void) {
      acquire()
        .then(open)
        .then(
          () => {
            let released = false;
            cb(null, this.client, () => {
              if (released) return;
              released = true;
              releaseLease();
            });
          },
          (err: Error) => cb(err),
        );
    }

    async query(sql: string, params?: unknown[]) {
      await acquire();
      try {
        return await run(sql, params);
      } finally {
        releaseLease();
      }
    }

    end(cb?: (err?: Error) => void) {
      const closing = db ? db.then((pg) => pg.close()) : Promise.resolve();
      db = undefined;
      closing.then(
        () => cb?.(),
        (e: Error) => cb?.(e),
      );
    }
  }

  return { Pool };
}

function commandOf(sql: string): string {
  return /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "";
}
