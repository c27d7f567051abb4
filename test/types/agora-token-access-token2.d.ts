/** The parts of agora-token's token parser the tests use (the package types only its builders). */
declare module "agora-token/src/AccessToken2" {
  /** Parsed strings come back as Buffers. */
  interface ParsedService {
    __channel_name?: Buffer;
    __uid?: Buffer;
    __user_id?: Buffer;
    __privileges: Record<number, number>;
  }
  export class AccessToken2 {
    constructor(appId: string, appCertificate: string, issueTs: number, expire: number);
    appId: Buffer | string;
    expire: number;
    from_string(token: string): boolean;
    verifySignature(appCertificate: string): boolean;
    getServices(serviceType: number): ParsedService[];
  }
  export const kRtcServiceType: number;
  export const kRtmServiceType: number;
  export const ServiceRtc: {
    kPrivilegeJoinChannel: number;
    kPrivilegePublishAudioStream: number;
    kPrivilegePublishVideoStream: number;
    kPrivilegePublishDataStream: number;
  };
  export const ServiceRtm: { kPrivilegeLogin: number };
}
