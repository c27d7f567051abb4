/**
 * A minimal StarkNet JSON-RPC 2.0 client (spec 0.8+ method names and shapes). Our own and not
 * starknet.js' RpcProvider: every method we use is listed in one place (README), each request has
 * a hard timeout, and the signed transaction we record is byte for byte the one we send (and
 * resend). starknet.js does the cryptography (typed data, transaction hashes, signatures).
 */

/** The node answered with a JSON-RPC error: it understood the request and refused it. */
export class StarknetRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`StarkNet RPC error ${code}: ${message}`);
    this.name = "StarknetRpcError";
  }
}

/** The node could not be reached, timed out, or answered something that is not JSON-RPC. */
export class StarknetUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StarknetUnavailableError";
  }
}

/** Error codes of the StarkNet JSON-RPC spec that we act on. */
export const RPC_ERRORS = {
  TXN_HASH_NOT_FOUND: 29,
  CONTRACT_NOT_FOUND: 20,
  ENTRYPOINT_NOT_FOUND: 21,
  CONTRACT_ERROR: 40,
  TRANSACTION_EXECUTION_ERROR: 41,
  INVALID_TRANSACTION_NONCE: 52,
  INSUFFICIENT_RESOURCES_FOR_VALIDATE: 53,
  INSUFFICIENT_ACCOUNT_BALANCE: 54,
  VALIDATION_FAILURE: 55,
  DUPLICATE_TX: 59,
  UNEXPECTED_ERROR: 63,
} as const;

export type Felt = string;

export interface ResourceBounds {
  l1_gas: { max_amount: Felt; max_price_per_unit: Felt };
  l2_gas: { max_amount: Felt; max_price_per_unit: Felt };
  l1_data_gas: { max_amount: Felt; max_price_per_unit: Felt };
}

/** BROADCASTED_INVOKE_TXN, version 3: what `starknet_addInvokeTransaction` takes. */
export interface InvokeTxnV3 {
  type: "INVOKE";
  version: "0x3";
  sender_address: Felt;
  calldata: Felt[];
  signature: Felt[];
  nonce: Felt;
  resource_bounds: ResourceBounds;
  tip: Felt;
  paymaster_data: Felt[];
  account_deployment_data: Felt[];
  nonce_data_availability_mode: "L1";
  fee_data_availability_mode: "L1";
}

export interface FeeEstimate {
  l1_gas_consumed: Felt;
  l1_gas_price: Felt;
  l2_gas_consumed: Felt;
  l2_gas_price: Felt;
  l1_data_gas_consumed: Felt;
  l1_data_gas_price: Felt;
  overall_fee: Felt;
}

export interface TxStatus {
  finality_status: "RECEIVED" | "CANDIDATE" | "PRE_CONFIRMED" | "ACCEPTED_ON_L2" | "ACCEPTED_ON_L1" | "REJECTED";
  execution_status?: "SUCCEEDED" | "REVERTED";
  failure_reason?: string;
}

export class StarknetRpc {
  private nextId = 1;
  private chainId: Promise<Felt> | undefined;

  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** One request; JSON-RPC errors throw StarknetRpcError, everything else StarknetUnavailableError. */
  async request<T>(method: string, params: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new StarknetUnavailableError(`StarkNet node did not answer ${method}`, { cause: err });
    }
    let body: { result?: T; error?: { code: number; message: string; data?: unknown } };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new StarknetUnavailableError(`StarkNet node answered ${method} with HTTP ${res.status}`, { cause: err });
    }
    if (body.error) {
      // A node's own trouble (internal error, overload) is transient, not a refusal.
      if (body.error.code === -32603 || body.error.code === RPC_ERRORS.UNEXPECTED_ERROR) {
        throw new StarknetUnavailableError(`StarkNet node failed ${method}: ${body.error.message}`);
      }
      throw new StarknetRpcError(body.error.code, body.error.message, body.error.data);
    }
    if (!("result" in body)) throw new StarknetUnavailableError(`StarkNet node answered ${method} without a result`);
    return body.result as T;
  }

  /** `starknet_chainId`, asked once per process (a failed ask is asked again). */
  getChainId(): Promise<Felt> {
    this.chainId ??= this.request<Felt>("starknet_chainId", []).catch((err) => {
      this.chainId = undefined;
      throw err;
    });
    return this.chainId;
  }

  call(contractAddress: Felt, entryPointSelector: Felt, calldata: Felt[]): Promise<Felt[]> {
    return this.request("starknet_call", {
      request: { contract_address: contractAddress, entry_point_selector: entryPointSelector, calldata },
      block_id: "latest",
    });
  }

  getNonce(contractAddress: Felt): Promise<Felt> {
    return this.request("starknet_getNonce", { block_id: "latest", contract_address: contractAddress });
  }

  async estimateFee(tx: InvokeTxnV3): Promise<FeeEstimate> {
    const [estimate] = await this.request<FeeEstimate[]>("starknet_estimateFee", {
      request: [tx],
      simulation_flags: ["SKIP_VALIDATE"],
      block_id: "latest",
    });
    return estimate;
  }

  addInvokeTransaction(tx: InvokeTxnV3): Promise<{ transaction_hash: Felt }> {
    return this.request("starknet_addInvokeTransaction", { invoke_transaction: tx });
  }

  getTransactionStatus(txHash: Felt): Promise<TxStatus> {
    return this.request("starknet_getTransactionStatus", { transaction_hash: txHash });
  }
}
