import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { AuthService } from "./auth";
import type { DomainLog } from "./domain-log";
import { AppError } from "./errors";
import { enqueueMints, registerStarknetMints } from "./starknet-mint-outbox";
import { StarknetMinter } from "./starknet-minter";
import { StarknetRpc } from "./starknet-rpc";
import { StarknetSignIn } from "./starknet-signin";

/**
 * The optional StarkNet provider: wallet sign-in with STARKNET_RPC_URL, badge minting with the
 * server account and badge contract as well. Without them, `signIn()` answers 503.
 */
export class StarknetService {
  constructor(
    private readonly signInService?: StarknetSignIn,
    readonly minter?: StarknetMinter,
  ) {}

  /** The sign-in service, or 503 STARKNET_NOT_CONFIGURED. */
  signIn(): StarknetSignIn {
    if (!this.signInService) {
      throw new AppError(503, "STARKNET_NOT_CONFIGURED", "StarkNet wallet sign-in is not configured on this server");
    }
    return this.signInService;
  }

  start(): void {
    this.minter?.start();
  }

  async stop(): Promise<void> {
    await this.minter?.stop();
  }
}

export function createStarknet(
  config: Config,
  deps: { dataSource: DataSource; auth: AuthService; domainLog: DomainLog; logger: Logger },
): StarknetService {
  if (!config.STARKNET_RPC_URL) return new StarknetService();
  const rpc = new StarknetRpc(config.STARKNET_RPC_URL, config.STARKNET_RPC_TIMEOUT_MS);
  const account =
    config.STARKNET_ACCOUNT_ADDRESS && config.STARKNET_PRIVATE_KEY && config.STARKNET_BADGE_CONTRACT
      ? {
          address: config.STARKNET_ACCOUNT_ADDRESS.toLowerCase(),
          privateKey: config.STARKNET_PRIVATE_KEY,
          badgeContract: config.STARKNET_BADGE_CONTRACT.toLowerCase(),
        }
      : undefined;
  // Registered while the services are wired, before the dispatcher starts (see DomainLog).
  if (account) registerStarknetMints(deps.domainLog);
  const signIn = new StarknetSignIn(deps.dataSource, rpc, deps.auth, {
    domainName: config.STARKNET_DOMAIN_NAME,
    domainVersion: config.STARKNET_DOMAIN_VERSION,
    challengeTtlSec: config.STARKNET_CHALLENGE_TTL_SEC,
    // A wallet linked after badges were earned: those awards are minted too.
    onLinked: account ? (m, userId) => enqueueMints(m, userId).then(() => undefined) : undefined,
  });
  const minter =
    account &&
    new StarknetMinter(deps.dataSource, rpc, account, {
      pollMs: config.STARKNET_POLL_MS,
      retryBaseMs: config.STARKNET_RETRY_BASE_MS,
      rpcTimeoutMs: config.STARKNET_RPC_TIMEOUT_MS,
      logger: deps.logger,
    });
  return new StarknetService(signIn, minter);
}
