import { CreateUsers1763884800000 } from "./1763884800000-CreateUsers";

/** Every migration, oldest first. The same list runs on PGlite and PostgreSQL. */
export const migrations = [CreateUsers1763884800000];
