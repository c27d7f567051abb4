import assert from "node:assert/strict";
import { toOpenApiPath } from "../src/http/openapi";
import { testApp } from "./helpers/app";

/** Every route Express can answer, read from its router stack: [method, path]. */
function expressRoutes(app: any): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  for (const layer of app.router.stack) {
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) {
      if (method !== "_all") routes.push([method, layer.route.path]);
    }
  }
  return routes;
}

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with the error envelope and security schemes", async () => {
    const { fetch } = await testApp();
    const doc = await (await fetch("/docs/openapi.json")).json();
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.components.schemas.Error);
    assert.ok(doc.components.securitySchemes.bearer);
  });

  it("documents every route the server mounts (a missing route fails this test)", async () => {
    const { fetch, app } = await testApp();
    const doc = await (await fetch("/docs/openapi.json")).json();
    const routes = expressRoutes(app.api.app);
    assert.ok(routes.length >= 4, "the walk found the mounted routes");
    const missing = routes.filter(([method, path]) => !doc.paths[toOpenApiPath(path)]?.[method]);
    assert.deepEqual(missing, [], `routes missing from /docs/openapi.json: ${JSON.stringify(missing)}`);
  });

  it("the route walk would catch a route mounted around the helper", () => {
    const fake = { router: { stack: [{ route: { path: "/api/secret/:id", methods: { get: true } } }] } };
    assert.deepEqual(expressRoutes(fake), [["get", "/api/secret/:id"]]);
  });

  it("serves Swagger UI at /docs", async () => {
    const { fetch } = await testApp();
    const res = await fetch("/docs/");
    assert.equal(res.status, 200);
    assert.match(await res.text(), /swagger-ui/i);
    const init = await fetch("/docs/swagger-ui-init.js");
    assert.match(await init.text(), /\/docs\/openapi.json/);
  });
});
