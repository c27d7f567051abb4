import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { testApp } from "./helpers/app";

/**
 * The dashboards and alert rules in deploy/ query metric names; this keeps them from drifting
 * away from what the server exports. (promtool checks the rules' syntax and behaviour in CI.)
 */
const ROOT = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** Names Prometheus itself provides, not the server. */
const NOT_FROM_THE_SERVER = new Map([["up", "written by Prometheus for every scrape target"]]);

/** Metric names a PromQL expression selects: identifiers followed by a label matcher `{…}`. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...withoutStrings.matchAll(/([a-zA-Z_:][\w:]*)\{/g)].map((m) => m[1]);
}

interface AlertRule {
  name: string;
  text: string;
  expr: string;
}

/** The rules of alerts.yml, each as its own text (the file is a plain list of `- alert:` entries). */
function alertRules(): AlertRule[] {
  return read("deploy/prometheus/alerts.yml")
    .split(/^\s*- alert: /m)
    .slice(1)
    .map((chunk) => {
      const name = chunk.split("\n")[0].trim();
      const expr = /expr: ([\s\S]*?)\n\s*for: /.exec(chunk)?.[1] ?? "";
      return { name, text: chunk, expr };
    });
}

function dashboards(): Array<{ file: string; board: any }> {
  const dir = "deploy/grafana/dashboards";
  return fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith(".json"))
    .map((f) => ({ file: f, board: JSON.parse(read(`${dir}/${f}`)) }));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const headings = markdown.split("\n").filter((l) => /^#{1,6} /.test(l));
  return new Set(
    headings.map((h) =>
      h
        .replace(/^#+ /, "")
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, "")
        .replace(/ /g, "-"),
    ),
  );
}

describe("observability config in deploy/", () => {
  it("every metric the dashboards and alerts query is in a running server's /metrics", async () => {
    const { fetch } = await testApp();
    // Routes the queries select by label: one unsigned request each, so the label is in the output.
    const routes = new Set<string>();
    for (const file of [
      "deploy/prometheus/alerts.yml",
      ...dashboards().map((d) => `deploy/grafana/dashboards/${d.file}`),
    ])
      for (const [, route] of read(file).matchAll(/route=\\?"([^"\\]+)\\?"/g)) routes.add(route);
    assert.ok(routes.has("/api/webhooks/stripe"), [...routes].join());
    for (const route of routes)
      await fetch(route, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    const text = await (await fetch("/metrics")).text();
    for (const route of routes)
      assert.match(text, new RegExp(`route="${route}"`), `requests to ${route} are labelled so`);
    // Registered metrics are listed (with their TYPE) before their first sample, so names count, not samples.
    const exported = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name);
      if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(name + suffix);
    }

    const used = new Map<string, string>();
    for (const rule of alertRules()) for (const name of metricNames(rule.expr)) used.set(name, `alert ${rule.name}`);
    for (const { file, board } of dashboards())
      for (const panel of board.panels)
        for (const target of panel.targets ?? [])
          for (const name of metricNames(target.expr)) used.set(name, `${file}: ${panel.title}`);
    assert.ok(used.size >= 40, `found ${used.size} metric names: the extraction works`);

    const missing = [...used].filter(([name]) => !exported.has(name) && !NOT_FROM_THE_SERVER.has(name));
    assert.deepEqual(missing, [], "metrics queried in deploy/ that the server does not export");
  });

  it("every alert has a severity, a for, a summary, a description and a runbook section", () => {
    const rules = alertRules();
    assert.ok(rules.length >= 15, `${rules.length} alerts`);
    const runbook = anchors(read("docs/runbook.md"));
    const tests = read("deploy/prometheus/alerts.test.yml");
    for (const rule of rules) {
      assert.match(rule.text, /\n\s+for: \d+[smh]\n/, `${rule.name}: for`);
      assert.match(rule.text, /\n\s+severity: (critical|warning)\n/, `${rule.name}: severity`);
      assert.match(rule.text, /\n\s+summary: /, `${rule.name}: summary`);
      assert.match(rule.text, /\n\s+description: /, `${rule.name}: description`);
      const url = /\n\s+runbook_url: docs\/runbook\.md#(\S+)\n/.exec(rule.text);
      assert.ok(url, `${rule.name}: runbook_url docs/runbook.md#…`);
      assert.ok(runbook.has(url[1]), `${rule.name}: docs/runbook.md has a section #${url[1]}`);
      assert.match(
        tests,
        new RegExp(`exp_labels:\\s*\\{\\s*alertname: ${rule.name},`),
        `${rule.name}: fired in a test`,
      );
    }
  });

  it("dashboards are Grafana JSON on the ${DS_PROMETHEUS} data source", () => {
    const boards = dashboards();
    assert.ok(boards.length >= 3);
    const uids = new Set<string>();
    for (const { file, board } of boards) {
      assert.equal(typeof board.schemaVersion, "number", `${file}: schemaVersion`);
      assert.ok(board.uid && !uids.has(board.uid), `${file}: a unique uid`);
      uids.add(board.uid);
      assert.ok(
        board.templating.list.some((v: any) => v.name === "DS_PROMETHEUS" && v.type === "datasource"),
        `${file}: the DS_PROMETHEUS variable`,
      );
      const ids = new Set<number>();
      for (const panel of board.panels) {
        assert.ok(!ids.has(panel.id), `${file}: panel ids unique (${panel.id})`);
        ids.add(panel.id);
        assert.ok(panel.gridPos && panel.type && panel.title, `${file}: panel ${panel.id} has a type, title, place`);
        if (panel.type === "row") continue;
        assert.equal(panel.datasource?.uid, "${DS_PROMETHEUS}", `${file}: ${panel.title}`);
        assert.ok(panel.targets.length > 0, `${file}: ${panel.title} queries something`);
      }
    }
  });
});
