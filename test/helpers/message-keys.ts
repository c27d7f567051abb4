import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * A static scan of the server's sources for the message keys the code can need:
 * `error.<CODE>` for every error code it can send, and every literal key passed to
 * `text(lang, "key")`. Syntactic (no type checker), so it is fast and predictable:
 * - `new AppError(status, "CODE")`, `badRequest("CODE")`, `conflict("CODE")`,
 *   `unauthorized(msg, "CODE")` / `forbidden` / `notFound` (their default code when absent),
 *   HTTP `sendError(req, res, status, "CODE")`, room `sendError(client, "CODE")`, `errorBody(id, "CODE")`;
 * - message keys: `text(lang, "key")`, `clientText(client, "key")`, `translate("key")`;
 * - `[status, "CODE", message]` tuples (PARSER_ERRORS), `{ code: "CODE" }` properties
 *   (room answers, `error {code}` broadcasts), `codes: { expired: "CODE" }` tables (jwt).
 * A code argument that is not a literal is reported as dynamic, with where it is: the test
 * lists each such site with the codes it carries, so a new one cannot slip by unlisted.
 */
export interface KeyScan {
  codes: Map<string, string[]>;
  keys: Map<string, string[]>;
  dynamic: Array<{ site: string; expression: string }>;
}

const SNAKE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const KEY = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/;
/** Callee name → position of the code argument, and the code used when the argument is absent. */
const CODE_ARGUMENT: Record<string, { index: number; fallback?: string }> = {
  AppError: { index: 1 },
  badRequest: { index: 0 },
  conflict: { index: 0 },
  unauthorized: { index: 1, fallback: "UNAUTHORIZED" },
  forbidden: { index: 1, fallback: "FORBIDDEN" },
  notFound: { index: 1, fallback: "NOT_FOUND" },
  gone: { index: 0 },
  errorBody: { index: 1 },
  // WhackRoom's reply to a refused whack (counts the outcome, then sendError).
  refuse: { index: 1 },
};

/** Callee name → position of the message key: `i18n.text(lang, key)`, `clientText(client, key)`, `req.translate(key)`. */
const KEY_ARGUMENT: Record<string, number> = { text: 1, clientText: 1, translate: 0 };

export function scanSources(root: string): KeyScan {
  const scan: KeyScan = { codes: new Map(), keys: new Map(), dynamic: [] };
  for (const file of tsFiles(root)) {
    scanSource(fs.readFileSync(file, "utf8"), path.relative(path.dirname(root), file), scan);
  }
  return scan;
}

export function scanSource(text: string, fileName: string, scan: KeyScan): KeyScan {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const where = (node: ts.Node) => `${fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const add = (map: Map<string, string[]>, name: string, node: ts.Node) => {
    map.set(name, [...(map.get(name) ?? []), where(node)]);
  };
  const codeAt = (node: ts.Expression | undefined, at: ts.Node, fallback?: string) => {
    if (!node) {
      if (fallback) add(scan.codes, fallback, at);
      return;
    }
    if (ts.isConditionalExpression(node)) {
      codeAt(node.whenTrue, at);
      codeAt(node.whenFalse, at);
    } else if (ts.isStringLiteralLike(node)) {
      if (SNAKE.test(node.text)) add(scan.codes, node.text, node);
    } else if (!ts.isSpreadElement(node)) {
      scan.dynamic.push({ site: fileName, expression: node.getText(source) });
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const callee = calleeName(node.expression);
      const args = [...(node.arguments ?? [])];
      const spec = callee && CODE_ARGUMENT[callee];
      if (spec) codeAt(args[spec.index], node, spec.fallback);
      // HTTP: sendError(req, res, status, code, …); rooms: sendError(client, code, message, params?).
      const http = args.length >= 5 || (args[2] !== undefined && ts.isNumericLiteral(args[2]));
      if (callee === "sendError" && !args.some(ts.isSpreadElement)) codeAt(args[http ? 3 : 1], node);
      const key = callee !== undefined && KEY_ARGUMENT[callee] !== undefined ? args[KEY_ARGUMENT[callee]] : undefined;
      if (key && ts.isStringLiteralLike(key) && KEY.test(key.text)) add(scan.keys, key.text, key);
      else if (key && !ts.isStringLiteralLike(key))
        scan.dynamic.push({ site: fileName, expression: key.getText(source) });
    }
    if (ts.isArrayLiteralExpression(node)) {
      const [status, code] = node.elements;
      if (status && code && ts.isNumericLiteral(status) && ts.isStringLiteralLike(code) && SNAKE.test(code.text)) {
        add(scan.codes, code.text, code);
      }
    }
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
      if (node.name.text === "code" && ts.isStringLiteralLike(node.initializer) && SNAKE.test(node.initializer.text)) {
        add(scan.codes, node.initializer.text, node.initializer);
      }
      if (node.name.text === "codes" && ts.isObjectLiteralExpression(node.initializer)) {
        for (const p of node.initializer.properties) {
          if (ts.isPropertyAssignment(p) && ts.isStringLiteralLike(p.initializer)) codeAt(p.initializer, p);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return scan;
}

export const emptyScan = (): KeyScan => ({ codes: new Map(), keys: new Map(), dynamic: [] });

function calleeName(expression: ts.Expression): string | undefined {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  return undefined;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}
