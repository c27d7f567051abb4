import { z } from "zod";
import type { Config } from "../../config";
import type { Services } from "../../services";
import { MAX_SIGNATURE_FELTS } from "../../services/starknet-signin";
import type { Api } from "../api";
import { optionalAuth } from "../auth-middleware";
import { setSessionCookies } from "../cookies";
import { SessionSchema } from "../schemas";

const Felt = z.string().regex(/^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/, "a felt: 0x and hex digits, or decimal");
const Address = z.string().max(66).openapi({ description: "The wallet's account contract address (0x…)" });
const tags = ["auth"];
const notConfigured = { description: "STARKNET_NOT_CONFIGURED (no STARKNET_RPC_URL), or STARKNET_UNAVAILABLE" };

/** POST /api/auth/starknet/*: wallet sign-in with a SNIP-12 signed challenge. */
export function registerStarknetRoutes(api: Api, services: Services, config: Config) {
  const { starknet, auth } = services;

  api.route({
    method: "post",
    path: "/api/auth/starknet/challenge",
    summary: "A single-use SNIP-12 (revision 1) message for the wallet to sign (valid 5 minutes)",
    tags,
    security: [],
    body: z.object({ address: Address }),
    responses: {
      200: {
        description: "The typed data to sign, its nonce and expiry",
        schema: z.object({
          typedData: z.record(z.string(), z.unknown()).openapi({
            description: "SNIP-12 revision 1: domain {name, version, chainId, revision: '1'}, primaryType SignIn",
          }),
          nonce: z.string(),
          expiresAt: z.iso.datetime(),
        }),
      },
      400: { description: "INVALID_STARKNET_ADDRESS" },
      503: notConfigured,
    },
    handler: async (req, res) => res.json(await starknet.signIn().challenge(req.valid.body.address)),
  });

  api.route({
    method: "post",
    path: "/api/auth/starknet/verify",
    summary:
      "Check the wallet's signature of its challenge (through the account contract) and sign in; with a bearer, link the wallet to that account",
    tags,
    security: [],
    before: [optionalAuth(auth)],
    body: z.object({
      address: Address,
      signature: z.array(Felt).min(1).max(MAX_SIGNATURE_FELTS),
      nonce: Felt.optional().openapi({ description: "Which open challenge was signed (default: the newest)" }),
    }),
    responses: {
      200: { description: "Signed in (the login body); refresh cookie set", schema: SessionSchema },
      401: {
        description: "STARKNET_SIGNIN_REFUSED: unknown, spent or expired challenge, or a signature the account refuses",
      },
      409: {
        description:
          "WALLET_ALREADY_LINKED (to another account) or ACCOUNT_HAS_WALLET (the bearer's account has another)",
      },
      503: notConfigured,
    },
    handler: async (req, res) => {
      const bundle = await starknet.signIn().verify(req.valid.body, req.principal?.userId);
      setSessionCookies(res, bundle, config.isProduction);
      res.json(bundle);
    },
  });
}
