import { RtcRole, RtcTokenBuilder, RtmTokenBuilder } from "agora-token";

/** What `session:start` carries for a call on Agora: everything the peer's Agora SDKs need to join. */
export interface AgoraCallCredentials {
  appId: string;
  /** The call's Agora channel: the same for both peers, and named in the moderation announcement. */
  channel: string;
  /** The peer's Agora RTC uid: 1 for the call's user A (the offerer), 2 for user B. */
  uid: number;
  /** RTC token, role publisher, for this channel and uid. */
  rtcToken: string;
  /** RTM token for the peer's user id (RTM identifies users by string). */
  rtmToken: string;
  /** Epoch ms after which both tokens stop working (call length + choice window from issue). */
  expiresAt: number;
}

/**
 * Short-lived Agora tokens for a call, built with Agora's own `agora-token`
 * package (AccessToken2, "007" tokens). Optional: without an app id and
 * certificate calls keep our own WebRTC signaling alone, and with them they
 * keep it too (the relay is the fallback a client may use).
 *
 * The uid is the peer's seat, not something derived from the user id: Agora
 * needs a uint32 unique within the channel, and two seats can never collide,
 * while the channel (the call id) maps each uid back to a user through the call.
 */
export class AgoraTokens {
  constructor(
    private readonly appId: string,
    private readonly certificate: string,
    /** Token lifetime: the talk plus the choice window. */
    private readonly lifetimeSec: number,
  ) {}

  static channelFor(callId: string): string {
    return `call-${callId}`;
  }

  forCall(callId: string, userId: string, seat: "a" | "b"): AgoraCallCredentials {
    const issuedAt = Date.now();
    const channel = AgoraTokens.channelFor(callId);
    const uid = seat === "a" ? 1 : 2;
    // Both expiries are relative to the token's issue time, which the builder takes from the clock.
    const rtcToken = RtcTokenBuilder.buildTokenWithUid(
      this.appId,
      this.certificate,
      channel,
      uid,
      RtcRole.PUBLISHER,
      this.lifetimeSec,
      this.lifetimeSec,
    );
    const rtmToken = RtmTokenBuilder.buildToken(this.appId, this.certificate, userId, this.lifetimeSec);
    if (!rtcToken || !rtmToken) throw new Error("agora-token refused the app id or certificate");
    return { appId: this.appId, channel, uid, rtcToken, rtmToken, expiresAt: issuedAt + this.lifetimeSec * 1000 };
  }
}
