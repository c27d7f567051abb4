import http from "node:http";
import { listenOnLoopback } from "./listen";

/** The AI moderation provider's intake, as the server sees it: records call-start announcements. */
export interface FakeHive {
  url: string;
  announcements: Array<{ body: any; authorization?: string }>;
  /** "ok" answers 202; "fail" answers 500; "hang" never answers (the client's timeout must cut it). */
  mode: "ok" | "fail" | "hang";
  close(): Promise<void>;
}

export async function startFakeHive(): Promise<FakeHive> {
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      fake.announcements.push({
        body: JSON.parse(Buffer.concat(chunks).toString() || "null"),
        authorization: req.headers.authorization,
      });
      if (fake.mode === "hang") return void hanging.add(res);
      res.writeHead(fake.mode === "ok" ? 202 : 500).end();
    });
  });
  const { url, close } = await listenOnLoopback(server);
  const fake: FakeHive = {
    url,
    announcements: [],
    mode: "ok",
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await close();
    },
  };
  return fake;
}
