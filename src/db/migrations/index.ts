import { CreateUsers1763884800000 } from "./1763884800000-CreateUsers";
import { CreateAuth1795424345811 } from "./1795424345811-CreateAuth";
import { CreateWalletAndPayments1795425321312 } from "./1795425321312-CreateWalletAndPayments";
import { CreatePlayAndAssets1795426285055 } from "./1795426285055-CreatePlayAndAssets";
import { CreateVideoChat1795431297673 } from "./1795431297673-CreateVideoChat";
import { CreateStreamChat1795432670981 } from "./1795432670981-CreateStreamChat";
import { PaymentRetries1795440000000 } from "./1795440000000-PaymentRetries";
import { AddProcessOwnership1795500000000 } from "./1795500000000-AddProcessOwnership";
import { CreateLeaderboards1795600000000 } from "./1795600000000-CreateLeaderboards";
import { LeaderboardWrites1795700000000 } from "./1795700000000-LeaderboardWrites";
import { CreateWhackRounds1795710000000 } from "./1795710000000-CreateWhackRounds";
import { CreateDomainEvents1795800000000 } from "./1795800000000-CreateDomainEvents";
import { CreateAnalyticsOutbox1795810000000 } from "./1795810000000-CreateAnalyticsOutbox";
import { CreateBadges1795820000000 } from "./1795820000000-CreateBadges";
import { CreateDailyChallenges1795830000000 } from "./1795830000000-CreateDailyChallenges";
import { CreateTranslations1795850000000 } from "./1795850000000-CreateTranslations";
import { CreateStarknet1795860000000 } from "./1795860000000-CreateStarknet";

/** Every migration, oldest first. The same list runs on PGlite and PostgreSQL. */
export const migrations = [
  CreateUsers1763884800000,
  CreateAuth1795424345811,
  CreateWalletAndPayments1795425321312,
  CreatePlayAndAssets1795426285055,
  CreateVideoChat1795431297673,
  CreateStreamChat1795432670981,
  PaymentRetries1795440000000,
  AddProcessOwnership1795500000000,
  CreateLeaderboards1795600000000,
  LeaderboardWrites1795700000000,
  CreateWhackRounds1795710000000,
  CreateDomainEvents1795800000000,
  CreateAnalyticsOutbox1795810000000,
  CreateBadges1795820000000,
  CreateDailyChallenges1795830000000,
  CreateTranslations1795850000000,
  CreateStarknet1795860000000,
];
