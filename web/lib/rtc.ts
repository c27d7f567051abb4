export type SignalType = "offer" | "answer" | "candidate";
export type Role = "offerer" | "answerer";

export interface CallPeerOptions {
  role: Role;
  iceServers: RTCIceServer[];
  /** "relay": TURN only (the call then never uses a direct path). */
  iceTransportPolicy: RTCIceTransportPolicy;
  local: MediaStream;
  send: (type: SignalType, payload: unknown) => void;
  onRemoteStream: (stream: MediaStream) => void;
  onError: (err: unknown) => void;
}

/**
 * One side of a 1:1 call with perfect negotiation: the answerer is polite (on
 * glare it rolls its own offer back and takes the peer's), the offerer is
 * impolite (it ignores a colliding offer). Either side may renegotiate at any
 * time (tracks added, ICE restart) without wedging the call. The offerer sends
 * its tracks at once, so it makes the first offer; the answerer attaches its
 * tracks to that offer's transceivers in its answer.
 */
export class CallPeer {
  readonly pc: RTCPeerConnection;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private tracksAdded = false;
  /** Signals are handled one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: CallPeerOptions) {
    this.pc = new RTCPeerConnection({
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy,
    });
    this.pc.onnegotiationneeded = () => void this.offer();
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate) options.send("candidate", { candidate: candidate.toJSON() });
    };
    this.pc.ontrack = ({ streams, track }) => options.onRemoteStream(streams[0] ?? new MediaStream([track]));
    if (options.role === "offerer") this.addTracks();
  }

  private get polite() {
    return this.options.role === "answerer";
  }

  private addTracks() {
    if (this.tracksAdded) return;
    this.tracksAdded = true;
    for (const track of this.options.local.getTracks()) this.pc.addTrack(track, this.options.local);
  }

  private async offer() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.options.send("offer", { sdp: this.pc.localDescription!.sdp });
    } catch (err) {
      this.options.onError(err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** A signal relayed from the peer. */
  receive(type: SignalType, payload: any) {
    this.queue = this.queue.then(() => this.handle(type, payload)).catch((err) => this.options.onError(err));
  }

  private async handle(type: SignalType, payload: any) {
    if (type === "candidate") {
      try {
        await this.pc.addIceCandidate(payload.candidate);
      } catch (err) {
        // A candidate of an offer we ignored cannot be added; that is expected.
        if (!this.ignoreOffer) throw err;
      }
      return;
    }
    const readyForOffer = !this.makingOffer && (this.pc.signalingState === "stable" || this.settingRemoteAnswer);
    const collision = type === "offer" && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    this.settingRemoteAnswer = type === "answer";
    // On glare the polite side's setRemoteDescription rolls its own offer back implicitly.
    await this.pc.setRemoteDescription({ type, sdp: payload.sdp });
    this.settingRemoteAnswer = false;
    if (type === "offer") {
      this.addTracks();
      await this.pc.setLocalDescription();
      this.options.send("answer", { sdp: this.pc.localDescription!.sdp });
    }
  }

  /** Decoded inbound video frames so far (getStats), for the call's status line. */
  async framesDecoded(): Promise<number> {
    let frames = 0;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded ?? 0;
    });
    return frames;
  }

  /** Whether the selected candidate pair goes through a TURN relay. */
  async relayed(): Promise<boolean> {
    const stats = await this.pc.getStats();
    let relayed = false;
    stats.forEach((s) => {
      if (s.type !== "candidate-pair" || !s.nominated || s.state !== "succeeded") return;
      const local = stats.get(s.localCandidateId);
      if (local?.candidateType === "relay") relayed = true;
    });
    return relayed;
  }

  /**
   * A fresh ICE negotiation (after a network change, or when the picture
   * froze): either side may start one at any time, both at once included.
   */
  restart() {
    this.pc.restartIce();
  }

  close() {
    this.pc.close();
  }
}
