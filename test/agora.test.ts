import assert from "node:assert/strict";
// The package's own parser and signature check: what Agora's servers run on a token.
import { AccessToken2, kRtcServiceType, kRtmServiceType, ServiceRtc, ServiceRtm } from "agora-token/src/AccessToken2";
import { loadConfig } from "../src/config";
import { AgoraTokens } from "../src/services/agora";
import { AGORA, type TestApp, testApp } from "./helpers/app";
import { chatter, leaveAll, liveCall, waitFor } from "./helpers/video";

/** Parses a token with agora-token's AccessToken2 and checks its signature against `certificate`. */
function decode(token: string, certificate = AGORA.certificate) {
  const parsed = new AccessToken2("", "", 0, 0);
  assert.equal(parsed.from_string(token), true, "a token agora-token can parse");
  return { parsed, valid: parsed.verifySignature(certificate) as boolean };
}

describe("Agora tokens for calls (optional provider)", () => {
  it("builds a publisher RTC token for the seat's uid and an RTM token for the user, both signed and short-lived", () => {
    const tokens = new AgoraTokens(AGORA.appId, AGORA.certificate, 105);
    const before = Date.now();
    const creds = tokens.forCall("c0ffee00-0000-4000-8000-000000000001", "user-b", "b");
    assert.equal(creds.appId, AGORA.appId);
    assert.equal(creds.channel, "call-c0ffee00-0000-4000-8000-000000000001");
    assert.equal(creds.uid, 2);
    assert.ok(creds.expiresAt >= before + 105_000 && creds.expiresAt <= Date.now() + 105_000);

    const rtc = decode(creds.rtcToken);
    assert.equal(rtc.valid, true);
    assert.equal(String(rtc.parsed.appId), AGORA.appId);
    assert.equal(rtc.parsed.expire, 105);
    const service = rtc.parsed.getServices(kRtcServiceType)[0];
    assert.equal(String(service.__channel_name), creds.channel);
    assert.equal(String(service.__uid), "2");
    // Publisher: join plus publishing audio, video and data, each for the call's lifetime.
    for (const privilege of [
      ServiceRtc.kPrivilegeJoinChannel,
      ServiceRtc.kPrivilegePublishAudioStream,
      ServiceRtc.kPrivilegePublishVideoStream,
      ServiceRtc.kPrivilegePublishDataStream,
    ]) {
      assert.equal(service.__privileges[privilege], 105, `privilege ${privilege}`);
    }

    const rtm = decode(creds.rtmToken);
    assert.equal(rtm.valid, true);
    const rtmService = rtm.parsed.getServices(kRtmServiceType)[0];
    assert.equal(String(rtmService.__user_id), "user-b");
    assert.equal(rtmService.__privileges[ServiceRtm.kPrivilegeLogin], 105);

    // Signed with the certificate: another certificate does not verify it.
    assert.equal(decode(creds.rtcToken, "00000000000000000000000000000000").valid, false);
    assert.equal(tokens.forCall("c0ffee00-0000-4000-8000-000000000001", "user-a", "a").uid, 1);
  });

  it("is configured by both settings or neither, each 32 hex digits", () => {
    const env = { NODE_ENV: "test", DATA_DIR: "/tmp/arcadia-agora-config" };
    assert.throws(() => loadConfig({ ...env, AGORA_APP_ID: AGORA.appId }), /set both or neither/);
    assert.throws(() => loadConfig({ ...env, AGORA_APP_CERTIFICATE: AGORA.certificate }), /set both or neither/);
    assert.throws(
      () => loadConfig({ ...env, AGORA_APP_ID: "not-an-app-id", AGORA_APP_CERTIFICATE: AGORA.certificate }),
      /AGORA_APP_ID: must be 32 hexadecimal digits/,
    );
    const config = loadConfig({ ...env, AGORA_APP_ID: AGORA.appId, AGORA_APP_CERTIFICATE: AGORA.certificate });
    assert.equal(config.AGORA_APP_ID, AGORA.appId);
  });

  describe("in a live call", () => {
    let t: TestApp;
    before(async () => {
      t = await testApp();
    });

    it("session:start hands each peer its own Agora credentials for one shared channel, and Hive hears the channel", async () => {
      const a = await chatter(t, "Agnes");
      const b = await chatter(t, "Boris");
      const { callId, ra, rb, ma, mb, start, startB } = await liveCall(t, a, b);
      try {
        const { durationSec, choiceTimeoutSec } = t.app.services.calls.timings;
        const peers = [
          { agora: (start as any).agora, startAt: start.startAt, role: ma.role, userId: a.user.id },
          { agora: startB.agora, startAt: startB.startAt, role: mb.role, userId: b.user.id },
        ];
        for (const peer of peers) {
          assert.ok(peer.agora, "session:start carries agora when AGORA_APP_ID and AGORA_APP_CERTIFICATE are set");
          assert.equal(peer.agora.appId, AGORA.appId);
          assert.equal(peer.agora.channel, `call-${callId}`, "one channel for both peers");
          assert.equal(peer.agora.uid, peer.role === "offerer" ? 1 : 2, "uid 1 is user A, the offerer");
          const rtc = decode(peer.agora.rtcToken);
          assert.equal(rtc.valid, true);
          assert.equal(rtc.parsed.expire, durationSec + choiceTimeoutSec, "valid for the talk plus the choice window");
          assert.equal(String(rtc.parsed.getServices(kRtcServiceType)[0].__uid), String(peer.agora.uid));
          const rtm = decode(peer.agora.rtmToken);
          assert.equal(rtm.valid, true);
          assert.equal(String(rtm.parsed.getServices(kRtmServiceType)[0].__user_id), peer.userId);
          const expected = peer.startAt + (durationSec + choiceTimeoutSec) * 1000;
          assert.ok(Math.abs(peer.agora.expiresAt - expected) < 2000, "expiresAt: issue + talk + choice window");
        }

        await waitFor(() => t.hive.announcements.some((x) => x.body?.callId === callId), "hive announcement");
        const heard = t.hive.announcements.find((x) => x.body?.callId === callId)!;
        assert.equal(heard.body.channel, `call-${callId}`, "the moderation provider is told which channel to watch");
      } finally {
        await leaveAll(ra, rb);
      }
    });
  });
});
